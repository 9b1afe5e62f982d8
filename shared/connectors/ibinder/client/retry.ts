/**
 * Retry policy of the iBinder client: exponential backoff with full jitter, `Retry-After`
 * honoured, bounded by attempts and by total time.
 *
 * Why full jitter: many Lambda instances hit the same tenant's rate limit at the same moment;
 * spreading their retries uniformly over the backoff window keeps them from retrying in step.
 * Why a time budget as well as an attempt count: a Lambda invocation has a deadline, and a
 * long `Retry-After` must not silently eat it; when the next wait would overrun the budget the
 * last error is thrown, so SQS redelivers the message later instead.
 * Why the current deadline as well (deadline.ts): the budget is per call, the deadline is the
 * invocation's. A retry whose wait would end after it is never scheduled, and an exchange cut
 * off by it is not retried: the last error is thrown while there is still time to hand the
 * record back to SQS as a batch item failure, instead of the function timeout killing the batch.
 * Why `Retry-After` is never shortened: a server that names a wait means it, and retrying
 * earlier only earns another 429. Inside an invocation a `Retry-After` that ends before the
 * deadline is waited in full (whatever the per-call budget); a longer one is not waited at
 * all, and the thrown error keeps it (`retryAfterMs`, see `retryAfterMsOf`) so that the
 * message is handed back to SQS with its visibility set to that wait.
 */
import { logger } from '../../../observability/logger.js';
import { currentDeadline, DeadlineExceededError } from './deadline.js';
import { IBinderApiError, IBinderError, type RequestDescription } from './errors.js';

export interface RetryPolicy {
  /** Attempts of one call, the first included. */
  maxAttempts: number;
  /** Upper bound of the elapsed time of one call, waits included (ms). */
  maxRetryTimeMs: number;
  /** First backoff window (ms); doubles on every retry. */
  baseDelayMs: number;
  /** Cap of one backoff wait (ms). A server's `Retry-After` is never cut short by it. */
  maxDelayMs: number;
  /**
   * Least wait after a 429 that carries no `Retry-After` (ms): the vendor asks clients to
   * "wait at least a few seconds" when rate limited.
   */
  rateLimitFloorMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1); injected so tests can pin the jitter. */
  random: () => number;
}

export const DEFAULT_MAX_DELAY_MS = 20_000;
export const DEFAULT_RATE_LIMIT_FLOOR_MS = 2_000;

/**
 * Reads `Retry-After` as delta-seconds or as an HTTP-date (RFC 9110 §10.2.3).
 * Returns milliseconds from `nowMs`, never negative; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Full jitter: uniform in [0, min(cap, base * 2^(retryNumber-1))). retryNumber starts at 1. */
export function backoffDelayMs(retryNumber: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return Math.floor(policy.random() * window);
}

/** Transient errors (429, 5xx, 408, timeouts, network) are retried; permanent and auth errors are not. */
export function isRetryable(err: unknown): err is IBinderError {
  return err instanceof IBinderError && err.kind === 'transient';
}

/**
 * The `Retry-After` (ms) carried by `err` or by an error in its `cause` chain (a step may wrap
 * the iBinder error), or undefined. The ingest puts it on the SQS message's visibility.
 */
export function retryAfterMsOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth += 1) {
    if (e instanceof IBinderApiError && e.retryAfterMs !== undefined) return e.retryAfterMs;
  }
  return undefined;
}

/** How long to wait before retry number `retryNumber` after `err`. A `Retry-After` is returned in full. */
export function delayBeforeRetry(err: IBinderError, retryNumber: number, policy: RetryPolicy): number {
  if (err instanceof IBinderApiError && err.retryAfterMs !== undefined) {
    return err.retryAfterMs;
  }
  const backoff = backoffDelayMs(retryNumber, policy);
  if (err instanceof IBinderApiError && err.status === 429) {
    return Math.min(policy.rateLimitFloorMs + backoff, policy.maxDelayMs);
  }
  return backoff;
}

/**
 * Runs `operation` until it succeeds, fails with a non-retryable error, runs out of attempts,
 * or the next wait would overrun the time budget or end after the current deadline; then
 * throws the last error unchanged, so the caller still sees the status, traceId and kind of
 * what iBinder answered. Each attempt's exchange is itself cut off at the deadline (http.ts).
 */
export async function withRetries<T>(
  request: RequestDescription,
  policy: RetryPolicy,
  operation: (attempt: number) => Promise<T>,
  retryable: (err: unknown) => err is IBinderError = isRetryable,
): Promise<T> {
  const startedAt = policy.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (err) {
      if (!retryable(err) || err instanceof DeadlineExceededError) throw err;
      const status = err instanceof IBinderApiError ? err.status : undefined;
      const traceId = err instanceof IBinderApiError ? err.traceId : undefined;
      if (attempt >= policy.maxAttempts) {
        logger.debug('iBinder call gave up: attempts exhausted', {
          method: request.method,
          path: request.path,
          attempt,
          maxAttempts: policy.maxAttempts,
          status,
          traceId,
        });
        throw err;
      }
      const waitMs = delayBeforeRetry(err, attempt, policy);
      const elapsedMs = policy.now() - startedAt;
      const deadline = currentDeadline();
      // A server-named wait that fits the invocation is waited in full, whatever the budget.
      const serverNamedWait = err instanceof IBinderApiError && err.retryAfterMs !== undefined;
      const budgetApplies = !(serverNamedWait && deadline !== undefined);
      if (budgetApplies && elapsedMs + waitMs > policy.maxRetryTimeMs) {
        logger.debug('iBinder call gave up: retry time budget spent', {
          method: request.method,
          path: request.path,
          attempt,
          elapsedMs,
          waitMs,
          maxRetryTimeMs: policy.maxRetryTimeMs,
          status,
          traceId,
        });
        throw err;
      }
      if (deadline !== undefined && policy.now() + waitMs >= deadline) {
        logger.debug("iBinder call gave up: the next wait would end after the invocation's deadline", {
          method: request.method,
          path: request.path,
          attempt,
          waitMs,
          msToDeadline: deadline - policy.now(),
          status,
          traceId,
        });
        throw err;
      }
      const details = {
        method: request.method,
        path: request.path,
        attempt,
        maxAttempts: policy.maxAttempts,
        waitMs,
        status,
        traceId,
        reason: err.name,
        // The token request fails inside an API call's attempt: say which exchange failed.
        ...(err.request.path !== request.path ? { failedRequest: `${err.request.method} ${err.request.path}` } : {}),
      };
      // A 429 or 5xx says something about iBinder's health or our concurrency: worth a warning.
      if (status !== undefined && (status === 429 || status >= 500)) {
        logger.warn('iBinder call failed transiently; retrying', details);
      } else {
        logger.debug('iBinder call failed transiently; retrying', details);
      }
      await policy.sleep(waitMs);
    }
  }
}
