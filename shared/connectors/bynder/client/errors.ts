/**
 * Typed errors of the Bynder client. Every message names the request by method and path
 * (never a query string: download locations and S3 policies live there), quotes Bynder's own
 * `message`, keeps the `X-API-Correlation-Id` when Bynder sent one, and says what to do.
 *
 * `kind` is what the connector classifies by:
 * - `permanent`: the request itself is wrong; retrying it as is will not help.
 * - `transient`: 5xx, 408, no answer; retrying later may help.
 * - `auth`: the credentials or their scopes are refused (401 after a fresh token, 403, a
 *   refused token request): an operator must fix the secret or the API client.
 * - `throttled`: Bynder blocked the portal's integration (429) or the process is waiting out
 *   such a block; nothing helps before `retryAfterMs` has passed.
 *
 * `operator` marks what an operator must fix rather than the file's sender: every `auth`
 * error and a 404 "no Route matched" (a wrong portal URL or path reading, not a missing asset).
 */

export type BynderErrorKind = 'permanent' | 'transient' | 'auth' | 'throttled';

export interface BynderRequestDescription {
  method: string;
  /** Path without query string. */
  path: string;
}

export class BynderError extends Error {
  override readonly name: string = 'BynderError';
  /** True when an operator (not the file's sender) must act: credentials, scopes, portal URL. */
  readonly operator: boolean;
  constructor(
    message: string,
    readonly kind: BynderErrorKind,
    readonly request: BynderRequestDescription,
    options?: { cause?: unknown; operator?: boolean },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.operator = options?.operator ?? kind === 'auth';
  }
}

/** Bynder (its API, its token endpoint, or the storage behind it) answered with a non-success status. */
export class BynderApiError extends BynderError {
  override readonly name: string = 'BynderApiError';
  constructor(
    message: string,
    kind: BynderErrorKind,
    request: BynderRequestDescription,
    readonly status: number,
    /** Bynder's own `message` (or OAuth `error: error_description`), when the body had one. */
    readonly bynderMessage: string | undefined,
    readonly correlationId: string | undefined,
    options?: { operator?: boolean },
  ) {
    super(message, kind, request, options);
  }
}

/**
 * A 429: Bynder blocks every request from the egress IP until five quiet minutes pass, and any
 * request in the meantime extends the block. Also thrown without a request while this process
 * waits out such a block (`failedFast`). No `Retry-After` exists: `retryAfterMs` is the
 * configured pause (or what is left of it).
 */
export class BynderThrottledError extends BynderApiError {
  override readonly name = 'BynderThrottledError';
  constructor(
    message: string,
    request: BynderRequestDescription,
    readonly retryAfterMs: number,
    /** True when no request was sent: the portal's budget is blocked. */
    readonly failedFast: boolean,
    correlationId?: string | undefined,
  ) {
    super(message, 'throttled', request, 429, undefined, correlationId);
  }
}

/** No answer: connection refused or reset, DNS, a timeout. Always transient. */
export class BynderNetworkError extends BynderError {
  override readonly name = 'BynderNetworkError';
  constructor(
    message: string,
    request: BynderRequestDescription,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, 'transient', request, options);
  }
}

/** Bynder answered 2xx with a body the client cannot read (not JSON, fields missing). Permanent. */
export class BynderResponseError extends BynderError {
  override readonly name = 'BynderResponseError';
  constructor(
    message: string,
    request: BynderRequestDescription,
    readonly issues: string[],
  ) {
    super(message, 'permanent', request);
  }
}

/**
 * Classifies a status: 401/403 auth, 408/5xx transient, 429 throttled, other 4xx permanent.
 * (A 401 reaches a caller only after the one retry with a fresh token.)
 */
export function kindOfBynderStatus(status: number): BynderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'throttled';
  if (status === 408 || status >= 500) return 'transient';
  return 'permanent';
}

export function isBynderError(err: unknown): err is BynderError {
  return err instanceof BynderError;
}

/** The configured pause (ms) carried by a throttled error anywhere in `err`'s cause chain. */
export function bynderRetryAfterMsOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth += 1) {
    if (e instanceof BynderThrottledError) return e.retryAfterMs;
  }
  return undefined;
}
