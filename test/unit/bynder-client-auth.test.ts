import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { parseBynderSecret } from '../../shared/connectors/bynder/client/credentials.js';
import { BynderApiError, BynderError } from '../../shared/connectors/bynder/client/errors.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import { startHttpStubServer, type HttpStubServer, type RecordedRequest } from '../helpers/http-stub-server.js';

const CLIENT_SECRET = 'bynder-secret-must-not-leak';
const TOKEN_PREFIX = 'bynder-token-must-not-leak-';
const TOKEN_PATH = '/v6/authentication/oauth2/token';
const BRANDS = '/api/v4/brands/';

let stub: HttpStubServer;
let clock: number;

beforeEach(async () => {
  stub = await startHttpStubServer();
  clock = 1_800_000_000_000;
});
afterEach(async () => {
  await stub.close();
});

function client(
  overrides: Partial<HttpBynderClientOptions> = {},
  config: Partial<HttpBynderClientOptions['config']> = {},
): HttpBynderClient {
  const now = () => clock;
  const sleep = (ms: number) => {
    clock += ms;
    return Promise.resolve();
  };
  return new HttpBynderClient({
    config: {
      portalUrl: stub.url,
      scopes: 'asset:read asset:write meta.assetbank:read',
      uploadFlow: 'file-service',
      fileServicePaths: 'sdk',
      requestsPerSecond: 1000,
      throttlePauseSeconds: 330,
      ...config,
    },
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: CLIENT_SECRET }),
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep }),
    now,
    sleep,
    random: () => 0.5,
    ...overrides,
  });
}

/** Issues tokens numbered from 1, each valid for `expiresIn` seconds. */
function issueTokens(expiresIn: number | string = 3600): void {
  let issued = 0;
  stub.route('POST', TOKEN_PATH, () => ({
    json: { access_token: `${TOKEN_PREFIX}${++issued}`, token_type: 'bearer', expires_in: expiresIn },
  }));
}

const tokenRequests = (): RecordedRequest[] => stub.requestsTo('POST', TOKEN_PATH);
const brandsOk = () => stub.route('GET', BRANDS, { json: [{ id: 'b-1', name: 'Brand', subBrands: [] }] });

