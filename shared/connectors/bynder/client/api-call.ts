/**
 * One authenticated call to Bynder's API, with everything every call needs in one order:
 * a slot of the portal's rate budget (fails fast while a 429 block lasts), a bearer token,
 * the exchange, one retry with a fresh token after a 401, the portal blocked after a 429, and a
 * small bounded backoff for 5xx and network failures where a retry is safe.
 *
 * Why `retry: 'never'` exists: a save (`POST /api/v4/media/save/…`) is not idempotent and
 * Bynder has no idempotency keys; a lost answer retried blindly can create a duplicate asset.
 * Such a call is sent once (a 401 is the exception: a refused request created nothing), and
 * the caller decides. Failures of the token request happen before the call is sent and are
 * retried for every call.
 *
 * Storage (download locations, the legacy S3 endpoint) never comes through here: see
 * storage-request.ts. Nothing here can send the bearer token anywhere but the portal.
 */
import { deadlineError, waitFitsDeadline } from './deadline.js';
import { BynderError, BynderThrottledError, type BynderRequestDescription } from './errors.js';
import type { BynderTokenSource } from './auth.js';
import { errorFromResponse, exchangeText, type BynderRequestEvent, type TextResponse } from './http.js';
import type { RateBudget, ThrottleEvent } from './rate-budget.js';

export interface ApiCallRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path from the portal root, e.g. `/api/v4/media/`. */
  path: string;
  query?: URLSearchParams | undefined;
  /** Sent form-encoded. */
  form?: URLSearchParams | undefined;
  /** Sent as is (chunks); kept in memory so a retry re-sends the same bytes. */
  body?: Buffer | undefined;
  headers?: Record<string, string> | undefined;
  /** `transient`: 5xx/408/network retried with backoff. `never`: sent once (saves). */
  retry: 'transient' | 'never';
  /** Non-2xx statuses handed back instead of thrown (303 of a save, 404 of a lookup). */
  accept?: readonly number[] | undefined;
  timeoutMs?: number | undefined;
}

export interface RetrySettings {
  /** Attempts of one call, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface ApiCallerOptions {
  portalUrl: string;
  tokens: BynderTokenSource;
  budget: RateBudget;
  retry: RetrySettings;
  requestTimeoutMs: number;
  throttlePauseMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  onRequest?: ((event: BynderRequestEvent) => void) | undefined;
  onThrottled?: ((event: ThrottleEvent) => void) | undefined;
}

/** Marks a failure of the token step: the call itself was not sent, so a retry is always safe. */
class TokenStepFailure extends Error {
  constructor(readonly error: unknown) {
    super('token step failed');
  }
}

export class BynderApiCaller {
  private readonly origin: string;

  constructor(private readonly options: ApiCallerOptions) {
    this.origin = new URL(options.portalUrl).origin + new URL(options.portalUrl).pathname.replace(/\/+$/, '');
  }

  /** Attempts of a retryable call, the first included. */
  get maxAttempts(): number {
    return this.options.retry.maxAttempts;
  }

  /**
   * The injected sleep, for the callers' own bounded loops (finalise, storage parts, polls).
   * A wait that would end after the current deadline is not started: `lastError` (or a
   * deadline error naming `description`) is thrown instead.
   */
  async sleep(ms: number, description: BynderRequestDescription, lastError?: unknown): Promise<void> {
    if (!waitFitsDeadline(ms, this.options.now)) throw lastError ?? deadlineError(description, `a wait of ${ms} ms`);
    await this.options.sleep(ms);
  }

  /** Full jitter: uniform in [0, min(cap, base·2^(n-1))). */
  backoffMs(retryNumber: number): number {
    const { baseDelayMs, maxDelayMs } = this.options.retry;
    return Math.floor(this.options.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, retryNumber - 1)));
  }

  async call(req: ApiCallRequest): Promise<TextResponse> {
    const description: BynderRequestDescription = { method: req.method, path: req.path };
    const { maxAttempts } = this.options.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(req, description, attempt);
      } catch (caught) {
        const tokenStep = caught instanceof TokenStepFailure;
        const err = tokenStep ? caught.error : caught;
        if (err instanceof BynderThrottledError) this.notifyThrottled(err, description);
        const retryable = err instanceof BynderError && err.kind === 'transient' && (tokenStep || req.retry === 'transient');
        if (!retryable || attempt >= maxAttempts) throw err;
        const waitMs = this.backoffMs(attempt);
        if (!waitFitsDeadline(waitMs, this.options.now)) throw err;
        await this.options.sleep(waitMs);
      }
    }
  }

  private async attempt(req: ApiCallRequest, description: BynderRequestDescription, attempt: number): Promise<TextResponse> {
    const { budget, tokens, now } = this.options;
    let token = await this.tokenStep(() => tokens.getToken());
    for (let renewed = false; ; renewed = true) {
      await budget.acquire(description);
      const response = await exchangeText({
        description,
        endpoint: 'api',
        url: this.urlOf(req),
        headers: this.headersOf(req, token.value),
        ...(req.form !== undefined ? { body: req.form.toString() } : req.body !== undefined ? { body: req.body } : {}),
        timeoutMs: req.timeoutMs ?? this.options.requestTimeoutMs,
        attempt,
        now,
        onRequest: this.options.onRequest,
      });
      if (response.status === 401 && !renewed && token.renewable) {
        const renewedToken = await this.tokenStep(() => tokens.renew(token.value));
        if (renewedToken !== undefined) {
          token = { value: renewedToken, renewable: true };
          continue;
        }
      }
      if ((response.status >= 200 && response.status < 300) || req.accept?.includes(response.status)) return response;
      const error = errorFromResponse(description, 'api', response, this.options.throttlePauseMs);
      if (error instanceof BynderThrottledError) budget.block();
      throw error;
    }
  }

  private async tokenStep<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw new TokenStepFailure(err);
    }
  }

  private urlOf(req: ApiCallRequest): string {
    const query = req.query?.toString();
    return `${this.origin}${req.path}${query ? `?${query}` : ''}`;
  }

  private headersOf(req: ApiCallRequest, token: string): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}`, ...req.headers };
    if (req.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    else if (req.body !== undefined) headers['content-type'] ??= 'application/octet-stream';
    return headers;
  }

  private notifyThrottled(err: BynderThrottledError, description: BynderRequestDescription): void {
    if (!this.options.onThrottled) return;
    try {
      this.options.onThrottled({
        method: description.method,
        path: description.path,
        failedFast: err.failedFast,
        pauseMs: err.retryAfterMs,
      });
    } catch {
      // A metrics hook must never fail the call it observes.
    }
  }
}
