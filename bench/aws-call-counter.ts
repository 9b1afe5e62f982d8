/**
 * How the bench counts AWS calls without touching the code it measures: by the operation of
 * each request a server of its own receives (`startCountingServer`, which the in-memory S3 and
 * DynamoDB answer from), or by a counting pass-through in front of a local AWS endpoint (S3 or
 * DynamoDB; the export bench's): the measured process is pointed at it instead of the server,
 * and every request is forwarded unchanged (its Host header too, so that the server checks the
 * signature against the host the client signed) while its operation is counted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

/** The counting pass-through: its endpoint stands in for the server's. */
export type AwsCallCounter = CountingServer;

/** Calls per operation, since the last reset: what the pass-through, the in-memory S3, the in-memory DynamoDB and the local DynamoDB's front each count. */
export class OperationCounts {
  private byOperation = new Map<string, number>();

  add(operation: string): void {
    this.byOperation.set(operation, (this.byOperation.get(operation) ?? 0) + 1);
  }

  /** Per operation, by name. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.byOperation].sort(([a], [b]) => a.localeCompare(b)));
  }

  total(): number {
    return [...this.byOperation.values()].reduce((sum, n) => sum + n, 0);
  }

  reset(): void {
    this.byOperation = new Map();
  }
}

/** An HTTP server of the bench's own that counts each request's operation as it receives it. */
export interface CountingServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Requests per operation (`GetObject`, `TransactWriteItems`, ...) since the last reset, as `operationOf` names them. */
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  stop(): Promise<void>;
}

/**
 * Starts `handle` on 127.0.0.1 and a free port, counting each request's operation before it is
 * handled: the pass-through below and the in-memory S3 and DynamoDB all count this way.
 */
export async function startCountingServer(handle: http.RequestListener): Promise<CountingServer> {
  const calls = new OperationCounts();
  const server = http.createServer((req, res) => {
    calls.add(operationOf(req));
    handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => calls.counts(),
    total: () => calls.total(),
    reset: () => calls.reset(),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Starts a counter on 127.0.0.1 and a free port that forwards to `target` (an http:// URL). */
export async function startAwsCallCounter(target: string): Promise<AwsCallCounter> {
  const upstream = new URL(target);
  return startCountingServer((req, res) => {
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, res).catch(() => res.destroy());
      },
    );
    forwarded.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`the call counter could not reach ${upstream.origin}: ${err.message}`);
    });
    pipeline(req, forwarded).catch(() => forwarded.destroy());
  });
}

/** DynamoDB names its operation in `x-amz-target`; S3 in the method, the query and a header or two. */
export function operationOf(req: Pick<http.IncomingMessage, 'method' | 'url' | 'headers'>): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.slice(target.indexOf('.') + 1);
  const query = new URL(req.url ?? '/', 'http://counter').searchParams;
  const method = (req.method ?? 'GET').toUpperCase();
  if (query.has('tagging')) return method === 'GET' ? 'GetObjectTagging' : method === 'PUT' ? 'PutObjectTagging' : 'DeleteObjectTagging';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'GET') return query.has('list-type') || query.has('versions') ? 'ListObjects' : 'GetObject';
  if (method === 'DELETE') return 'DeleteObject';
  if (method === 'PUT') return req.headers['x-amz-copy-source'] !== undefined ? 'CopyObject' : 'PutObject';
  return `${method} ${new URL(req.url ?? '/', 'http://counter').pathname.split('/').length > 2 ? 'object' : 'bucket'}`;
}
