import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpIBinderClient, type HttpIBinderClientOptions } from '../../shared/connectors/ibinder/client/client.js';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { currentDeadline, DeadlineExceededError, runWithDeadline } from '../../shared/connectors/ibinder/client/deadline.js';
import { IBinderApiError, IBinderNetworkError } from '../../shared/connectors/ibinder/client/errors.js';
import { backoffDelayMs, parseRetryAfter, retryAfterMsOf } from '../../shared/connectors/ibinder/client/retry.js';
import { logger } from '../../shared/observability/logger.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const START = 1_700_000_000_000; // a whole second, so HTTP-dates round-trip exactly

let stub: HttpStubServer;
let clock: number;
let sleeps: number[];
let exchanges: { method: string; path: string; status?: number; attempt: number }[];

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', '/connect/token', { json: { access_token: 'token-1', expires_in: 3600 } });
  clock = START;
  sleeps = [];
  exchanges = [];
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
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    random: () => 0.5,
    tokenCache: new TokenCache(),
    onRequest: (e) =>
      exchanges.push({ method: e.method, path: e.path, attempt: e.attempt, ...(e.status !== undefined ? { status: e.status } : {}) }),
    ...overrides,
  });
}

const BINDERS = [{ id: 'AB12CD34E', name: 'Site A' }];
const problem = (status: number, title: string) => ({ type: 'about:blank', title, status, traceId: `00-trace-${status}` });

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates, and ignores garbage', () => {
    expect(parseRetryAfter('7', START)).toBe(7000);
    expect(parseRetryAfter(new Date(START + 5000).toUTCString(), START)).toBe(5000);
    expect(parseRetryAfter(new Date(START - 5000).toUTCString(), START)).toBe(0);
    expect(parseRetryAfter('soon', START)).toBeUndefined();
    expect(parseRetryAfter(undefined, START)).toBeUndefined();
  });
});

describe('backoffDelayMs (full jitter)', () => {
  it('draws from [0, min(cap, base * 2^(n-1)))', () => {
    const policy = { baseDelayMs: 200, maxDelayMs: 1000 };
    expect(backoffDelayMs(1, { ...policy, random: () => 0.999 })).toBe(199);
    expect(backoffDelayMs(3, { ...policy, random: () => 0.5 })).toBe(400);
    expect(backoffDelayMs(10, { ...policy, random: () => 0.999 })).toBe(999);
    expect(backoffDelayMs(4, { ...policy, random: () => 0 })).toBe(0);
  });
});

