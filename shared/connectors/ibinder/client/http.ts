/**
 * One HTTP exchange with iBinder, its identity provider or the presigned storage behind it,
 * and the translation of whatever comes back into a typed error.
 *
 * Why one place: every message and log line built here names the request by method and
 * path only. URLs reach this module with query strings (search parameters, presigned
 * signatures) and requests carry bearer tokens; neither may leak into an error, a log line
 * or the `onRequest` hook, and keeping the translation in one module keeps that promise checkable.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream';
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import { parseJsonBody } from '../../../validation/parse-json-body.js';
import {
  IBinderApiError,
  IBinderError,
  IBinderNetworkError,
  IBinderResponseError,
  kindOfStatus,
  type ErrorKind,
  type RequestDescription,
} from './errors.js';
import { deadlineSignal } from './deadline.js';
import { TRANSPORT_ERROR_CODES, sendRequest, type TransportResponse } from './http-transport.js';
import { ProblemDetailsSchema } from './schemas.js';
import { parseRetryAfter } from './retry.js';
import type { IBinderClientOptions } from './types.js';

/** Who answered: the File API, the OAuth token endpoint, or storage behind a presigned URL. */
export type Endpoint = 'api' | 'token' | 'storage';

export type RequestObserver = NonNullable<IBinderClientOptions['onRequest']>;

/**
 * A non-2xx answer from storage behind a presigned URL. A separate class so that callers can
 * tell "the link expired, ask for a new one" from an API refusal (see `isExpiredLinkError`).
 */
export class PresignedStorageError extends IBinderApiError {
  readonly fromPresignedUrl = true;
}

export interface ExchangeRequest {
  /** Method and path (no query string) used in errors, logs and the `onRequest` hook. */
  description: RequestDescription;
  endpoint: Endpoint;
  url: string;
  headers: Record<string, string>;
  body?: string | Readable;
  /** Budget of the whole exchange, body included (API and token calls). */
  timeoutMs?: number;
  /** Longest wait for response headers while not sending (transfers). */
  headersTimeoutMs?: number;
  /** Longest pause between two chunks of the response body (transfers). */
  bodyTimeoutMs?: number;
  /** Aborts the exchange; its reason is thrown when it is an IBinderError. */
  signal?: AbortSignal;
  attempt: number;
  now: () => number;
  onRequest?: RequestObserver;
}

export interface TextResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface StreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Path of a URL without query string or fragment: what errors and logs may show. */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '<unparseable url>';
  }
}

/** Sends a request and reads the whole answer as text. Bodies of API answers are small JSON. */
export async function exchangeText(req: ExchangeRequest): Promise<TextResponse> {
  const startedAt = req.now();
  let status: number | undefined;
  const deadline = deadlineSignal(who(req.endpoint, req.description), req.description, req.now);
  try {
    const res = await send(req, deadline?.signal);
    status = res.statusCode;
    const text = await readText(res.body);
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    throw networkErrorFrom(req, err);
  } finally {
    deadline?.clear();
    observe(req, status, startedAt);
  }
}

/** Sends a request and hands back the answer's body as a stream (downloads). */
export async function exchangeStream(req: ExchangeRequest): Promise<StreamResponse> {
  const startedAt = req.now();
  let status: number | undefined;
  // The deadline also bounds the body after this returns: its timer ends when the body closes.
  const deadline = deadlineSignal(who(req.endpoint, req.description), req.description, req.now);
  try {
    const res = await send(req, deadline?.signal);
    status = res.statusCode;
    if (deadline) res.body.once('close', deadline.clear);
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    deadline?.clear();
    throw networkErrorFrom(req, err);
  } finally {
    observe(req, status, startedAt);
  }
}

/** Reads a whole (small) body as UTF-8 text; fails with whatever ended the body early. */
export async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends with every limit that applies combined: the caller's signal (idle watch of uploads),
 * the per-exchange timeout, and the current deadline (see deadline.ts), whose abort reason is
 * a `DeadlineExceededError` naming the request.
 */
