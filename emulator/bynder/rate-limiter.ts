/**
 * Bynder's documented rate limit: "4500 requests in any five-minute time frame from a single IP
 * address ... exceeding requests will be blocked ... If five minutes pass with no requests coming
 * from your IP address we will lift the block". So: a sliding window per client address, and
 * once over it a block that only a quiet period ends; every request during the block answers
 * 429 (without Retry-After, as documented) and restarts the quiet period. The clock is
 * injected, so tests cover a five-minute block without waiting for it.
 */

export interface RateLimitSettings {
  limit: number;
  windowSeconds: number;
  quietSeconds: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitSettings = { limit: 4500, windowSeconds: 300, quietSeconds: 300 };

interface ClientWindow {
  /** Arrival times within the window, oldest first. */
  arrivals: number[];
  /** Index of the oldest arrival still in the window (advanced instead of shifting the array). */
  head: number;
  blockedUntil: number | undefined;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** When the block would end if no further request arrives (blocked answers only). */
  blockedUntil?: number;
}

export class RateLimiter {
  private readonly clients = new Map<string, ClientWindow>();
  private settings: RateLimitSettings;
  private rejected = 0;

  constructor(
    private readonly now: () => number,
    settings: Partial<RateLimitSettings> = {},
  ) {
    this.settings = { ...DEFAULT_RATE_LIMIT, ...definedOnly(settings) };
  }

  /** Changes the limit at run time (the control API uses it); existing windows are kept. */
  configure(settings: Partial<RateLimitSettings>): RateLimitSettings {
    this.settings = { ...this.settings, ...definedOnly(settings) };
    return { ...this.settings };
  }

  current(): RateLimitSettings {
    return { ...this.settings };
  }

  /** Counts one request from `client` and decides whether it may proceed. */
  admit(client: string): RateLimitDecision {
    const now = this.now();
    const entry = this.entry(client);
    if (entry.blockedUntil !== undefined) {
      if (now < entry.blockedUntil) {
        entry.blockedUntil = now + this.settings.quietSeconds * 1000;
        this.rejected++;
        return { allowed: false, blockedUntil: entry.blockedUntil };
      }
      // The quiet period passed: the block is lifted and the window starts afresh.
      entry.blockedUntil = undefined;
      entry.arrivals = [];
      entry.head = 0;
    }
    const windowStart = now - this.settings.windowSeconds * 1000;
    while (entry.head < entry.arrivals.length && (entry.arrivals[entry.head] as number) <= windowStart) entry.head++;
    if (entry.head > 1024 && entry.head * 2 > entry.arrivals.length) {
      entry.arrivals = entry.arrivals.slice(entry.head);
      entry.head = 0;
    }
    if (entry.arrivals.length - entry.head >= this.settings.limit) {
      entry.blockedUntil = now + this.settings.quietSeconds * 1000;
      this.rejected++;
      return { allowed: false, blockedUntil: entry.blockedUntil };
    }
    entry.arrivals.push(now);
    return { allowed: true };
  }

  /** Blocks every known client (and `client`) now, as if each had gone over the limit. */
  blockNow(client = '127.0.0.1'): void {
    const until = this.now() + this.settings.quietSeconds * 1000;
    this.entry(client);
    for (const entry of this.clients.values()) entry.blockedUntil = until;
  }

  isBlocked(client = '127.0.0.1'): boolean {
    const until = this.clients.get(client)?.blockedUntil;
    return until !== undefined && this.now() < until;
  }

  /** Requests answered 429 so far. */
  get rejectedCount(): number {
    return this.rejected;
  }

  reset(): void {
    this.clients.clear();
    this.rejected = 0;
  }

  private entry(client: string): ClientWindow {
    let entry = this.clients.get(client);
    if (!entry) {
      entry = { arrivals: [], head: 0, blockedUntil: undefined };
      this.clients.set(client, entry);
    }
    return entry;
  }
}

/** `{ limit: undefined }` keeps the current limit instead of erasing it. */
function definedOnly(settings: Partial<RateLimitSettings>): Partial<RateLimitSettings> {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

/** The client key: the peer address, IPv4-mapped IPv6 folded to IPv4 so loopback is one client. */
export function clientAddress(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
