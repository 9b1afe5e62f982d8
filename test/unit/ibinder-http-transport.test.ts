/**
 * The iBinder client's wire (shared/connectors/ibinder/client/http-transport.ts, Node's own http client) against
 * a raw server on 127.0.0.1: what the scripted stub server cannot do (stall mid-body, answer
 * before the upload is read, count connections).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { HttpIBinderClient, isExpiredLinkError, type HttpIBinderClientOptions } from '../../shared/connectors/ibinder/client/client.js';
import { IBinderNetworkError } from '../../shared/connectors/ibinder/client/errors.js';
import { TRANSPORT_ERROR_CODES, TransportError, sendRequest } from '../../shared/connectors/ibinder/client/http-transport.js';

const SIGNATURE = 'X-Amz-Signature=feedface-must-not-leak';

let server: Server | undefined;
let connections = 0;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  connections = 0;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(base: string, overrides: Partial<HttpIBinderClientOptions> = {}): HttpIBinderClient {
  return new HttpIBinderClient({
    apiBaseUrl: `${base}/api`,
    tokenUrl: `${base}/connect/token`,
    tenantId: 'org-123',
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret-1' }),
    sleep: () => Promise.resolve(),
    tokenCache: new TokenCache(),
    ...overrides,
  });
}

function json(res: ServerResponse, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
  res.end(payload);
}

describe('the HTTP transport', () => {
  it('keeps the connection alive between API calls', async () => {
    const base = await serve((req, res) => {
      req.resume();
      req.on('end', () => (req.url === '/connect/token' ? json(res, { access_token: 't', expires_in: 3600 }) : json(res, [])));
    });
    const c = client(base);
    await c.listBinders();
    await c.listBinders();
    await c.listBinders();
    expect(connections).toBe(1);
  });

  it('gives up on a download whose headers do not come within the request timeout, as a timed-out network error', async () => {
    const base = await serve(() => undefined); // reads the request, never answers
    const err = await client(base, { requestTimeoutMs: 100, maxAttempts: 1 })
      .openDownload(`${base}/bucket/files/v-1?${SIGNATURE}`)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as IBinderNetworkError).timedOut).toBe(true);
    expect((err as Error).message).toContain(
      `presigned storage GET /bucket/files/v-1 got no answer: timed out (${TRANSPORT_ERROR_CODES.headersTimeout})`,
    );
    expect((err as Error).message).not.toContain('must-not-leak');
  });

  it('cuts a download body that stops moving after the transfer idle timeout, and lets a moving one finish', async () => {
    const base = await serve((req, res) => {
      res.writeHead(200, { 'content-length': '3000', 'content-type': 'application/pdf' });
      res.write(Buffer.alloc(1000, 1));
      // /slow keeps moving (a chunk every 60 ms, under the 150 ms idle limit); /stalled stops.
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.write(Buffer.alloc(1000, 2)), 60);
        setTimeout(() => res.end(Buffer.alloc(1000, 3)), 120);
      }
    });
    const c = client(base, { transferIdleTimeoutMs: 150 });
    const slow = await c.openDownload(`${base}/slow/f-1?${SIGNATURE}`);
    expect((await text(slow.body)).length).toBe(3000);

    const stalled = await c.openDownload(`${base}/stalled/f-2?${SIGNATURE}`);
    const err = await text(stalled.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as IBinderNetworkError).timedOut).toBe(true);
    expect((err as Error).message).toContain(
      `presigned storage GET /stalled/f-2 got no answer: timed out (${TRANSPORT_ERROR_CODES.bodyTimeout})`,
    );
  });

  it('fails a download whose connection closes before the end, instead of handing over a short body', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '5000' });
      res.write(Buffer.alloc(1000, 1), () => res.socket?.destroy());
    });
    const download = await client(base).openDownload(`${base}/bucket/files/v-1?${SIGNATURE}`);
    const err = await text(download.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as Error).message).toContain('presigned storage GET /bucket/files/v-1 got no answer: connection failed');
  });

  it('refuses an upload body that runs past its Content-Length', async () => {
    const base = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    const err = await client(base)
      .putPresigned(`${base}/bucket/uploads/u-1?${SIGNATURE}`, {
        body: Readable.from([Buffer.alloc(10), Buffer.alloc(10)]),
        contentLength: 15,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as Error).message).toContain('did not deliver exactly Content-Length bytes');
  });

  it('reports storage refusing an upload before reading its body as the refusal, not as a broken connection', async () => {
    const base = await serve((_req, res) => {
      const payload = '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>';
      res.writeHead(403, { 'content-type': 'application/xml', 'content-length': String(payload.length), connection: 'close' });
      res.end(payload);
    });
    let sent = 0;
    async function* large() {
      for (let i = 0; i < 256; i++) {
        sent += 64 * 1024;
        yield Buffer.alloc(64 * 1024);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    const err = await client(base)
      .putPresigned(`${base}/bucket/uploads/u-1?${SIGNATURE}`, { body: Readable.from(large()), contentLength: 256 * 64 * 1024 })
      .catch((e: unknown) => e);
    expect(isExpiredLinkError(err)).toBe(true);
    expect((err as Error).message).toContain('answered 403 "AccessDenied: Request has expired"');
    expect(sent).toBeLessThan(256 * 64 * 1024);
  });

  it('rejects with the abort reason and sends nothing when the signal has already fired', async () => {
    const base = await serve((_req, res) => res.end());
    const controller = new AbortController();
    const reason = new TransportError('stopped on purpose', TRANSPORT_ERROR_CODES.headersTimeout);
    controller.abort(reason);
    await expect(sendRequest({ method: 'GET', url: `${base}/x`, headers: {}, signal: controller.signal })).rejects.toBe(reason);
    expect(connections).toBe(0);
  });
});
