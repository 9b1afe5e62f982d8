/**
 * Response writers in the two dialects the emulator speaks: RFC 9110 problem details for the
 * API (the shape the behaviour page documents, with a fresh W3C-style traceId) and S3-like XML
 * errors for the presigned storage URLs (what a real bucket answers).
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** `00-<32 hex>-<16 hex>-01`, the traceparent form iBinder returns. */
export function newTraceId(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

const PROBLEM_TYPES: Record<number, { type: string; title: string }> = {
  400: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1', title: 'One or more validation errors occurred.' },
  401: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.2', title: 'Unauthorized' },
  403: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.4', title: 'Forbidden' },
  404: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.5', title: 'Not Found' },
  405: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.6', title: 'Method Not Allowed' },
  409: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.10', title: 'Conflict' },
  413: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.14', title: 'Content Too Large' },
  415: { type: 'https://tools.ietf.org/html/rfc9110#section-15.5.16', title: 'Unsupported Media Type' },
  429: { type: 'https://tools.ietf.org/html/rfc6585#section-4', title: 'Too Many Requests' },
  500: { type: 'https://tools.ietf.org/html/rfc9110#section-15.6.1', title: 'An error occurred while processing your request.' },
  502: { type: 'https://tools.ietf.org/html/rfc9110#section-15.6.3', title: 'Bad Gateway' },
  503: { type: 'https://tools.ietf.org/html/rfc9110#section-15.6.4', title: 'Service Unavailable' },
  504: { type: 'https://tools.ietf.org/html/rfc9110#section-15.6.5', title: 'Gateway Timeout' },
};

export type FieldErrors = Record<string, string[]>;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldErrors;
  traceId?: string;
}

export interface ProblemOptions {
  detail?: string;
  errors?: FieldErrors;
  /** Auth failures carry only type, title and status, as the behaviour page warns. */
  short?: boolean;
  title?: string;
}

export function problemBody(status: number, options: ProblemOptions = {}): ProblemBody {
  const known = PROBLEM_TYPES[status] ?? { type: 'about:blank', title: `HTTP ${status}` };
  if (options.short) return { type: known.type, title: options.title ?? known.title, status };
  const body: ProblemBody = { type: known.type, title: options.title ?? known.title, status };
  if (options.detail !== undefined) body.detail = options.detail;
  if (options.errors !== undefined) body.errors = options.errors;
  body.traceId = newTraceId();
  return body;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export function sendProblem(res: ServerResponse, status: number, options: ProblemOptions = {}, headers: Record<string, string> = {}): void {
  const body = problemBody(status, options);
  const traceHeader: Record<string, string> = body.traceId ? { 'x-trace-id': body.traceId } : {};
  sendJson(res, status, body, { 'content-type': 'application/problem+json; charset=utf-8', ...traceHeader, ...headers });
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

/** An S3-style `<Error>` document, as a bucket answers a presigned request it refuses. */
export function sendStorageError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const fields = Object.entries({ Code: code, Message: message, ...extra, RequestId: requestId })
    .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
    .join('');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(xml)),
    'x-amz-request-id': requestId,
    ...headers,
  });
  res.end(xml);
}
