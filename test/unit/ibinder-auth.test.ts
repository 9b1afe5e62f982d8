import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpIBinderClient, type HttpIBinderClientOptions } from '../../shared/connectors/ibinder/client/client.js';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { IBinderApiError, IBinderError } from '../../shared/connectors/ibinder/client/errors.js';
import { logger } from '../../shared/observability/logger.js';
import { startHttpStubServer, type HttpStubServer, type RecordedRequest } from '../helpers/http-stub-server.js';

const CLIENT_SECRET = 'client-secret-must-not-leak';
const TOKEN_PREFIX = 'bearer-token-must-not-leak-';

let stub: HttpStubServer;
let clock: number;
let sleeps: number[];

beforeEach(async () => {
  stub = await startHttpStubServer();
  clock = 1_700_000_000_000;
  sleeps = [];
});
afterEach(async () => {
  await stub.close();
});

function options(overrides: Partial<HttpIBinderClientOptions> = {}): HttpIBinderClientOptions {
  return {
    apiBaseUrl: `${stub.url}/api`,
    tokenUrl: `${stub.url}/connect/token`,
    tenantId: 'org-123',
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: CLIENT_SECRET }),
    now: () => clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    random: () => 0.5,
    tokenCache: new TokenCache(),
    ...overrides,
  };
}

function client(overrides: Partial<HttpIBinderClientOptions> = {}): HttpIBinderClient {
  return new HttpIBinderClient(options(overrides));
}

/** Issues access tokens numbered from 1, each valid for `expiresIn` seconds. */
function issueTokens(expiresIn = 3600): void {
  let issued = 0;
  stub.route('POST', '/connect/token', () => ({
    json: { access_token: `${TOKEN_PREFIX}${++issued}`, expires_in: expiresIn, token_type: 'Bearer' },
  }));
}

function bindersOk(): void {
  stub.route('GET', '/api/binders', { json: [{ id: 'AB12CD34E', name: 'Site A' }] });
}

const tokenRequests = (): RecordedRequest[] => stub.requestsTo('POST', '/connect/token');

describe('OAuth client credentials', () => {
  it('posts the form fields the reference names and sends the token as a bearer', async () => {
    issueTokens();
    bindersOk();
    await client().listBinders();

    const [tokenRequest] = tokenRequests();
    expect(tokenRequest?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(tokenRequest?.body.toString('utf8'));
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: CLIENT_SECRET,
      scope: 'ibinder_public',
    });
    expect(tokenRequest?.headers['x-ibinder-tenantid']).toBeUndefined();
    const [apiRequest] = stub.requestsTo('GET', '/api/binders');
    expect(apiRequest?.headers.authorization).toBe(`Bearer ${TOKEN_PREFIX}1`);
  });

  it('reuses the token until expires_in minus the margin, then fetches a new one', async () => {
    issueTokens(120);
    bindersOk();
    const c = client({ tokenExpiryMarginSeconds: 30 });
    await c.listBinders();
    clock += 89_000;
    await c.listBinders();
    expect(tokenRequests()).toHaveLength(1);
    clock += 2_000; // 91 s after the request: past 120 - 30
    await c.listBinders();
    expect(tokenRequests()).toHaveLength(2);
    expect(stub.requestsTo('GET', '/api/binders').map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}2`,
    ]);
  });

  it('applies a 60 s margin by default', async () => {
    issueTokens(3600);
    bindersOk();
    const c = client();
    await c.listBinders();
    clock += 3_539_000;
    await c.listBinders();
    expect(tokenRequests()).toHaveLength(1);
    clock += 2_000;
    await c.listBinders();
    expect(tokenRequests()).toHaveLength(2);
  });

  it('shares one in-flight token request between concurrent calls', async () => {
    issueTokens();
    bindersOk();
    const c = client();
    await Promise.all([c.listBinders(), c.listBinders(), c.listBinders(), c.listBinders(), c.listBinders()]);
    expect(tokenRequests()).toHaveLength(1);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(5);
  });

  it('shares tokens between clients of one process through a common cache (warm Lambda)', async () => {
    issueTokens();
    bindersOk();
    const cache = new TokenCache();
    await client({ tokenCache: cache }).listBinders();
    await client({ tokenCache: cache }).listBinders();
    expect(tokenRequests()).toHaveLength(1);
  });

  it('shares tokens through the process-wide cache when no cache is given', async () => {
    issueTokens();
    bindersOk();
    // The stub's port makes the token URL, and so the cache key, unique to this test.
    const { tokenCache: _perTestCache, ...withProcessCache } = options();
    await new HttpIBinderClient(withProcessCache).listBinders();
    await new HttpIBinderClient(withProcessCache).listBinders();
    expect(tokenRequests()).toHaveLength(1);
  });

  it('refreshes the token once and repeats the call once after a 401', async () => {
    issueTokens();
    stub.route('GET', '/api/binders', (req) =>
      req.headers.authorization === `Bearer ${TOKEN_PREFIX}1`
        ? { status: 401, json: { type: 'about:blank', title: 'Unauthorized', status: 401 } }
        : { json: [{ id: 'AB12CD34E', name: 'Site A' }] },
    );
    const binders = await client().listBinders();
    expect(binders).toEqual([{ id: 'AB12CD34E', name: 'Site A' }]);
    expect(tokenRequests()).toHaveLength(2);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });

  it('gives up with an auth error that says what to check when the fresh token is refused too', async () => {
    issueTokens();
    stub.route('GET', '/api/binders', { status: 401, json: { type: 'about:blank', title: 'Unauthorized', status: 401 } });
    const err = await client()
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    const apiErr = err as IBinderApiError;
    expect(apiErr.kind).toBe('auth');
    expect(apiErr.status).toBe(401);
    expect(apiErr.message).toContain('GET /binders answered 401');
    expect(apiErr.message).toContain('client id and secret');
    expect(apiErr.message).toContain('API clients are enabled for the organisation');
    expect(apiErr.message).not.toContain(TOKEN_PREFIX);
    expect(apiErr.message).not.toContain(CLIENT_SECRET);
    expect(tokenRequests()).toHaveLength(2);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(2);
  });

  it('turns a refused token request into an auth error without the secret', async () => {
    stub.route('POST', '/connect/token', { status: 400, json: { error: 'invalid_client' } });
    const warn = vi.spyOn(logger, 'warn');
    const err = await client()
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    const apiErr = err as IBinderApiError;
    expect(apiErr.kind).toBe('auth');
    expect(apiErr.message).toContain('token endpoint POST /connect/token answered 400 "invalid_client"');
    expect(apiErr.message).toContain('client id and secret');
    expect(apiErr.message).not.toContain(CLIENT_SECRET);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(0);
    expect(tokenRequests()).toHaveLength(1); // not retried: a wrong secret stays wrong
    expect(warn).not.toHaveBeenCalled();
  });

  it('retries a token request that failed transiently', async () => {
    let calls = 0;
    stub.route('POST', '/connect/token', () =>
      ++calls === 1 ? { status: 503, text: 'busy' } : { json: { access_token: `${TOKEN_PREFIX}1`, expires_in: 3600 } },
    );
    bindersOk();
    await client().listBinders();
    expect(tokenRequests()).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it('reports a credentials provider failure as an auth error', async () => {
    bindersOk();
    const err = await client({ credentials: () => Promise.reject(new Error('secret "ibinder/dev" is missing clientSecret')) })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderError);
    expect((err as IBinderError).kind).toBe('auth');
    expect((err as Error).message).toContain('secret "ibinder/dev" is missing clientSecret');
    expect(stub.requests).toHaveLength(0);
  });
});
