/**
 * One HTTP exchange with Bynder's API, its token endpoint or the storage behind a download
 * location or the legacy S3 upload endpoint, and the translation of what comes back into a
 * typed error.
 *
 * Why one place: URLs reach this module with query strings (dates, S3 signatures) and requests
 * carry bearer tokens; every message, log field and observer event built here names the
 * request by method and path only, so that promise can be checked in one file.
 *
 * The wire is the project's `node:http` transport (keep-alive, streamed bodies with an exact
 * Content-Length, timeouts); nothing is bundled for it.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { sendRequest, TRANSPORT_ERROR_CODES } from '../../ibinder/client/http-transport.js';
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import { parseJsonBody } from '../../../validation/parse-json-body.js';
import { deadlineError, msToDeadline } from './deadline.js';
import {
  BynderApiError,
  BynderError,
  BynderNetworkError,
  BynderResponseError,
  BynderThrottledError,
  kindOfBynderStatus,
  type BynderRequestDescription,
} from './errors.js';

/** Who answers: the API, the OAuth token endpoint, or storage (no bearer token ever goes there). */
export type BynderEndpoint = 'api' | 'token' | 'storage';

export interface BynderRequestEvent {
  endpoint: BynderEndpoint;
  method: string;
  path: string;
  /** Absent when no answer came. */
  status?: number | undefined;
  attempt: number;
  durationMs: number;
}

export interface ExchangeRequest {
  description: BynderRequestDescription;
  endpoint: BynderEndpoint;
  url: string;
  headers: Record<string, string>;
  /** A Buffer is sent from memory with its length; it can be sent again on a retry. */
  body?: string | Buffer | undefined;
  /** Budget of the exchange, answer included (ms). */
  timeoutMs: number;
  attempt: number;
  now: () => number;
  onRequest?: ((event: BynderRequestEvent) => void) | undefined;
}

export interface TextResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Path of a URL without query string or fragment: what errors and logs may show. */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '<unparseable url>';
  }
}

export function subjectOf(endpoint: BynderEndpoint, d: BynderRequestDescription): string {
  switch (endpoint) {
    case 'api':
      return `Bynder ${d.method} ${d.path}`;
    case 'token':
      return `Bynder token endpoint ${d.method} ${d.path}`;
    case 'storage':
      return `Bynder storage ${d.method} ${d.path}`;
  }
}

/** Sends a request and reads the whole (small) answer as text. */
export async function exchangeText(req: ExchangeRequest): Promise<TextResponse> {
  const startedAt = req.now();
  let status: number | undefined;
  try {
    const res = await send(req);
    status = res.statusCode;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  } catch (err) {
    throw networkErrorFrom(req, err);
  } finally {
    observe(req, status, startedAt);
  }
}

/** Sends a request and hands back the answer's body as a stream (downloads). */
export async function exchangeStream(
  req: Omit<ExchangeRequest, 'timeoutMs'> & { headersTimeoutMs: number; bodyTimeoutMs: number },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Readable }> {
  const startedAt = req.now();
  let status: number | undefined;
  try {
    const res = await sendRequest({
      method: req.description.method,
      url: req.url,
      headers: req.headers,
      headersTimeoutMs: req.headersTimeoutMs,
      bodyTimeoutMs: req.bodyTimeoutMs,
    });
    status = res.statusCode;
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    throw networkErrorFrom({ ...req, timeoutMs: req.headersTimeoutMs }, err);
  } finally {
    observe({ ...req, timeoutMs: req.headersTimeoutMs }, status, startedAt);
  }
}

