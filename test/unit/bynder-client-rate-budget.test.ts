import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { BynderApiError, BynderNetworkError, BynderThrottledError } from '../../shared/connectors/bynder/client/errors.js';
import type { BynderRequestEvent } from '../../shared/connectors/bynder/client/http.js';
import { RateBudget, type ThrottleEvent } from '../../shared/connectors/bynder/client/rate-budget.js';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { bynderRequestMetrics, type CountSink } from '../../shared/connectors/bynder/client/request-metrics.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const TOKEN_PATH = '/v6/authentication/oauth2/token';
const BRANDS = '/api/v4/brands/';

let stub: HttpStubServer;
let clock: number;
let sleeps: number[];

const now = () => clock;
const sleep = (ms: number) => {
  sleeps.push(ms);
  clock += ms;
  return Promise.resolve();
};

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', TOKEN_PATH, { json: { access_token: 'token-1', expires_in: 3600 } });
  clock = 1_800_000_000_000;
  sleeps = [];
});
afterEach(async () => {
  await stub.close();
});

function client(overrides: Partial<HttpBynderClientOptions> = {}): HttpBynderClient {
  return new HttpBynderClient({
    config: {
      portalUrl: stub.url,
      scopes: 'asset:read',
      uploadFlow: 'file-service',
      fileServicePaths: 'sdk',
      requestsPerSecond: 1000,
      throttlePauseSeconds: 330,
    },
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret' }),
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep }),
    now,
    sleep,
    random: () => 0.5,
    ...overrides,
  });
}

describe('RateBudget pacing', () => {
  it('lets a burst of requestsPerSecond through at once, then one request every 1/rate s', async () => {
    const budget = new RateBudget({ requestsPerSecond: 4, throttlePauseMs: 330_000, now, sleep });
    const d = { method: 'GET', path: '/x' };
    for (let i = 0; i < 4; i++) await budget.acquire(d);
    expect(sleeps).toEqual([]);
    await budget.acquire(d);
    await budget.acquire(d);
    expect(sleeps).toEqual([250, 250]);
  });

  it('gives concurrent callers successive slots', async () => {
    const budget = new RateBudget({
      requestsPerSecond: 2,
      throttlePauseMs: 330_000,
      now,
      sleep: (ms) => {
        // Waits without moving the clock: all four callers reserve at the same instant.
        sleeps.push(ms);
        return Promise.resolve();
      },
    });
    const d = { method: 'GET', path: '/x' };
    await Promise.all([budget.acquire(d), budget.acquire(d), budget.acquire(d), budget.acquire(d)]);
    expect(sleeps).toEqual([500, 1000]);
  });

  it('refills after a quiet spell', async () => {
    const budget = new RateBudget({ requestsPerSecond: 2, throttlePauseMs: 330_000, now, sleep });
    const d = { method: 'GET', path: '/x' };
    await budget.acquire(d);
    await budget.acquire(d);
    clock += 10_000;
    await budget.acquire(d);
    await budget.acquire(d);
    expect(sleeps).toEqual([]);
  });

  it('paces the token request too', async () => {
    stub.route('GET', BRANDS, { json: [] });
    const budget = new RateBudget({ requestsPerSecond: 1, throttlePauseMs: 330_000, now, sleep });
    const c = client({ rateBudget: budget });
    await c.listBrands();
    expect(sleeps).toEqual([1000]);
    await c.listBrands();
    expect(sleeps).toEqual([1000, 1000]);
  });
});

describe('429: the portal is blocked', () => {
  it('throws BynderThrottledError with the configured pause, then fails fast without touching the network until the pause is over', async () => {
    const throttled: ThrottleEvent[] = [];
    let calls = 0;
    stub.route('GET', BRANDS, () => (++calls === 1 ? { status: 429, json: { message: 'Too Many Requests' } } : { json: [] }));
    const c = client({ onThrottled: (e) => throttled.push(e) });

    const first = await c.listBrands().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(BynderThrottledError);
    expect(first).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 330_000, failedFast: false });
    const requestsAfter429 = stub.requests.length;

    clock += 329_000;
    const second = await c.getMedia('m-1').catch((e: unknown) => e);
    expect(second).toBeInstanceOf(BynderThrottledError);
    expect(second).toMatchObject({ failedFast: true, retryAfterMs: 1000 });
    // Another client of the same portal shares the budget (here: the same instance handed in).
    expect(stub.requests.length).toBe(requestsAfter429);
    expect(throttled).toEqual([
      { method: 'GET', path: BRANDS, failedFast: false, pauseMs: 330_000 },
      { method: 'GET', path: '/api/v4/media/m-1/', failedFast: true, pauseMs: 1000 },
    ]);

    clock += 1000;
    await expect(c.listBrands()).resolves.toEqual([]);
  });

  it('a 429 from the token endpoint blocks the portal as well', async () => {
    stub.route('POST', TOKEN_PATH, { status: 429, text: '' });
    stub.route('GET', BRANDS, { json: [] });
    const c = client();
    await expect(c.listBrands()).rejects.toMatchObject({ kind: 'throttled', failedFast: false });
    const before = stub.requests.length;
    await expect(c.listBrands()).rejects.toMatchObject({ kind: 'throttled', failedFast: true });
    expect(stub.requests.length).toBe(before);
  });

  it('the process-wide budget is shared by clients of the same portal', async () => {
    stub.route('GET', BRANDS, { status: 429, json: { message: 'Too Many Requests' } });
    const shared = new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep });
    await expect(client({ rateBudget: shared }).listBrands()).rejects.toBeInstanceOf(BynderThrottledError);
    const before = stub.requests.length;
    await expect(client({ rateBudget: shared }).listBrands()).rejects.toMatchObject({ failedFast: true });
    expect(stub.requests.length).toBe(before);
  });
});

