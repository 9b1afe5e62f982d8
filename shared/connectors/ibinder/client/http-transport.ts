/**
 * The wire under the iBinder client: one HTTP/1.1 request over Node's own `node:http` /
 * `node:https`, with keep-alive, streamed request and response bodies, and the limits the
 * client needs (an abort signal, a wait-for-headers timeout and an idle timeout of the body).
 *
 * Why Node's own client rather than an HTTP package: it costs nothing at cold start (it is
 * part of the runtime, nothing is bundled), sends a stream body with exactly the
 * Content-Length it is given (presigned storage refuses chunked uploads), and hands back the
 * response as a plain `Readable`. Errors keep Node's codes (ECONNREFUSED, ECONNRESET ...) or
 * carry one of `TRANSPORT_ERROR_CODES`; http.ts turns them into typed iBinder errors.
 */
import http from 'node:http';
import https from 'node:https';
import { Transform, pipeline, type Readable } from 'node:stream';

/** Codes of the failures this module detects itself (Node's own codes pass through). */
export const TRANSPORT_ERROR_CODES = {
  headersTimeout: 'HEADERS_TIMEOUT',
  bodyTimeout: 'BODY_TIMEOUT',
  contentLengthMismatch: 'CONTENT_LENGTH_MISMATCH',
} as const;

/** A failure the transport detected, with a code from `TRANSPORT_ERROR_CODES`. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    message: string,
    readonly code: (typeof TRANSPORT_ERROR_CODES)[keyof typeof TRANSPORT_ERROR_CODES],
  ) {
    super(message);
  }
}

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A string is sent with its byte length; a stream must carry `content-length` in `headers`. */
  body?: string | Readable;
  /** Aborts the request and its response body; the rejection (or body error) is the signal's reason. */
  signal?: AbortSignal;
  /** Longest wait for the response headers while nothing is being sent (ms). */
  headersTimeoutMs?: number;
  /** Longest pause between two chunks of the response body (ms). */
  bodyTimeoutMs?: number;
}

export interface TransportResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** The response body; ends, or fails with the abort reason, a `TransportError` or Node's error. */
  body: Readable;
}

/**
 * Keep-alive agents shared by every client of the process: a warm Lambda reuses its TLS
 * connections across invocations. Idle sockets are unref'd by the agent and never keep the
 * process alive.
 */
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

/** Sends one request; resolves when the response headers have arrived. */
export function sendRequest(req: TransportRequest): Promise<TransportResponse> {
  return new Promise<TransportResponse>((resolve, reject) => {
    const { signal } = req;
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (err) {
      reject(err);
      return;
    }
    const secure = url.protocol === 'https:';
    const headers: Record<string, string> = { ...req.headers };
    if (typeof req.body === 'string') headers['content-length'] = String(Buffer.byteLength(req.body));
    let outgoing: http.ClientRequest;
    try {
      outgoing = (secure ? https : http).request(url, { method: req.method, headers, agent: secure ? httpsAgent : httpAgent });
    } catch (err) {
      // Invalid method or header value: thrown synchronously by Node.
      reject(err);
      return;
    }

    let settled = false;
    let response: http.IncomingMessage | undefined;
    let bodyOut: Transform | undefined;
    const headersTimer = req.headersTimeoutMs === undefined ? undefined : setTimeout(onHeadersTimeout, req.headersTimeoutMs);
    headersTimer?.unref();

    function fail(err: Error): void {
      if (headersTimer) clearTimeout(headersTimer);
      if (!settled) {
        settled = true;
        cleanUp();
        reject(err);
      }
      outgoing.destroy(err);
      if (bodyOut && !bodyOut.destroyed) bodyOut.destroy(err);
      else response?.destroy(err);
    }
    function onHeadersTimeout(): void {
      fail(new TransportError(`no response headers within ${req.headersTimeoutMs} ms`, TRANSPORT_ERROR_CODES.headersTimeout));
    }
    function onAbort(): void {
      if (signal) fail(abortReason(signal));
    }
    function cleanUp(): void {
      signal?.removeEventListener('abort', onAbort);
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    outgoing.on('error', (err) => {
      // After the response arrived, a failure of the sending side (the server answered early
      // and closed) is the response body's business, not the request's.
      if (!settled) fail(err);
    });
    outgoing.on('response', (res) => {
      if (headersTimer) clearTimeout(headersTimer);
      response = res;
      if (settled) {
        res.destroy();
        return;
      }
      settled = true;
      const body = watchedBody(res, req.bodyTimeoutMs);
      bodyOut = body;
      // The signal keeps bounding the body until it is over.
      body.once('close', cleanUp);
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body });
    });

    if (req.body === undefined) {
      outgoing.end();
    } else if (typeof req.body === 'string') {
      outgoing.end(req.body);
    } else {
      const expected = Number(headers['content-length']);
      const source = req.body;
      const sending = Number.isSafeInteger(expected) ? lengthChecked(expected, () => headersTimer?.refresh()) : undefined;
      const done = (err: Error | null | undefined) => {
        // Once the answer is in (storage may refuse early and close), a failure of the
        // sending side only ends the sending: the answer's body is still read.
        if (err && !settled) fail(err);
      };
      if (sending) pipeline(source, sending, outgoing, done);
      else pipeline(source, outgoing, done);
    }
  });
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error(`aborted (${String(reason)})`);
}

/**
 * Passes a stream body through while counting it: a source that ends short of, or runs past,
 * its Content-Length fails the request instead of leaving the server waiting or sending a
 * request storage would read as two. Each chunk also refreshes the wait-for-headers timer,
 * so that only time spent not sending counts against it.
 */
function lengthChecked(expected: number, onProgress: () => void): Transform {
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      onProgress();
      if (sent > expected) {
        callback(
          new TransportError(`the body ran past its Content-Length of ${expected} bytes`, TRANSPORT_ERROR_CODES.contentLengthMismatch),
        );
        return;
      }
      callback(null, chunk);
    },
    flush(callback) {
      onProgress();
      if (sent !== expected) {
        callback(
          new TransportError(
            `the body ended after ${sent} of its Content-Length of ${expected} bytes`,
            TRANSPORT_ERROR_CODES.contentLengthMismatch,
          ),
        );
        return;
      }
      callback();
    },
  });
}

/**
 * The response body, through a pass-through that fails it with a `BODY_TIMEOUT` when no chunk
 * arrives for `idleMs` (a slow but moving download goes on; a stalled one is cut), and that
 * turns a connection closed before the end into an error rather than a short body.
 */
function watchedBody(res: http.IncomingMessage, idleMs: number | undefined): Transform {
  const timer =
    idleMs === undefined
      ? undefined
      : setTimeout(() => out.destroy(new TransportError(`no body data for ${idleMs} ms`, TRANSPORT_ERROR_CODES.bodyTimeout)), idleMs);
  timer?.unref();
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      timer?.refresh();
      callback(null, chunk);
    },
  });
  pipeline(res, out, () => {
    if (timer) clearTimeout(timer);
  });
  // The consumer gave up early: release the connection (not reused, its body was not read).
  out.once('close', () => {
    if (timer) clearTimeout(timer);
    if (!res.complete) res.destroy();
  });
  return out;
}
