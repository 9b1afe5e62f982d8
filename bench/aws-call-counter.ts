/**
 * A counting pass-through in front of a local AWS endpoint (S3 or DynamoDB): the measured
 * process is pointed at it instead of the server, and every request is forwarded unchanged
 * (its Host header too, so that the server checks the signature against the host the client
 * signed) while its operation is counted. That is how the small-file bench reports AWS calls
 * per file without touching the code it measures.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface AwsCallCounter {
  /** `http://127.0.0.1:<port>`, to hand to the measured process as the service's endpoint. */
  readonly url: string;
  /** Calls per operation since the last reset (`HeadObject`, `UpdateItem`, ...). */
  counts(): Record<string, number>;
  total(): number;
  reset(): void;
  close(): Promise<void>;
}

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

/** Starts a counter on 127.0.0.1 and a free port that forwards to `target` (an http:// URL). */
export async function startAwsCallCounter(target: string): Promise<AwsCallCounter> {
  const upstream = new URL(target);
  const calls = new OperationCounts();
  const server = http.createServer((req, res) => {
    calls.add(operationOf(req));
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
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => calls.counts(),
    total: () => calls.total(),
    reset: () => calls.reset(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