describe('transient retries and status mapping', () => {
  it('retries a GET after a 5xx with a bounded backoff', async () => {
    stub.route('GET', BRANDS, [{ status: 502, text: 'bad gateway' }, { status: 500, json: { message: 'oops' } }, { json: [] }]);
    await expect(client().listBrands()).resolves.toEqual([]);
    expect(stub.requestsTo('GET', BRANDS)).toHaveLength(3);
    expect(sleeps).toEqual([125, 250]);
  });

  it('retries a GET after a dropped connection, and gives up after maxAttempts', async () => {
    stub.route('GET', BRANDS, { drop: true });
    const err = await client({ maxAttempts: 3 })
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderNetworkError);
    expect(err).toMatchObject({ kind: 'transient' });
    expect(stub.requestsTo('GET', BRANDS)).toHaveLength(3);
  });

  it('maps statuses to kinds and keeps the correlation id', async () => {
    const cases: [number, unknown, string, boolean][] = [
      [400, { message: 'Bad request', statuscode: '400' }, 'permanent', false],
      [403, { message: 'Forbidden: missing scope' }, 'auth', true],
      [404, { message: 'no Route matched with those values', request_id: 'r-1' }, 'permanent', true],
      [408, {}, 'transient', false],
      [503, {}, 'transient', false],
      [409, {}, 'permanent', false],
    ];
    for (const [status, json, kind, operator] of cases) {
      stub.route('GET', BRANDS, { status, json, headers: { 'x-api-correlation-id': `corr-${status}` } });
      const err = await client({ maxAttempts: 1 })
        .listBrands()
        .catch((e: unknown) => e);
      expect(err, `status ${status}`).toBeInstanceOf(BynderApiError);
      expect(err, `status ${status}`).toMatchObject({ status, kind, operator, correlationId: `corr-${status}` });
      expect((err as Error).message).toContain(`corr-${status}`);
    }
  });

  it('a 2xx body that does not fit is a permanent BynderResponseError', async () => {
    stub.route('GET', BRANDS, { json: { not: 'a list' } });
    await expect(client().listBrands()).rejects.toMatchObject({ name: 'BynderResponseError', kind: 'permanent' });
  });

  it('reports every exchange to onRequest (token and API), without query strings', async () => {
    const events: BynderRequestEvent[] = [];
    stub.route('GET', '/api/v4/media/', { json: [] });
    await client({ onRequest: (e) => events.push(e) }).listMedia({ keyword: 'secret-ish', total: true });
    expect(events.map((e) => [e.endpoint, e.method, e.path, e.status])).toEqual([
      ['token', 'POST', TOKEN_PATH, 200],
      ['api', 'GET', '/api/v4/media/', 200],
    ]);
  });
});

describe('bynderRequestMetrics', () => {
  it('counts API calls, token requests and 429s (not the calls refused during the block)', async () => {
    const added: string[] = [];
    const observers = bynderRequestMetrics({ addMetric: (name: string) => void added.push(name) });
    let calls = 0;
    stub.route('GET', BRANDS, () => (++calls === 2 ? { status: 429, json: { message: 'Too Many Requests' } } : { json: [] }));
    const c = client(observers);
    await c.listBrands();
    await expect(c.listBrands()).rejects.toBeInstanceOf(BynderThrottledError);
    await expect(c.listBrands()).rejects.toMatchObject({ failedFast: true });
    expect(added).toEqual(['BynderTokenRequests', 'BynderApiCalls', 'BynderApiCalls', 'BynderThrottled']);
  });

  it("takes Powertools' Metrics as it is", () => {
    const fits = (metrics: Metrics): CountSink => metrics;
    expect(typeof fits).toBe('function');
  });
});
