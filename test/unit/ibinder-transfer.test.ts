import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpIBinderClient, isExpiredLinkError, type HttpIBinderClientOptions } from '../../shared/connectors/ibinder/client/client.js';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { IBinderApiError, IBinderNetworkError } from '../../shared/connectors/ibinder/client/errors.js';
import { logger } from '../../shared/observability/logger.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const SIGNATURE = 'X-Amz-Signature=0123456789abcdef-must-not-leak';

let stub: HttpStubServer;
let sleeps: number[];

beforeEach(async () => {
  stub = await startHttpStubServer();
  sleeps = [];
});
afterEach(async () => {
  await stub.close();
});

function client(overrides: Partial<HttpIBinderClientOptions> = {}): HttpIBinderClient {
  return new HttpIBinderClient({
    apiBaseUrl: `${stub.url}/api`,
    tokenUrl: `${stub.url}/connect/token`,
    tenantId: 'org-123',
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret-1' }),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    tokenCache: new TokenCache(),
    ...overrides,
  });
}

const presigned = (path: string) => `${stub.url}${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&${SIGNATURE}`;

/**
 * 5 MiB of deterministic bytes in 64 KiB chunks, yielding to the event loop between chunks.
 * Records how many bytes the server had received when the last chunk was produced: a client
 * that buffered the body before sending would leave that at zero.
 */
function generatedBody(): { body: Readable; size: number; sha256: () => string; receivedWhenLastChunkMade: () => number } {
  const chunkSize = 64 * 1024;
  const chunks = 80;
  const hash = createHash('sha256');
  let receivedAtEnd = -1;
  async function* produce() {
    for (let i = 0; i < chunks; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      const chunk = Buffer.alloc(chunkSize, (i * 31) % 251);
      chunk.writeUInt32BE(i, 0);
      hash.update(chunk);
      if (i === chunks - 1) receivedAtEnd = stub.bytesReceived();
      yield chunk;
    }
  }
  return {
    body: Readable.from(produce(), { objectMode: false }),
    size: chunkSize * chunks,
    sha256: () => hash.digest('hex'),
    receivedWhenLastChunkMade: () => receivedAtEnd,
  };
}

