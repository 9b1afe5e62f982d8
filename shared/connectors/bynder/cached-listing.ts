/**
 * One portal-wide listing (brands, metaproperties) cached per process with a TTL. Every record
 * of a batch (and of the next batches on a warm Lambda) needs them; reading them once per TTL
 * keeps the connector far inside Bynder's 4,500 requests per five minutes, while a change made
 * in the portal is still picked up within minutes, and at once by `refresh` (used before a
 * rejection is believed, because a rejection is final).
 *
 * Concurrent callers share one read; a failed read is not cached (the next caller tries again).
 */
export const DEFAULT_BYNDER_CACHE_TTL_MS = 5 * 60 * 1000;

export class CachedListing<V> {
  private entry: { value: V; loadedAt: number } | undefined;
  private inFlight: Promise<V> | undefined;

  constructor(
    private readonly load: () => Promise<V>,
    private readonly ttlMs: number = DEFAULT_BYNDER_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value while it is younger than the TTL, else a fresh read. */
  async get(): Promise<V> {
    if (this.entry && this.now() - this.entry.loadedAt < this.ttlMs) return this.entry.value;
    return this.read();
  }

  /** A read from Bynder, whatever the cache holds (the result is cached again). */
  async refresh(): Promise<V> {
    return this.read();
  }

  private read(): Promise<V> {
    if (!this.inFlight) {
      this.inFlight = this.load().then(
        (value) => {
          this.entry = { value, loadedAt: this.now() };
          this.inFlight = undefined;
          return value;
        },
        (err: unknown) => {
          this.inFlight = undefined;
          throw err;
        },
      );
    }
    return this.inFlight;
  }
}
