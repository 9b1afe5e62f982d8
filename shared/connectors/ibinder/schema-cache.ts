/**
 * Per-binder caches for a warm Lambda. Every record of a batch (and of the next batches) needs
 * its binder's metadata schema; asking iBinder once per binder and TTL keeps the pipeline
 * within iBinder's rate limits while still picking up schema changes within minutes.
 */
import type { MetadataElement } from './client/schemas.js';
import type { IBinderClient } from './client/types.js';

export const DEFAULT_BINDER_CACHE_TTL_MS = 5 * 60 * 1000;

/**
 * A small TTL cache with in-flight de-duplication: concurrent callers for one key share one
 * load, and a failed load is not cached (the next caller tries again).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; loadedAt: number }>();
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value, or the loader's; `fresh` skips the cache (the result is cached again). */
  async get(key: string, load: () => Promise<V>, options: { fresh?: boolean } = {}): Promise<{ value: V; cached: boolean }> {
    const hit = this.entries.get(key);
    if (!options.fresh && hit && this.now() - hit.loadedAt < this.ttlMs) return { value: hit.value, cached: true };

    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = load().then(
        (value) => {
          this.entries.set(key, { value, loadedAt: this.now() });
          this.inFlight.delete(key);
          return value;
        },
        (err: unknown) => {
          this.inFlight.delete(key);
          throw err;
        },
      );
      this.inFlight.set(key, pending);
    }
    return { value: await pending, cached: false };
  }

  clear(): void {
    this.entries.clear();
  }
}

export interface MetadataSchemaCacheOptions {
  ttlMs?: number;
  now?: () => number;
}

/** A binder's metadata elements (`GET /binders/{id}/metadataelements`), cached per binder. */
export class MetadataSchemaCache {
  private readonly cache: TtlCache<MetadataElement[]>;

  constructor(
    private readonly client: Pick<IBinderClient, 'getMetadataElements'>,
    options: MetadataSchemaCacheOptions = {},
  ) {
    this.cache = new TtlCache(options.ttlMs ?? DEFAULT_BINDER_CACHE_TTL_MS, options.now);
  }

  async get(binderId: string): Promise<MetadataElement[]> {
    const { value } = await this.cache.get(binderId, () => this.client.getMetadataElements(binderId));
    return value;
  }

  /**
   * Reads the schema again, bypassing the cache. Used before rejecting a file for a metadata
   * problem that a schema change made minutes ago could explain.
   */
  async refresh(binderId: string): Promise<MetadataElement[]> {
    const { value } = await this.cache.get(binderId, () => this.client.getMetadataElements(binderId), { fresh: true });
    return value;
  }
}