describe('retries', () => {
  it('honours Retry-After seconds on a 429, then succeeds, and warns with attempt and wait', async () => {
    stub.route('GET', '/api/binders', [
      { status: 429, headers: { 'retry-after': '7' }, json: problem(429, 'Too Many Requests') },
      { json: BINDERS },
    ]);
    const warn = vi.spyOn(logger, 'warn');
    await expect(client().listBinders()).resolves.toEqual(BINDERS);
    expect(sleeps).toEqual([7000]);
    expect(warn).toHaveBeenCalledWith(
      'iBinder call failed transiently; retrying',
      expect.objectContaining({ path: '/binders', attempt: 1, waitMs: 7000, status: 429 }),
    );
    expect(exchanges.filter((e) => e.path === '/binders').map((e) => e.status)).toEqual([429, 200]);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    stub.route('GET', '/api/binders', [
      { status: 429, headers: { 'retry-after': new Date(START + 3000).toUTCString() } },
      { json: BINDERS },
    ]);
    await client().listBinders();
    expect(sleeps).toEqual([3000]);
  });

  it('never cuts a Retry-After short: longer than the backoff cap it is still waited in full', async () => {
    stub.route('GET', '/api/binders', [{ status: 503, headers: { 'retry-after': '30' } }, { json: BINDERS }]);
    await client({ maxDelayMs: 15_000, maxRetryTimeMs: 60_000 }).listBinders();
    expect(sleeps).toEqual([30_000]);
  });

  it('does not retry earlier than a Retry-After longer than the budget: it throws at once, keeping the wait on the error', async () => {
    stub.route('GET', '/api/binders', [{ status: 503, headers: { 'retry-after': '3600' } }, { json: BINDERS }]);
    const err = await client({ maxDelayMs: 15_000 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, retryAfterMs: 3_600_000 });
    expect(sleeps).toEqual([]);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('waits at least the rate-limit floor after a 429 without Retry-After', async () => {
    stub.route('GET', '/api/binders', [{ status: 429 }, { json: BINDERS }]);
    await client({ rateLimitFloorMs: 2000, random: () => 0 }).listBinders();
    expect(sleeps).toEqual([2000]);
  });

  it('retries a 500 until maxAttempts, with growing jittered waits, then throws the last error', async () => {
    stub.route('GET', '/api/binders', { status: 500, json: problem(500, 'Internal Server Error') });
    const err = await client({ maxAttempts: 4, baseDelayMs: 200 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect((err as IBinderApiError).status).toBe(500);
    expect((err as IBinderApiError).kind).toBe('transient');
    expect((err as IBinderApiError).traceId).toBe('00-trace-500');
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(4);
    expect(sleeps).toEqual([100, 200, 400]); // random 0.5 of 200, 400, 800
  });

  it('retries 408 and 502/503/504', async () => {
    stub.route('GET', '/api/binders', [{ status: 408 }, { status: 502 }, { status: 503 }, { status: 504 }, { json: BINDERS }]);
    await expect(client().listBinders()).resolves.toEqual(BINDERS);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(5);
  });

  it('does not retry a permanent error', async () => {
    stub.route('GET', '/api/binders', { status: 400, json: problem(400, 'Bad Request') });
    await expect(client().listBinders()).rejects.toMatchObject({ status: 400, kind: 'permanent' });
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('stops when the next wait would overrun the time budget', async () => {
    stub.route('GET', '/api/binders', { status: 503 });
    const err = await client({ maxAttempts: 10, maxRetryTimeMs: 1500, baseDelayMs: 400, random: () => 0.999 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503 });
    // waits 399 and 799 fit (1198 ms); the third (1598) would end at 2796 > 1500
    expect(sleeps).toEqual([399, 799]);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(3);
    expect(clock - START).toBeLessThanOrEqual(1500);
  });

  it('does not wait for a Retry-After longer than the budget', async () => {
    stub.route('GET', '/api/binders', { status: 429, headers: { 'retry-after': '30' } });
    const err = await client({ maxRetryTimeMs: 10_000, maxDelayMs: 60_000 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 30_000 });
    expect(sleeps).toEqual([]);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('times a hung request out as a network error and retries it', async () => {
    stub.route('GET', '/api/binders', [{ hang: true }, { json: BINDERS }]);
    await expect(client({ requestTimeoutMs: 150 }).listBinders()).resolves.toEqual(BINDERS);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    expect(exchanges.filter((e) => e.path === '/binders')).toEqual([
      { method: 'GET', path: '/binders', attempt: 1 },
      { method: 'GET', path: '/binders', attempt: 2, status: 200 },
    ]);
  });

  it('reports a request that keeps timing out as a timed-out network error', async () => {
    stub.route('GET', '/api/binders', { hang: true });
    const err = await client({ requestTimeoutMs: 100, maxAttempts: 2 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as IBinderNetworkError).timedOut).toBe(true);
    expect((err as IBinderNetworkError).kind).toBe('transient');
    expect((err as Error).message).toContain('GET /binders got no answer: timed out after 100 ms');
  });

  it('retries a refused connection as a network error', async () => {
    const deadUrl = stub.url;
    await stub.close();
    const err = await client({ apiBaseUrl: `${deadUrl}/api`, tokenUrl: `${deadUrl}/connect/token`, maxAttempts: 3 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderNetworkError);
    expect((err as IBinderNetworkError).timedOut).toBe(false);
    expect((err as Error).message).toContain('connection failed (ECONNREFUSED)');
    expect(exchanges).toHaveLength(3); // the token request, once per attempt, never answered
    stub = await startHttpStubServer(); // for afterEach
  });

  it('retries the search (a read sent as POST) with the same body', async () => {
    stub.route('POST', '/api/documents', [{ status: 503 }, { json: { items: [], totalCount: 0, pageNumber: 2, pageSize: 50 } }]);
    await client().searchDocuments({
      pageNumber: 2,
      pageSize: 50,
      metadataFilters: [{ metadataElementId: 'GLOBAL_BinderId', valueId: 'AB12CD34E' }],
    });
    const calls = stub.requestsTo('POST', '/api/documents');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.body.toString()).toBe(calls[0]?.body.toString());
  });

  it('retries the upload commit, which is idempotent by uploadId', async () => {
    const path = '/api/documents/drives/binders/AB12CD34E/f-1/upload';
    stub.route('POST', path, [{ status: 500 }, { status: 201, json: { id: 'v-1', documentId: 'd-1', version: '1' } }]);
    const version = await client().commitUpload('AB12CD34E', 'f-1', { fileName: 'a.pdf', uploadId: 'u-1', additionalMetadata: [] });
    expect(version.id).toBe('v-1');
    const calls = stub.requestsTo('POST', path);
    expect(calls.map((c) => (JSON.parse(c.body.toString()) as { uploadId: string }).uploadId)).toEqual(['u-1', 'u-1']);
  });
});

describe('retries under the invocation deadline', () => {
  it('does not schedule a retry whose wait would end after the deadline, and throws the last transient error', async () => {
    stub.route('GET', '/api/binders', { status: 503, headers: { 'retry-after': '5' }, json: problem(503, 'Service Unavailable') });
    const err = await runWithDeadline(START + 8000, () => client({ maxAttempts: 10, maxRetryTimeMs: 600_000 }).listBinders()).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IBinderApiError);
    expect(err).toMatchObject({ status: 503, kind: 'transient', traceId: '00-trace-503' });
    // the first wait ends at +5 s (before +8 s); the second would end at +10 s
    expect(sleeps).toEqual([5000]);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(2);
  });

  it('waits a Retry-After that ends before the deadline in full, beyond the per-call budget and the backoff cap', async () => {
    stub.route('GET', '/api/binders', [{ status: 429, headers: { 'retry-after': '90' } }, { json: BINDERS }]);
    const result = await runWithDeadline(START + 120_000, () => client({ maxRetryTimeMs: 60_000, maxDelayMs: 20_000 }).listBinders());
    expect(result).toEqual(BINDERS);
    expect(sleeps).toEqual([90_000]);
  });

  it('does not wait for a Retry-After that ends after the deadline: throws at once with the wait on the error', async () => {
    stub.route('GET', '/api/binders', [{ status: 429, headers: { 'retry-after': '120' } }, { json: BINDERS }]);
    const err = await runWithDeadline(START + 30_000, () => client().listBinders()).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, retryAfterMs: 120_000 });
    expect(retryAfterMsOf(new Error('step failed', { cause: err }))).toBe(120_000);
    expect(sleeps).toEqual([]);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('retries as before without a deadline', async () => {
    stub.route('GET', '/api/binders', [
      { status: 503, headers: { 'retry-after': '5' } },
      { status: 503, headers: { 'retry-after': '5' } },
      { json: BINDERS },
    ]);
    await expect(client().listBinders()).resolves.toEqual(BINDERS);
    expect(currentDeadline()).toBeUndefined();
    expect(sleeps).toEqual([5000, 5000]);
  });

  it('cuts an attempt off at the deadline, well before its own timeout, and does not retry it', async () => {
    stub.route('GET', '/api/binders', { hang: true });
    const err = await runWithDeadline(clock + 100, () => client({ requestTimeoutMs: 30_000 }).listBinders()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err).toMatchObject({ kind: 'transient', timedOut: true, request: { method: 'GET', path: '/binders' } });
    expect((err as Error).message).toContain("iBinder GET /binders was stopped: the invocation's time ran out");
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
    expect(exchanges.filter((e) => e.path === '/binders')).toEqual([{ method: 'GET', path: '/binders', attempt: 1 }]);
    expect(sleeps).toEqual([]);
  });

  it('does not even send when the deadline has already passed', async () => {
    stub.route('GET', '/api/binders', { json: BINDERS });
    const err = await runWithDeadline(clock - 1, () => client().listBinders()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(stub.requests).toHaveLength(0);
  });
});
