/**
 * Requests to the storage behind Bynder: a download location (`s3_file`) and the legacy flow's
 * S3 upload endpoint. A request path of its own, apart from api-call.ts, so that no code path
 * can put the bearer token on them: storage gets no `Authorization` header, ever.
 *
 * Storage is not the portal: these requests take no slot of the portal's rate budget and are
 * not stopped by a 429 block. Errors name the path only (the query string of a download
 * location is its signature).
 */
import type { Readable } from 'node:stream';
import { BynderError, type BynderRequestDescription } from './errors.js';
import { errorFromResponse, exchangeStream, exchangeText, pathOf, type BynderRequestEvent, type TextResponse } from './http.js';

export interface StorageRequestOptions {
  requestTimeoutMs: number;
  now: () => number;
  onRequest?: ((event: BynderRequestEvent) => void) | undefined;
}

/** POSTs `body` (held in memory: one part) to a storage URL without Authorization. */
export async function postToStorage(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  attempt: number,
  options: StorageRequestOptions,
): Promise<TextResponse> {
  const description: BynderRequestDescription = { method: 'POST', path: pathOf(url) };
  const response = await exchangeText({
    description,
    endpoint: 'storage',
    url,
    headers: withoutAuthorization(headers),
    body,
    timeoutMs: options.requestTimeoutMs,
    attempt,
    now: options.now,
    onRequest: options.onRequest,
  });
  if (response.status < 200 || response.status >= 300) throw errorFromResponse(description, 'storage', response, 0);
  return response;
}

/** GETs a download location without Authorization; the body is handed back as a stream. */
export async function getFromStorage(
  url: string,
  options: StorageRequestOptions & { bodyTimeoutMs: number },
): Promise<{ body: Readable; contentLength?: number | undefined; contentType?: string | undefined }> {
  const description: BynderRequestDescription = { method: 'GET', path: pathOf(url) };
  const response = await exchangeStream({
    description,
    endpoint: 'storage',
    url,
    headers: {},
    headersTimeoutMs: options.requestTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs,
    attempt: 1,
    now: options.now,
    onRequest: options.onRequest,
  });
  if (response.status < 200 || response.status >= 300) {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        if (size < 4096) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch {
      // The status speaks; the error body is only a detail.
    }
    throw errorFromResponse(description, 'storage', { ...response, text: Buffer.concat(chunks).toString('utf8') }, 0);
  }
  const length = Number(response.headers['content-length']);
  const type = response.headers['content-type'];
  return {
    body: response.body,
    ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
    ...(type !== undefined ? { contentType: type } : {}),
  };
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization') {
      throw new BynderError(
        'a storage request was given an Authorization header — a bug: storage never gets the bearer token',
        'permanent',
        {
          method: 'POST',
          path: '(storage)',
        },
      );
    }
    out[name] = value;
  }
  return out;
}
