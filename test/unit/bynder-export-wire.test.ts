/**
 * The Bynder export library through the real HTTP client, against a scripted server on
 * loopback: what goes on the wire for the change listing (frozen whole-second bounds, order,
 * page, total), the versions call, the download location per item, and the storage GET, which
 * carries no Authorization header and whose expiry (403) is answered with a fresh location.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient } from '../../shared/connectors/bynder/client/client.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import { listChangedAssets, nextBookmark } from '../../shared/connectors/bynder/export/changes.js';
import { openBynderVersion } from '../../shared/connectors/bynder/export/open-version.js';
import { newVersionsOf } from '../../shared/connectors/bynder/export/versions.js';
import { type HttpStubServer, startHttpStubServer } from '../helpers/http-stub-server.js';

const TOKEN_PATH = '/v6/authentication/oauth2/token';
const ASSET = '00000000-0000-0000-0000000000000001';

let stub: HttpStubServer;
let clock: number;
const now = () => clock;
const sleep = (ms: number) => {
  clock += ms;
  return Promise.resolve();
};

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', TOKEN_PATH, { json: { access_token: 'token-1', expires_in: 3600 } });
  clock = 1_800_000_000_000;
});
afterEach(async () => {
  await stub.close();
});

function client(): HttpBynderClient {
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
  });
}

describe('the Bynder export on the wire', () => {
  it('lists, reads versions and downloads as the reference says, with no bearer token to storage', async () => {
    stub.route('GET', '/api/v4/media/', {
      json: { total: { count: 1 }, media: [{ id: ASSET, name: 'Plan', brandId: 'b-1', dateModified: '2026-11-02T10:00:00Z', archive: 0 }] },
    });
    stub.route('GET', `/api/v4/media/${ASSET}/`, {
      json: {
        id: ASSET,
        name: 'Plan',
        brandId: 'b-1',
        dateModified: '2026-11-02T10:00:00Z',
        archive: '0',
        mediaItems: [{ id: 'item-1', fileName: 'plan.pdf', version: 1, active: 1, size: 5 }],
      },
    });
    let locations = 0;
    stub.route('GET', `/api/v4/media/${ASSET}/download/item-1/`, () => ({
      json: { s3_file: `${stub.url}/s3/${++locations}/plan.pdf?X-Amz-Signature=SIG-${locations}` },
    }));
    stub.route('GET', '/s3/1/plan.pdf', {
      status: 403,
      text: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    });
    stub.route('GET', '/s3/2/plan.pdf', { text: 'bytes', headers: { 'content-type': 'application/pdf' } });

    const bynder = client();
    const request = { bookmark: '2026-11-01T23:00:00+01:00', runStartedAt: '2026-11-03T02:00:00.900Z', overlapSeconds: 60 };
    const assets = [];
    let cursor;
    for await (const page of listChangedAssets(bynder, request)) {
      assets.push(...page.assets);
      cursor = page.cursor;
    }
    expect(assets.map((a) => a.id)).toEqual([ASSET]);
    const [list] = stub.requestsTo('GET', '/api/v4/media/');
    expect(Object.fromEntries(list!.query)).toEqual({
      dateModified: '2026-11-01T21:59:00Z',
      dateModifiedTo: '2026-11-03T02:00:00Z',
      orderBy: 'dateModified asc',
      limit: '1000',
      page: '1',
      total: '1',
    });
    expect(nextBookmark(cursor!)).toEqual({ at: '2026-11-02T10:00:00Z', seen: { '2026-11-02T10:00:00Z': [ASSET] } });

    const found = await newVersionsOf(bynder, assets[0]!, async () => new Set(), { portal: 'acme' });
    if (found.deleted) throw new Error('expected versions');
    expect(Object.fromEntries(stub.requestsTo('GET', `/api/v4/media/${ASSET}/`)[0]!.query)).toEqual({ versions: '1' });
    const [job] = found.newVersions;

    const opened = await openBynderVersion(bynder, job!);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('bytes');
    expect(opened.locationsFetched).toBe(2);

    const storage = stub.requests.filter((r) => r.path.startsWith('/s3/'));
    expect(storage.map((r) => r.path)).toEqual(['/s3/1/plan.pdf', '/s3/2/plan.pdf']);
    for (const r of storage) expect(r.headers.authorization).toBeUndefined();
    for (const r of stub.requests.filter((r) => r.path.startsWith('/api/'))) expect(r.headers.authorization).toBe('Bearer token-1');
  });

  it('a 404 "Media not found" on a listed asset is its deletion', async () => {
    stub.route('GET', `/api/v4/media/${ASSET}/`, { status: 404, json: { message: 'Media not found', statuscode: '404' } });
    const found = await newVersionsOf(client(), { id: ASSET, name: 'Plan', brandId: 'b-1' }, async () => new Set(), { portal: 'acme' });
    expect(found).toMatchObject({ deleted: true, assetId: ASSET, brandId: 'b-1' });
  });
});
