/**
 * The destination's storage transfer retried within the delivery: against an in-test storage
 * server (the stub) that fails a given number of times and then takes the file, through the
 * real HTTP client. Each attempt must send the whole file from a fresh stream; a refused URL is
 * replaced by a new presign whose upload id the caller hears of before any byte goes to it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IBinderDestination } from '../../shared/connectors/ibinder/destination.js';
import type { PreparedUpload, TransferBody } from '../../shared/connectors/ibinder/destination-types.js';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { HttpIBinderClient } from '../../shared/connectors/ibinder/client/client.js';
import { DeadlineExceededError, runWithDeadline } from '../../shared/connectors/ibinder/client/deadline.js';
import { PresignedStorageError } from '../../shared/connectors/ibinder/client/http.js';
import { startHttpStubServer, type HttpStubServer, type StubReply } from '../helpers/http-stub-server.js';

const SIGNATURE = 'X-Amz-Signature=feedface-must-not-leak';
const CONTENT = Buffer.from('%PDF-1.7 a small drawing, sent whole on every attempt\n'.repeat(200));
const CONTENT_SHA256 = createHash('sha256').update(CONTENT).digest('hex');

let stub: HttpStubServer;
let sleeps: number[];
let clock: number;

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', '/connect/token', { json: { access_token: 'token-1', expires_in: 3600 } });
  sleeps = [];
  clock = 1_700_000_000_000;
});
afterEach(async () => {
  await stub.close();
});

const storagePath = (uploadId: string) => `/storage/uploads/${uploadId}`;
const presignedUrl = (uploadId: string) => `${stub.url}${storagePath(uploadId)}?X-Amz-Algorithm=AWS4-HMAC-SHA256&${SIGNATURE}`;

/** Presign answers upload-1, upload-2, ... in turn. */
function servePresigns(): void {
  let n = 0;
  stub.route('GET', '/api/documents/uploads/personalstorage/presignedupload', () => {
    n += 1;
    return { json: { presignedUrl: presignedUrl(`upload-${n}`), uploadId: `upload-${n}` } };
  });
}

function destination(retry: { maxAttempts?: number } = {}): IBinderDestination {
  const sleep = (ms: number) => {
    sleeps.push(ms);
    clock += ms;
    return Promise.resolve();
  };
  const client = new HttpIBinderClient({
    apiBaseUrl: `${stub.url}/api`,
    tokenUrl: `${stub.url}/connect/token`,
    tenantId: 'org-123',
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret-1' }),
    now: () => clock,
    sleep,
    random: () => 0.5,
    tokenCache: new TokenCache(),
  });
  return new IBinderDestination(client, { retry: { now: () => clock, sleep, random: () => 0.5, ...retry } });
}

/** The file as a body factory that counts how often it was opened. */
function fileBody(): { body: TransferBody; opened: () => number } {
  let opened = 0;
  return {
    body: {
      openBody: () => {
        opened += 1;
        return Promise.resolve(Readable.from([CONTENT.subarray(0, 4000), CONTENT.subarray(4000)]));
      },
      contentLength: CONTENT.length,
      contentType: 'application/pdf',
    },
    opened: () => opened,
  };
}

describe('IBinderDestination.transfer: storage faults retried within the delivery', () => {
  it.each<[string, StubReply]>([
    ['503', { status: 503, text: '<Error><Code>SlowDown</Code></Error>' }],
    ['429', { status: 429 }],
    ['500', { status: 500 }],
    ['a dropped connection', { drop: true }],
  ])('sends the whole file again from a fresh stream after %s, twice, then succeeds', async (_name, fault) => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), [fault, fault, { status: 200 }]);
    const upload: PreparedUpload = { uploadId: 'upload-1', uploadUrl: presignedUrl('upload-1') };
    const file = fileBody();
    const newUploads: string[] = [];
    await destination().transfer(upload, file.body, { onNewUpload: (u) => Promise.resolve(void newUploads.push(u.uploadId)) });
    const puts = stub.requestsTo('PUT', storagePath('upload-1'));
    expect(puts).toHaveLength(3);
    for (const put of puts) {
      expect(put.sha256).toBe(CONTENT_SHA256);
      expect(put.headers.authorization).toBeUndefined();
    }
    expect(file.opened()).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(newUploads).toEqual([]);
  });

  it('replaces a refused (expired or used) URL with a new presign, announced before any byte goes to it', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), {
      status: 403,
      text: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    });
    const events: string[] = [];
    stub.route('PUT', storagePath('upload-2'), () => {
      events.push('PUT upload-2');
      return { status: 200 };
    });
    const dest = destination();
    const first = await dest.prepareUpload();
    const file = fileBody();
    await dest.transfer(first, file.body, {
      onNewUpload: (u) => {
        events.push(`new upload ${u.uploadId}`);
        return Promise.resolve();
      },
    });
    expect(events).toEqual(['new upload upload-2', 'PUT upload-2']);
    expect(stub.requestsTo('PUT', storagePath('upload-2'))[0]?.sha256).toBe(CONTENT_SHA256);
    expect(file.opened()).toBe(2);
  });

  it('stops without sending when the caller cannot record the new upload (claim lost)', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), { status: 403 });
    stub.route('PUT', storagePath('upload-2'), { status: 200 });
    const dest = destination();
    const first = await dest.prepareUpload();
    const lost = new Error('claim lost');
    await expect(dest.transfer(first, fileBody().body, { onNewUpload: () => Promise.reject(lost) })).rejects.toBe(lost);
    expect(stub.requestsTo('PUT', storagePath('upload-2'))).toHaveLength(0);
  });

  it('gives up after maxAttempts and throws the last storage error, without the signature', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), { status: 503 });
    const err = await destination({ maxAttempts: 3 })
      .transfer({ uploadId: 'upload-1', uploadUrl: presignedUrl('upload-1') }, fileBody().body)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PresignedStorageError);
    expect(err).toMatchObject({ status: 503, kind: 'transient' });
    expect((err as Error).message).not.toContain(SIGNATURE);
    expect(stub.requestsTo('PUT', storagePath('upload-1'))).toHaveLength(3);
  });

  it('does not retry a storage refusal that no new URL cures (413)', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), { status: 413 });
    const err = await destination()
      .transfer({ uploadId: 'upload-1', uploadUrl: presignedUrl('upload-1') }, fileBody().body)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 413, kind: 'permanent' });
    expect(stub.requestsTo('PUT', storagePath('upload-1'))).toHaveLength(1);
  });

  it('schedules no retry past the invocation deadline', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), [{ status: 503, headers: { 'retry-after': '20' } }, { status: 200 }]);
    const err = await runWithDeadline(clock + 10_000, () =>
      destination().transfer({ uploadId: 'upload-1', uploadUrl: presignedUrl('upload-1') }, fileBody().body),
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, retryAfterMs: 20_000 });
    expect(sleeps).toEqual([]);
    expect(stub.requestsTo('PUT', storagePath('upload-1'))).toHaveLength(1);
  });

  it('is cut off at the deadline mid-transfer and not retried', async () => {
    servePresigns();
    stub.route('PUT', storagePath('upload-1'), { hang: true });
    const err = await runWithDeadline(Date.now() + 200, () => {
      clock = Date.now();
      return destination().transfer({ uploadId: 'upload-1', uploadUrl: presignedUrl('upload-1') }, fileBody().body);
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(stub.requestsTo('PUT', storagePath('upload-1')).length).toBeLessThanOrEqual(1);
  });
});