function send(req: ExchangeRequest, deadline: AbortSignal | undefined): Promise<TransportResponse> {
  const signals = [req.signal, deadline, req.timeoutMs !== undefined ? AbortSignal.timeout(req.timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  return sendRequest({
    method: req.description.method,
    url: req.url,
    headers: req.headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(signal ? { signal } : {}),
    ...(req.headersTimeoutMs !== undefined ? { headersTimeoutMs: req.headersTimeoutMs } : {}),
    ...(req.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: req.bodyTimeoutMs } : {}),
  });
}

function observe(req: ExchangeRequest, status: number | undefined, startedAt: number): void {
  if (!req.onRequest) return;
  try {
    req.onRequest({
      method: req.description.method,
      path: req.description.path,
      ...(status !== undefined ? { status } : {}),
      attempt: req.attempt,
      durationMs: req.now() - startedAt,
    });
  } catch {
    // A metrics hook must never fail the call it observes.
  }
}

function who(endpoint: Endpoint, d: RequestDescription): string {
  switch (endpoint) {
    case 'api':
      return `iBinder ${d.method} ${d.path}`;
    case 'token':
      return `iBinder token endpoint ${d.method} ${d.path}`;
    case 'storage':
      return `presigned storage ${d.method} ${d.path}`;
  }
}

const TIMEOUT_CODES = new Set<string>([TRANSPORT_ERROR_CODES.headersTimeout, TRANSPORT_ERROR_CODES.bodyTimeout, 'ETIMEDOUT']);
/** Node's codes for a request it refused to build: a bug in the request, not the network. */
const INVALID_REQUEST_CODES = new Set([
  'ERR_INVALID_URL',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
  'ERR_INVALID_PROTOCOL',
]);

/**
 * Turns anything thrown while talking to a server into a typed error. Only the error's code
 * or class name reaches the message: some transport errors quote host names or header
 * values, and none of them is needed to act on the failure.
 */
export function networkErrorFrom(req: Pick<ExchangeRequest, 'description' | 'endpoint' | 'timeoutMs'>, err: unknown): IBinderError {
  if (err instanceof IBinderError) return err;
  const e: Error & { code?: unknown } = err instanceof Error ? err : new Error(String(err));
  const code = typeof e.code === 'string' ? e.code : undefined;
  const subject = who(req.endpoint, req.description);
  if (code !== undefined && INVALID_REQUEST_CODES.has(code)) {
    return new IBinderError(
      `${subject} could not be sent (${e.message}) — this is a bug in the request, not a network problem`,
      'permanent',
      req.description,
      { cause: err },
    );
  }
  if (code === TRANSPORT_ERROR_CODES.contentLengthMismatch || code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH') {
    return new IBinderNetworkError(
      `${subject} failed: the body stream did not deliver exactly Content-Length bytes (source stream truncated or size wrong) — retry the whole transfer`,
      req.description,
      false,
      { cause: err },
    );
  }
  const timedOut = e.name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code));
  const reason = timedOut
    ? `timed out${req.timeoutMs !== undefined && e.name === 'TimeoutError' ? ` after ${req.timeoutMs} ms` : ''} (${code ?? e.name})`
    : `connection failed (${code ?? e.name})`;
  return new IBinderNetworkError(`${subject} got no answer: ${reason} — transient, safe to retry`, req.description, timedOut, {
    cause: err,
  });
}

const OAuthErrorSchema = lazySchema(() =>
  z.object({
    error: z.string(),
    error_description: z.nullish(z.string()),
  }),
);

interface ParsedErrorBody {
  title?: string;
  fieldErrors: Record<string, string[]>;
  traceId?: string;
}

function parseErrorBody(endpoint: Endpoint, text: string): ParsedErrorBody {
  if (endpoint === 'storage') {
    // S3-style XML: only Code and Message are quoted; the rest may echo the canonical request.
    const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]{1,200})<\/Message>/.exec(text)?.[1];
    const title = [code, message].filter((s) => s !== undefined).join(': ');
    return { ...(title ? { title } : {}), fieldErrors: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { fieldErrors: {} }; // HTML error page, empty body, proxy text: the status speaks.
  }
  if (endpoint === 'token') {
    const oauth = OAuthErrorSchema.safeParse(json);
    if (oauth.success) {
      const d = oauth.data.error_description;
      return { title: d ? `${oauth.data.error}: ${d}` : oauth.data.error, fieldErrors: {} };
    }
  }
  const problem = ProblemDetailsSchema.safeParse(json);
  if (!problem.success) return { fieldErrors: {} };
  const p = problem.data;
  const title = p.title ?? p.detail;
  return {
    ...(title !== undefined ? { title } : {}),
    fieldErrors: p.errors ?? {},
    ...(p.traceId !== undefined ? { traceId: p.traceId } : {}),
  };
}

function kindFor(endpoint: Endpoint, status: number): ErrorKind {
  const kind = kindOfStatus(status);
  if (kind === 'transient') return kind;
  // A refused token request is a credential/configuration problem, whatever the 4xx.
  if (endpoint === 'token') return 'auth';
  // Storage does not know our credentials: its 401 is as permanent as its 403.
  if (endpoint === 'storage') return 'permanent';
  return kind;
}

const CREDENTIALS_HINT =
  "check the client id and secret in the environment's iBinder credentials secret (or IBINDER_CLIENT_ID / IBINDER_CLIENT_SECRET locally), " +
  'and that API clients are enabled for the organisation (an organisation owner asks iBinder support)';

