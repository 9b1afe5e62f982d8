/**
 * The client-side request budget for one Bynder portal, shared by every client of the process.
 *
 * Why: Bynder allows 4,500 requests per five minutes per egress IP and answers past that with a
 * 429 and a block that lasts until five quiet minutes have passed; every request during the
 * block extends it. There is no `Retry-After`. So the client paces itself (a token bucket of
 * `requestsPerSecond`, burst of the same size), and after a 429 it sends nothing to that portal
 * for `throttlePauseSeconds`: every call in that window fails at once with a
 * `BynderThrottledError` without touching the network, so the block can lapse.
 *
 * Why process-wide (keyed by portal URL): a warm Lambda creates clients per invocation, and the
 * budget and the block belong to the portal and the IP, not to one client object.
 */
import { BynderThrottledError, type BynderRequestDescription } from './errors.js';

export interface RateBudgetOptions {
  /** Sustained requests per second; also the burst size. */
  requestsPerSecond: number;
  /** How long every call fails fast after a 429 (ms). */
  throttlePauseMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface ThrottleEvent {
  method: string;
  path: string;
  /** True when no request was sent (the process is waiting out a block). */
  failedFast: boolean;
  /** How long calls keep failing fast from now (ms). */
  pauseMs: number;
}

/**
 * A token bucket in its virtual-scheduling form (GCRA): every acquisition reserves the next
 * free slot synchronously, so concurrent callers get successive slots without a queue.
 */
export class RateBudget {
  private readonly intervalMs: number;
  private readonly burstToleranceMs: number;
  /** Theoretical arrival time of the next request (epoch ms). */
  private nextSlotAt = Number.NEGATIVE_INFINITY;
  private blockedUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RateBudgetOptions) {
    if (!(options.requestsPerSecond > 0)) throw new RangeError(`requestsPerSecond must be positive, got ${options.requestsPerSecond}`);
    this.intervalMs = 1000 / options.requestsPerSecond;
    const burst = Math.max(1, Math.floor(options.requestsPerSecond));
    this.burstToleranceMs = (burst - 1) * this.intervalMs;
  }

  /** The instant (epoch ms) until which calls fail fast, or undefined when not blocked. */
  blockedUntilMs(): number | undefined {
    return this.options.now() < this.blockedUntil ? this.blockedUntil : undefined;
  }

  /**
   * Waits for a slot for `request`. Throws `BynderThrottledError` (without any network call)
   * while the portal is blocked, including when a block began while this caller waited.
   */
  async acquire(request: BynderRequestDescription): Promise<void> {
    this.throwIfBlocked(request);
    const now = this.options.now();
    const slot = Math.max(this.nextSlotAt, now);
    const allowedAt = slot - this.burstToleranceMs;
    this.nextSlotAt = slot + this.intervalMs;
    if (allowedAt > now) {
      await this.options.sleep(allowedAt - now);
      this.throwIfBlocked(request);
    }
  }

  /** A 429 arrived: nothing goes to the portal for the configured pause (from now). */
  block(): number {
    this.blockedUntil = Math.max(this.blockedUntil, this.options.now() + this.options.throttlePauseMs);
    return this.options.throttlePauseMs;
  }

  private throwIfBlocked(request: BynderRequestDescription): void {
    const now = this.options.now();
    if (now >= this.blockedUntil) return;
    const leftMs = Math.ceil(this.blockedUntil - now);
    throw new BynderThrottledError(
      `Bynder ${request.method} ${request.path} was not sent: the portal blocked this integration with a 429 and calls pause ` +
        `for another ${Math.ceil(leftMs / 1000)} s (any request would extend the block) — throttled; retry after the pause`,
      request,
      leftMs,
      true,
    );
  }
}

const processBudgets = new Map<string, RateBudget>();

/**
 * The budget of `portalUrl` for this process, created with `options` on first use. Later
 * callers share it (their options are ignored: one portal, one budget).
 */
export function processRateBudget(portalUrl: string, options: RateBudgetOptions): RateBudget {
  const key = new URL(portalUrl).origin;
  let budget = processBudgets.get(key);
  if (!budget) {
    budget = new RateBudget(options);
    processBudgets.set(key, budget);
  }
  return budget;
}
