/**
 * Typed errors of the iBinder client. Every message names the request (method and path,
 * never a query string or signature) and keeps iBinder's traceId, which support asks for.
 */

export type ErrorKind = 'permanent' | 'transient' | 'auth';

export interface RequestDescription {
  method: string;
  /** Path without query string: presigned signatures never reach an error. */
  path: string;
}

export class IBinderError extends Error {
  override readonly name: string = 'IBinderError';
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly request: RequestDescription,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The API answered with a non-success status. */
export class IBinderApiError extends IBinderError {
  override readonly name = 'IBinderApiError';
  constructor(
    message: string,
    kind: ErrorKind,
    request: RequestDescription,
    readonly status: number,
    readonly title: string | undefined,
    readonly fieldErrors: Record<string, string[]>,
    readonly traceId: string | undefined,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message, kind, request);
  }
}

/** No answer: connection refused/reset, DNS, or the request timed out. Always transient. */
export class IBinderNetworkError extends IBinderError {
  override readonly name = 'IBinderNetworkError';
  constructor(
    message: string,
    request: RequestDescription,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, 'transient', request, options);
  }
}

/** The API answered 2xx with a body that does not match the reference. Permanent. */
export class IBinderResponseError extends IBinderError {
  override readonly name = 'IBinderResponseError';
  constructor(
    message: string,
    request: RequestDescription,
    readonly issues: string[],
  ) {
    super(message, 'permanent', request);
  }
}

/** Classifies an HTTP status as the design says: 429/5xx transient, 401 auth, other 4xx permanent. */
export function kindOfStatus(status: number): ErrorKind {
  if (status === 401) return 'auth';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

export function isIBinderError(err: unknown): err is IBinderError {
  return err instanceof IBinderError;
}