function send(req: ExchangeRequest) {
  const left = msToDeadline(req.now);
  if (left !== undefined && left <= 0) return Promise.reject(deadlineError(req.description, 'the exchange'));
  const timeoutMs = left === undefined ? req.timeoutMs : Math.min(req.timeoutMs, left);
  const headers = { ...req.headers };
  let body: string | Readable | undefined;
  if (Buffer.isBuffer(req.body)) {
    headers['content-length'] = String(req.body.length);
    body = Readable.from([req.body]);
  } else {
    body = req.body;
  }
  return sendRequest({
    method: req.description.method,
    url: req.url,
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

function observe(req: ExchangeRequest, status: number | undefined, startedAt: number): void {
  if (!req.onRequest) return;
  try {
    req.onRequest({
      endpoint: req.endpoint,
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

const TIMEOUT_CODES = new Set<string>([TRANSPORT_ERROR_CODES.headersTimeout, TRANSPORT_ERROR_CODES.bodyTimeout, 'ETIMEDOUT']);

/**
 * Anything thrown while talking to a server, as a typed error. Only the error's code or class
 * name reaches the message: transport errors may quote hosts or header values.
 */
export function networkErrorFrom(req: Pick<ExchangeRequest, 'description' | 'endpoint' | 'timeoutMs'>, err: unknown): BynderError {
  if (err instanceof BynderError) return err;
  const e: Error & { code?: unknown } = err instanceof Error ? err : new Error(String(err));
  const code = typeof e.code === 'string' ? e.code : undefined;
  const subject = subjectOf(req.endpoint, req.description);
  if (code?.startsWith('ERR_INVALID') || code === 'ERR_UNESCAPED_CHARACTERS') {
    return new BynderError(
      `${subject} could not be sent (${code}) — a bug in the request, not a network problem`,
      'permanent',
      req.description,
      {
        cause: err,
      },
    );
  }
  const timedOut = e.name === 'TimeoutError' || (code !== undefined && TIMEOUT_CODES.has(code));
  const reason = timedOut ? `timed out after ${req.timeoutMs} ms (${code ?? e.name})` : `connection failed (${code ?? e.name})`;
  return new BynderNetworkError(`${subject} got no answer: ${reason} — transient, retry later`, req.description, timedOut, { cause: err });
}

const ErrorBodySchema = lazySchema(() =>
  z.object({
    message: z.optional(z.unknown()),
    error: z.optional(z.unknown()),
    error_description: z.optional(z.unknown()),
  }),
);

/** Bynder's `message` (or OAuth `error: error_description`); at most 300 characters of it. */
export function bynderMessageOf(endpoint: BynderEndpoint, text: string): string | undefined {
  if (endpoint === 'storage') {
    // S3 XML: only Code and Message are quoted; the rest may echo the signed request.
    const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
    const message = /<Message>([^<]{1,200})<\/Message>/.exec(text)?.[1];
    const joined = [code, message].filter((s) => s !== undefined).join(': ');
    return joined || undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = ErrorBodySchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { message, error, error_description: description } = parsed.data;
  const text2 =
    typeof message === 'string' && message !== ''
      ? message
      : typeof error === 'string' && error !== ''
        ? typeof description === 'string' && description !== ''
          ? `${error}: ${description}`
          : error
        : undefined;
  return text2?.slice(0, 300);
}

export function correlationIdOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-api-correlation-id'];
  const id = Array.isArray(value) ? value[0] : value;
  return id ? id.slice(0, 200) : undefined;
}

/**
 * `{"message":"Could not complete upload","retry":1}`: Bynder's 500 of a finalise that asks to
 * be sent again. Only then is a finalise repeated.
 */
export function bynderAsksForRetry(text: string): boolean {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null) return false;
    const retry = (body as Record<string, unknown>).retry;
    return retry === 1 || retry === true || retry === '1';
  } catch {
    return false;
  }
}

/** A 404 from the gateway for a path it does not know: a wrong portal URL or path reading. */
export function isNoRouteMatched(status: number, bynderMessage: string | undefined): boolean {
  return status === 404 && bynderMessage !== undefined && /no route matched/i.test(bynderMessage);
}

const CREDENTIALS_HINT =
  "check the client id and secret (or permanent token) in the environment's Bynder credentials secret, the token URL, and that the API client is active";

function hintFor(endpoint: BynderEndpoint, status: number, noRoute: boolean, bynderMessage: string | undefined): string {
  if (status === 408) return 'the server timed out waiting for the request: transient, retry later';
  if (status >= 500) return 'Bynder failed: transient, retry later; quote the correlation id to Bynder support if it persists';
  if (endpoint === 'token') return `the token request was refused: ${CREDENTIALS_HINT}; also check the scopes asked for`;
  if (endpoint === 'storage') {
    if (status === 403 || status === 400)
      return 'storage refused the request, typically an expired location or upload policy: ask Bynder for a new one';
    return 'storage refused the request; it will not succeed on retry with the same location';
  }
  if (noRoute)
    return "the gateway knows no such path: check the portal URL and the connector's path settings (an operator error, not the file's)";
  switch (status) {
    case 400:
      return 'fix the request data; this will not succeed on retry';
    case 401:
      return `refused even with a freshly issued token: ${CREDENTIALS_HINT}`;
    case 403:
      return "the API client's scopes or its user's permissions do not allow this: add the scope (asset:read, asset:write, meta.assetbank:read) or the permission in Bynder";
    case 404:
      if (bynderMessage !== undefined && /import/i.test(bynderMessage)) {
        return 'Bynder does not know the upload (expired, or never finalised): upload the file again';
      }
      return 'it does not exist (deleted, or an id of the other id family); this will not succeed on retry';
    default:
      return 'this will not succeed on retry';
  }
}

/**
 * The error for a non-2xx answer, e.g. `Bynder POST /api/v4/media/save/ab-12 answered 400 "No
 * brandid provided" (correlation id 9f…) — fix the request data; this will not succeed on retry`.
 * A 429 becomes a `BynderThrottledError` carrying `throttlePauseMs`.
 */
export function errorFromResponse(
  description: BynderRequestDescription,
  endpoint: BynderEndpoint,
  response: TextResponse,
  throttlePauseMs: number,
): BynderApiError {
  const { status } = response;
  const bynderMessage = bynderMessageOf(endpoint, response.text);
  const correlationId = correlationIdOf(response.headers);
  const quoted = bynderMessage ?? STATUS_CODES[status] ?? 'Unknown status';
  const correlation = correlationId !== undefined ? ` (correlation id ${correlationId})` : '';
  const subject = subjectOf(endpoint, description);
  if (status === 429 && endpoint !== 'storage') {
    return new BynderThrottledError(
      `${subject} answered 429 "${quoted}"${correlation} — Bynder blocks this integration until 5 quiet minutes pass; ` +
        `every call to the portal pauses for ${Math.round(throttlePauseMs / 1000)} s (throttled, not a failure)`,
      description,
      throttlePauseMs,
      false,
      correlationId,
    );
  }
  const noRoute = endpoint === 'api' && isNoRouteMatched(status, bynderMessage);
  let kind = kindOfBynderStatus(status);
  if (endpoint === 'token' && kind === 'permanent') kind = 'auth';
  if (endpoint === 'storage' && (kind === 'auth' || kind === 'throttled')) kind = status === 429 ? 'transient' : 'permanent';
  const message = `${subject} answered ${status} "${quoted}"${correlation} — ${hintFor(endpoint, status, noRoute, bynderMessage)}`;
  return new BynderApiError(message, kind, description, status, bynderMessage, correlationId, noRoute ? { operator: true } : undefined);
}

/**
 * Parses a 2xx body with its schema. A body that is not JSON or does not fit is a
 * `BynderResponseError` naming the request and the offending fields (never their values).
 */
export function parseResponse<S extends z.core.$ZodType>(
  description: BynderRequestDescription,
  endpoint: BynderEndpoint,
  response: { status: number; text: string },
  schema: S,
): z.output<S> {
  return parseJsonBody(
    response,
    schema,
    {
      subject: subjectOf(endpoint, description),
      mismatch: 'does not fit',
      advice: 'the API may have changed, or something other than Bynder answered; report it with the request',
    },
    (message, issues) => new BynderResponseError(message, description, issues),
  );
}