function hintFor(endpoint: Endpoint, status: number): string {
  if (status === 429) return 'rate limited: transient, retried with backoff; if it persists, lower the concurrency';
  if (status === 408) return 'the server timed out waiting for the request: transient, safe to retry';
  if (status >= 500) return 'server failure: transient, safe to retry; quote the traceId to support if it persists';
  if (endpoint === 'token') return `${CREDENTIALS_HINT}; also check the token URL`;
  if (endpoint === 'storage') {
    if (status === 400 || status === 403 || status === 410) {
      return 'the presigned URL was refused, typically because it expired: request a new link and transfer again';
    }
    if (status === 404) return 'the stored object is not there (stale link?): request a new link';
    return 'storage refused the transfer; this will not succeed on retry with the same link';
  }
  switch (status) {
    case 400:
      return 'fix the request data; this will not succeed on retry';
    case 401:
      return `refused even with a freshly issued token: ${CREDENTIALS_HINT}`;
    case 403:
      return "the API client may not do this: check the tenant id (x-ibinder-tenantid) and the API client's access rights to this binder; this will not succeed on retry";
    case 404:
      return "it does not exist or is not visible to this tenant: check the id, the tenant id (x-ibinder-tenantid) and the API client's access rights";
    case 405:
      return 'this endpoint does not accept the method here; this will not succeed on retry';
    case 409:
      return 'the request conflicts with the current state of the object; this will not succeed on retry as is';
    default:
      return 'this will not succeed on retry';
  }
}

function formatFieldErrors(fieldErrors: Record<string, string[]>): string {
  const entries = Object.entries(fieldErrors);
  if (entries.length === 0) return '';
  const shown = entries.slice(0, 10).map(([field, messages]) => `${field}: ${messages.join(' ')}`);
  const more = entries.length > shown.length ? `; and ${entries.length - shown.length} more` : '';
  return ` (${shown.join('; ')}${more})`;
}

/**
 * Builds the error for a non-2xx answer, e.g.
 * `iBinder POST /documents/drives/binders/AB12CD34E/<folder>/upload answered 400 "One or more
 * validation errors occurred." (fileName: The fileName field is required.) traceId=00-… — fix
 * the request data; this will not succeed on retry`.
 */
export function errorFromResponse(
  description: RequestDescription,
  endpoint: Endpoint,
  response: { status: number; headers: IncomingHttpHeaders; text: string },
  nowMs: number,
): IBinderApiError {
  const { status } = response;
  const parsed = parseErrorBody(endpoint, response.text);
  const title = parsed.title ?? STATUS_CODES[status] ?? 'Unknown status';
  const trace = parsed.traceId !== undefined ? ` traceId=${parsed.traceId}` : '';
  const message =
    `${who(endpoint, description)} answered ${status} "${title}"${formatFieldErrors(parsed.fieldErrors)}${trace}` +
    ` — ${hintFor(endpoint, status)}`;
  const retryAfterMs = parseRetryAfter(response.headers['retry-after'], nowMs);
  const ErrorClass = endpoint === 'storage' ? PresignedStorageError : IBinderApiError;
  return new ErrorClass(
    message,
    kindFor(endpoint, status),
    description,
    status,
    parsed.title,
    parsed.fieldErrors,
    parsed.traceId,
    retryAfterMs,
  );
}

/**
 * Parses a 2xx body with its schema. A body that is not JSON or does not match the reference
 * is an IBinderResponseError naming the request and the offending fields (never their values).
 */
export function parseResponse<S extends z.core.$ZodType>(
  description: RequestDescription,
  endpoint: Endpoint,
  response: { status: number; text: string },
  schema: S,
): z.output<S> {
  return parseJsonBody(
    response,
    schema,
    {
      subject: who(endpoint, description),
      mismatch: 'does not match the reference',
      advice: 'the API may have changed, or something other than iBinder answered; report it with the request',
    },
    (message, issues) => new IBinderResponseError(message, description, issues),
  );
}

/**
 * Passes `source` through unchanged while watching its progress: when no chunk moves for
 * `idleMs` (source stalled, or the server stopped reading), `onIdle` fires. A total timeout
 * would be wrong for uploads of up to 5 GiB; an idle timeout catches the hang without
 * limiting a slow but moving transfer. Call `stop` once the exchange is over.
 */
export function watchProgress(source: Readable, idleMs: number, onIdle: () => void): { stream: Readable; stop: () => void } {
  const timer = setTimeout(onIdle, idleMs);
  const watched = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      timer.refresh();
      callback(null, chunk);
    },
    flush(callback) {
      // The whole body is handed over; waiting for the answer is the headers timeout's job.
      clearTimeout(timer);
      callback();
    },
  });
  pipeline(source, watched, () => clearTimeout(timer));
  return {
    stream: watched,
    stop: () => {
      clearTimeout(timer);
      if (!watched.writableFinished) watched.destroy();
    },
  };
}

/**
 * Re-emits a download body through a PassThrough so that a transport failure mid-stream
 * (idle timeout, reset) reaches the consumer as an IBinderNetworkError naming the request.
 */
export function typedBodyStream(body: Readable, req: Pick<ExchangeRequest, 'description' | 'endpoint' | 'timeoutMs'>): Readable {
  const out = new PassThrough();
  body.on('error', (err) => out.destroy(networkErrorFrom(req, err)));
  // The consumer gave up early (or failed): release the connection.
  out.on('close', () => {
    if (!body.readableEnded) body.destroy();
  });
  body.pipe(out);
  return out;
}
