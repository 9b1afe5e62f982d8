import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { HttpIBinderClient } from '../../shared/connectors/ibinder/client/client.js';
import {
  currentDeadline,
  DeadlineExceededError,
  deadlineSignal,
  runWithDeadline,
} from '../../shared/connectors/ibinder/client/deadline.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const SIGNATURE = 'X-Amz-Signature=0123456789abcdef-must-not-leak';

describe('current deadline', () => {
  it('is undefined outside runWithDeadline', () => {
    expect(currentDeadline()).toBeUndefined();
  });

  it('follows the async call chain, and concurrent chains keep their own', async () => {
    const seen = async (deadline: number): Promise<(number | undefined)[]> =>
      runWithDeadline(deadline, async () => {
        const before = currentDeadline();
        await new Promise((resolve) => setImmediate(resolve));
        const afterTimer = await new Promise<number | undefined>((resolve) => setTimeout(() => resolve(currentDeadline()), 1));
        return [before, afterTimer];
      });
    const [a, b] = await Promise.all([seen(111), seen(222)]);
    expect(a).toEqual([111, 111]);
    expect(b).toEqual([222, 222]);
    expect(currentDeadline()).toBeUndefined();
  });

  it('gives no signal without a deadline, and an aborted one when the deadline has passed', () => {
    const request = { method: 'GET', path: '/x' };
    expect(deadlineSignal('iBinder GET /x', request, () => 0)).toBeUndefined();
    const passed = runWithDeadline(100, () => deadlineSignal('iBinder GET /x', request, () => 100));
    expect(passed?.signal.aborted).toBe(true);
    expect(passed?.signal.reason).toBeInstanceOf(DeadlineExceededError);
  });
});

describe('presigned transfers at the deadline', () => {
  let stub: HttpStubServer;
  let raw: Server | undefined;

  beforeEach(async () => {
    stub = await startHttpStubServer();
  });
  afterEach(async () => {
    await stub.close();
    if (raw) {
      raw.closeAllConnections();
      await new Promise((resolve) => raw?.close(resolve));
      raw = undefined;
    }
  });

  const client = (apiBaseUrl = `${stub.url}/api`) =>
    new HttpIBinderClient({
      apiBaseUrl,
      tokenUrl: `${stub.url}/connect/token`,
      tenantId: 'org-123',
      credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret-1' }),
      sleep: () => Promise.resolve(),
      tokenCache: new TokenCache(),
    });

  it('aborts a PUT still streaming at the deadline with a transient error naming the path only', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 200 });
    const body = new PassThrough();
    body.write(Buffer.alloc(64 * 1024, 1)); // then nothing more: the upload is still under way
    // The idle timeout (120 s by default) is far away; only the deadline can end this.
    const err = await runWithDeadline(Date.now() + 150, () =>
      client().putPresigned(`${stub.url}/bucket/uploads/u-1?${SIGNATURE}`, { body, contentLength: 10 * 1024 * 1024 }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).toMatchObject({ kind: 'transient', request: { method: 'PUT', path: '/bucket/uploads/u-1' } });
    expect((err as Error).message).toContain("presigned storage PUT /bucket/uploads/u-1 was stopped: the invocation's time ran out");
    expect((err as Error).message).not.toContain('must-not-leak');
    expect(body.destroyed).toBe(true);
  });

  it('leaves a PUT alone without a deadline', async () => {
    stub.route('PUT', '/bucket/uploads/u-1', { status: 200 });
    const body = new PassThrough();
    body.end(Buffer.from('hello'));
    await expect(client().putPresigned(`${stub.url}/bucket/uploads/u-1?${SIGNATURE}`, { body, contentLength: 5 })).resolves.toBeUndefined();
  });

  it('cuts a download body off at the deadline', async () => {
    // Sends the headers and a first chunk of a long body, then stalls.
    raw = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(1024 * 1024), 'content-type': 'application/pdf' });
      res.write(Buffer.alloc(1024, 2));
    });
    await new Promise<void>((resolve) => raw?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/bucket/files/d-1?${SIGNATURE}`;
    const err = await runWithDeadline(Date.now() + 150, async () => {
      const download = await client().openDownload(url);
      return text(download.body);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).toMatchObject({ kind: 'transient', request: { method: 'GET', path: '/bucket/files/d-1' } });
    expect((err as Error).message).not.toContain('must-not-leak');
  });
});