describe('putPresigned', () => {
  it('streams the body with Content-Length and without Authorization or tenant header', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 200 });
    const debug = vi.spyOn(logger, 'debug');
    const source = generatedBody();
    await client().putPresigned(presigned('/bucket/uploads/u-1'), {
      body: source.body,
      contentLength: source.size,
      contentType: 'application/pdf',
    });

    const [put] = stub.requestsTo('PUT', '/bucket/uploads/u-1');
    expect(put?.headers['content-length']).toBe(String(5 * 1024 * 1024));
    expect(put?.headers['transfer-encoding']).toBeUndefined();
    expect(put?.headers['content-type']).toBe('application/pdf');
    expect(put?.headers.authorization).toBeUndefined();
    expect(put?.headers['x-ibinder-tenantid']).toBeUndefined();
    expect(put?.query.get('X-Amz-Signature')).toBe('0123456789abcdef-must-not-leak');
    expect(put?.sha256).toBe(source.sha256());
    expect(source.receivedWhenLastChunkMade()).toBeGreaterThan(0);
    expect(stub.requestsTo('POST', '/connect/token')).toHaveLength(0);
    const logged = JSON.stringify(debug.mock.calls);
    expect(logged).toContain('/bucket/uploads/u-1');
    expect(logged).not.toContain('must-not-leak');
  });

  it('is not retried: a 500 is thrown after one attempt', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 500, text: 'InternalError' });
    const err = await client()
      .putPresigned(presigned('/bucket/uploads/u-1'), { body: Readable.from([Buffer.from('hello')]), contentLength: 5 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect(err).toMatchObject({ status: 500, kind: 'transient', request: { method: 'PUT', path: '/bucket/uploads/u-1' } });
    expect(stub.requestsTo('PUT', '/bucket/uploads/u-1')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('reports an expired link as a recognisable error without the signature', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', {
      status: 403,
      headers: { 'content-type': 'application/xml' },
      text: `<Error><Code>AccessDenied</Code><Message>Request has expired</Message><StringToSign>${SIGNATURE}</StringToSign></Error>`,
    });
    const logs = (['debug', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(logger, level));
    const err = await client()
      .putPresigned(presigned('/bucket/uploads/u-1'), { body: Readable.from([Buffer.from('hello')]), contentLength: 5 })
      .catch((e: unknown) => e);
    expect(isExpiredLinkError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain('presigned storage PUT /bucket/uploads/u-1 answered 403 "AccessDenied: Request has expired"');
    expect(message).toContain('request a new link');
    const logged = JSON.stringify(logs.flatMap((s) => s.mock.calls));
    for (const t of [message, logged]) {
      expect(t).not.toContain('X-Amz');
      expect(t).not.toContain('must-not-leak');
    }
  });

  it('fails as a network error when the body is shorter than its Content-Length', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 200 });
    const err = await client()
      .putPresigned(presigned('/bucket/uploads/u-1'), { body: Readable.from([Buffer.from('short')]), contentLength: 100 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as Error).message).toContain('did not deliver exactly Content-Length bytes');
  });

  it('aborts a transfer that stops moving, after the idle timeout', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 200 });
    const stalled = new PassThrough();
    stalled.write(Buffer.alloc(1024));
    const err = await client({ transferIdleTimeoutMs: 100 })
      .putPresigned(presigned('/bucket/uploads/u-1'), { body: stalled, contentLength: 10_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as IBinderNetworkError).timedOut).toBe(true);
    expect((err as Error).message).toContain('presigned storage PUT /bucket/uploads/u-1 made no progress for 100 ms');
    expect(stalled.destroyed).toBe(true);
  });
});

describe('openDownload', () => {
  it('opens the URL without Authorization or tenant header and streams the body', async () => {
    stub.route('GET', '/bucket/files/v-1', { text: 'file content', headers: { 'content-type': 'application/pdf' } });
    const download = await client().openDownload(presigned('/bucket/files/v-1'));
    expect(download.contentLength).toBe(12);
    expect(download.contentType).toBe('application/pdf');
    expect(await text(download.body)).toBe('file content');
    const [get] = stub.requestsTo('GET', '/bucket/files/v-1');
    expect(get?.headers.authorization).toBeUndefined();
    expect(get?.headers['x-ibinder-tenantid']).toBeUndefined();
    expect(stub.requestsTo('POST', '/connect/token')).toHaveLength(0);
  });

  it.each([403, 400, 410])('recognises a %i as an expired link, not retried', async (status) => {
    stub.route('GET', '/bucket/files/v-1', {
      status,
      text: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    });
    const err = await client()
      .openDownload(presigned('/bucket/files/v-1'))
      .catch((e: unknown) => e);
    expect(isExpiredLinkError(err)).toBe(true);
    expect(err).toMatchObject({ status, kind: 'permanent' });
    expect((err as Error).message).not.toContain('X-Amz');
    expect(stub.requestsTo('GET', '/bucket/files/v-1')).toHaveLength(1);
  });

  it('does not take an API refusal for an expired link', async () => {
    stub.route('POST', '/connect/token', { json: { access_token: 't', expires_in: 3600 } });
    stub.route('GET', '/api/binders', { status: 403, json: { title: 'Forbidden', status: 403 } });
    const err = await client()
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect(isExpiredLinkError(err)).toBe(false);
  });

  it('retries opening after a storage 503', async () => {
    stub.route('GET', '/bucket/files/v-1', [{ status: 503, text: 'SlowDown' }, { text: 'ok' }]);
    const download = await client().openDownload(presigned('/bucket/files/v-1'));
    expect(await text(download.body)).toBe('ok');
    expect(stub.requestsTo('GET', '/bucket/files/v-1')).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });
});
