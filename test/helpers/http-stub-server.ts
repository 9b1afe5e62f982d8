/**
 * A tiny scripted HTTP server on 127.0.0.1, port 0, for the iBinder client's unit tests.
 * Each route answers from a script (one reply, a sequence whose last reply repeats, or a
 * function); every request is recorded with headers and body so tests can assert on what
 * the client actually sent. Not an iBinder emulator: it knows nothing of the API.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** sha256 of the body, hex. */
  sha256: string;
}

export interface StubReply {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as is (text/plain unless headers say otherwise). */
  text?: string;
  /** Never answer (to provoke client timeouts); the connection is dropped on close(). */
  hang?: boolean;
  /** Close the connection without answering, once the request has been read (a dropped connection). */
  drop?: boolean;
}

export type StubResponder = StubReply | StubReply[] | ((request: RecordedRequest) => StubReply | Promise<StubReply>);

export interface HttpStubServer {
  /** e.g. http://127.0.0.1:43121 */
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Bytes of request bodies received so far, counted as they arrive (streaming checks). */
  readonly bytesReceived: () => number;
  route(method: string, path: string, responder: StubResponder): void;
  requestsTo(method: string, path: string): RecordedRequest[];
  close(): Promise<void>;
}

export async function startHttpStubServer(): Promise<HttpStubServer> {
  const routes = new Map<string, { responder: StubResponder; calls: number }>();
  const requests: RecordedRequest[] = [];
  let bytesReceived = 0;

  const reply = (res: ServerResponse, r: StubReply): void => {
    if (r.hang) return;
    if (r.drop) {
      res.socket?.destroy();
      return;
    }
    const headers: Record<string, string> = { ...r.headers };
    let payload = '';
    if (r.json !== undefined) {
      payload = JSON.stringify(r.json);
      headers['content-type'] ??= 'application/json';
    } else if (r.text !== undefined) {
      payload = r.text;
      headers['content-type'] ??= 'text/plain';
    }
    headers['content-length'] ??= String(Buffer.byteLength(payload));
    res.writeHead(r.status ?? 200, headers);
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    for await (const chunk of req as AsyncIterable<Buffer>) {
      bytesReceived += chunk.length;
      hash.update(chunk);
      chunks.push(chunk);
    }
    const url = new URL(req.url ?? '/', 'http://stub');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
      sha256: hash.digest('hex'),
    };
    requests.push(recorded);
    const route = routes.get(`${recorded.method} ${recorded.path}`);
    if (!route) {
      reply(res, { status: 404, json: { title: `stub: no route for ${recorded.method} ${recorded.path}`, status: 404 } });
      return;
    }
    const index = route.calls++;
    const { responder } = route;
    const r =
      typeof responder === 'function'
        ? await responder(recorded)
        : Array.isArray(responder)
          ? (responder[Math.min(index, responder.length - 1)] ?? { status: 500 })
          : responder;
    reply(res, r);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    bytesReceived: () => bytesReceived,
    route(method, path, responder) {
      routes.set(`${method.toUpperCase()} ${path}`, { responder, calls: 0 });
    },
    requestsTo(method, path) {
      return requests.filter((r) => r.method === method.toUpperCase() && r.path === path);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