describe('client credentials', () => {
  it('asks the default token URL with id, secret and scope in the form body, and sends the token as a bearer', async () => {
    issueTokens();
    brandsOk();
    await client().listBrands();
    const [tokenRequest] = tokenRequests();
    const form = new URLSearchParams(tokenRequest!.body.toString());
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'client-1',
      client_secret: CLIENT_SECRET,
      scope: 'asset:read asset:write meta.assetbank:read',
    });
    expect(tokenRequest!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(stub.requestsTo('GET', BRANDS)[0]!.headers.authorization).toBe(`Bearer ${TOKEN_PREFIX}1`);
  });

  it('uses a configured token URL', async () => {
    stub.route('POST', '/v6/authentication/oauth2/token/client-credentials', { json: { access_token: 'outline-token', expires_in: 3600 } });
    brandsOk();
    const configured = client({}, { tokenUrl: `${stub.url}/v6/authentication/oauth2/token/client-credentials` });
    await configured.listBrands();
    expect(stub.requestsTo('GET', BRANDS)[0]!.headers.authorization).toBe('Bearer outline-token');
    expect(tokenRequests()).toHaveLength(0);
  });

  it('caches the token for expires_in minus the margin, then fetches a new one with client credentials', async () => {
    issueTokens(3600);
    brandsOk();
    const cache = new BynderTokenCache();
    await client({ tokenCache: cache }).listBrands();
    await client({ tokenCache: cache }).listBrands();
    expect(tokenRequests()).toHaveLength(1);
    clock += (3600 - 60) * 1000 - 1;
    await client({ tokenCache: cache }).listBrands();
    expect(tokenRequests()).toHaveLength(1);
    clock += 1;
    await client({ tokenCache: cache }).listBrands();
    expect(tokenRequests()).toHaveLength(2);
    expect(new URLSearchParams(tokenRequests()[1]!.body.toString()).get('grant_type')).toBe('client_credentials');
    expect(stub.requestsTo('GET', BRANDS).at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN_PREFIX}2`);
  });

  it('reads expires_in sent as a string', async () => {
    issueTokens('120');
    brandsOk();
    const c = client();
    await c.listBrands();
    clock += 61_000;
    await c.listBrands();
    expect(tokenRequests()).toHaveLength(2);
  });

  it('shares one in-flight token request between concurrent calls', async () => {
    issueTokens();
    brandsOk();
    const c = client();
    await Promise.all([c.listBrands(), c.listBrands(), c.listBrands()]);
    expect(tokenRequests()).toHaveLength(1);
    expect(stub.requestsTo('GET', BRANDS)).toHaveLength(3);
  });

  it('on a 401 fetches a new token and retries the call once', async () => {
    issueTokens();
    stub.route('GET', BRANDS, (req) =>
      req.headers.authorization === `Bearer ${TOKEN_PREFIX}1`
        ? { status: 401, json: { message: 'Token expired', statuscode: '401' } }
        : { json: [{ id: 'b-1', name: 'Brand' }] },
    );
    const brands = await client().listBrands();
    expect(brands).toEqual([{ id: 'b-1', name: 'Brand', subBrands: [] }]);
    expect(tokenRequests()).toHaveLength(2);
    expect(stub.requestsTo('GET', BRANDS).map((r) => r.headers.authorization)).toEqual([
      `Bearer ${TOKEN_PREFIX}1`,
      `Bearer ${TOKEN_PREFIX}2`,
    ]);
  });

  it('a second 401 is an auth error after exactly one retry, without the token or secret in the message', async () => {
    issueTokens();
    stub.route('GET', BRANDS, { status: 401, json: { message: 'Unauthorized', statuscode: '401' } });
    const err = await client()
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderApiError);
    expect(err).toMatchObject({ kind: 'auth', status: 401, operator: true, request: { method: 'GET', path: BRANDS } });
    expect(stub.requestsTo('GET', BRANDS)).toHaveLength(2);
    expect(tokenRequests()).toHaveLength(2);
    const text = `${(err as Error).message} ${JSON.stringify(err)}`;
    expect(text).not.toContain(TOKEN_PREFIX);
    expect(text).not.toContain(CLIENT_SECRET);
    expect((err as Error).message).toContain('"Unauthorized"');
  });
});

describe('permanent token', () => {
  it('is sent as is, with no token request; a 401 is not retried', async () => {
    issueTokens();
    let calls = 0;
    stub.route('GET', BRANDS, () => (++calls === 1 ? { json: [] } : { status: 401, json: { message: 'Unauthorized' } }));
    const c = client({ credentials: () => Promise.resolve({ permanentToken: 'permanent-1' }) });
    await c.listBrands();
    const err = await c.listBrands().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 401 });
    expect(tokenRequests()).toHaveLength(0);
    expect(stub.requestsTo('GET', BRANDS).map((r) => r.headers.authorization)).toEqual(['Bearer permanent-1', 'Bearer permanent-1']);
  });
});

describe('token errors', () => {
  it('an OAuth error body is an auth error quoting error and description', async () => {
    stub.route('POST', TOKEN_PATH, { status: 400, json: { error: 'invalid_client', error_description: 'Client authentication failed' } });
    brandsOk();
    const err = await client()
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 400, bynderMessage: 'invalid_client: Client authentication failed', operator: true });
    expect(err).toMatchObject({ request: { method: 'POST', path: TOKEN_PATH } });
    expect((err as Error).message).not.toContain(CLIENT_SECRET);
    expect(stub.requestsTo('GET', BRANDS)).toHaveLength(0);
  });

  it("Bynder's own {message, statuscode} body is an auth error quoting the message", async () => {
    stub.route('POST', TOKEN_PATH, { status: 401, json: { message: 'Invalid client credentials', statuscode: '401' } });
    const err = await client()
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'auth', status: 401, bynderMessage: 'Invalid client credentials' });
  });

  it('a 2xx without access_token is refused, whatever else it says', async () => {
    stub.route('POST', TOKEN_PATH, { status: 200, json: { error: 'invalid_scope' } });
    const err = await client()
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderApiError);
    expect(err).toMatchObject({ kind: 'auth', status: 200, bynderMessage: 'invalid_scope' });
  });

  it('a 2xx with an access_token succeeds even when it carries an error field', async () => {
    stub.route('POST', TOKEN_PATH, { status: 200, json: { access_token: 'odd-but-fine', error: '', expires_in: 3600 } });
    brandsOk();
    await client().listBrands();
    expect(stub.requestsTo('GET', BRANDS)[0]!.headers.authorization).toBe('Bearer odd-but-fine');
  });

  it('a token endpoint 5xx is transient and retried, even before a save', async () => {
    let calls = 0;
    stub.route('POST', TOKEN_PATH, () =>
      ++calls === 1 ? { status: 503, text: 'busy' } : { json: { access_token: 't', expires_in: 3600 } },
    );
    stub.route('POST', '/api/v4/media/save/imp-1', { status: 201, json: { mediaid: 'm-1' } });
    const saved = await client().saveAsNewAsset({ importId: 'imp-1', brandId: 'b-1', name: 'n', metaproperties: {} });
    expect(saved.mediaId).toBe('m-1');
    expect(tokenRequests()).toHaveLength(2);
  });

  it('a credentials provider failure is an auth error', async () => {
    const err = await client({ credentials: () => Promise.reject(new Error('secret not found')) })
      .listBrands()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderError);
    expect(err).toMatchObject({ kind: 'auth' });
  });
});

describe('parseBynderSecret', () => {
  it('reads client credentials or a permanent token', () => {
    expect(parseBynderSecret('s', '{"clientId":"a","clientSecret":"b"}')).toEqual({ clientId: 'a', clientSecret: 'b' });
    expect(parseBynderSecret('s', '{"permanentToken":"p"}')).toEqual({ permanentToken: 'p' });
  });

  it('names the secret and the fields, never a value', () => {
    expect(() => parseBynderSecret('bynder/dev', '{"clientId":"a","clientSecret":""}')).toThrow(
      /bynder\/dev.*fields present: clientId, clientSecret/,
    );
    expect(() => parseBynderSecret('bynder/dev', 'not json topsecret')).toThrow(/not valid JSON/);
    expect(() => parseBynderSecret('bynder/dev', 'not json topsecret')).not.toThrow(/topsecret/);
    expect(() => parseBynderSecret('bynder/dev', undefined)).toThrow(/no string value/);
  });
});
