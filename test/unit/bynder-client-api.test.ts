import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { BynderError, BynderNetworkError } from '../../shared/connectors/bynder/client/errors.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import { runWithDeadline } from '../../shared/runtime/deadline.js';
import { startHttpStubServer, type HttpStubServer, type RecordedRequest } from '../helpers/http-stub-server.js';

const TOKEN_PATH = '/v6/authentication/oauth2/token';
const MEDIA = '/api/v4/media/';

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
      scopes: 'asset:read asset:write meta.assetbank:read',
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

const form = (r: RecordedRequest) => Object.fromEntries(new URLSearchParams(r.body.toString()));

const wireAsset = {
  id: '00000000-0000-0000-0000000000000001',
  name: 'Report',
  description: 'Q1',
  brandId: 'b-1',
  type: 'document',
  extension: ['pdf'],
  fileSize: 1234,
  dateCreated: '2026-01-01T10:00:00Z',
  dateModified: '2026-01-02T10:00:00Z',
  tags: ['a', 'b'],
  propertyOptions: ['o-1', 'o-2'],
  property_Colours: ['red', 'blue'],
  property_Region: 'north',
  archive: 0,
  limited: '1',
  isPublic: true,
  thumbnails: { mini: 'https://example/t.png' },
  somethingNew: { nested: true },
};

describe('listMedia', () => {
  it('sends the query with whole-second UTC dates and total=1, and reads a plain array', async () => {
    stub.route('GET', MEDIA, { json: [wireAsset] });
    const page = await client().listMedia({
      brandId: 'b-1',
      dateModified: '2026-01-02T04:04:05.678+01:00',
      dateModifiedTo: '2026-01-03T00:00:00.000Z',
      orderBy: 'dateModified asc',
      limit: 1000,
      page: 2,
      total: true,
    });
    const q = stub.requestsTo('GET', MEDIA)[0]!.query;
    expect(Object.fromEntries(q)).toEqual({
      brandId: 'b-1',
      dateModified: '2026-01-02T03:04:05Z',
      dateModifiedTo: '2026-01-03T00:00:00Z',
      orderBy: 'dateModified asc',
      limit: '1000',
      page: '2',
      total: '1',
    });
    expect(page.total).toBeUndefined();
    expect(page.media).toEqual([
      {
        id: wireAsset.id,
        name: 'Report',
        description: 'Q1',
        brandId: 'b-1',
        type: 'document',
        extension: ['pdf'],
        fileSize: 1234,
        dateCreated: '2026-01-01T10:00:00Z',
        dateModified: '2026-01-02T10:00:00Z',
        tags: ['a', 'b'],
        propertyOptions: ['o-1', 'o-2'],
        properties: { Colours: ['red', 'blue'], Region: ['north'] },
        archive: false,
      },
    ]);
  });

  it('reads {total: {count}, media} and {count: {total}, media}', async () => {
    stub.route('GET', MEDIA, [
      { json: { total: { count: 42 }, media: [wireAsset] } },
      { json: { count: { total: '7', brandId: {} }, media: [] } },
    ]);
    const c = client();
    await expect(c.listMedia({ total: true })).resolves.toMatchObject({ total: 42, media: [{ id: wireAsset.id }] });
    await expect(c.listMedia({ total: true })).resolves.toEqual({ total: 7, media: [] });
    expect(stub.requestsTo('GET', MEDIA)[1]!.query.get('total')).toBe('1');
  });

  it('does not send total unless asked', async () => {
    stub.route('GET', MEDIA, { json: [] });
    await client().listMedia({ keyword: 'x' });
    expect(stub.requestsTo('GET', MEDIA)[0]!.query.has('total')).toBe(false);
  });

  it('reads flags sent as 0/1, "0"/"1" or booleans, and a single extension string', async () => {
    stub.route('GET', MEDIA, {
      json: [
        { ...wireAsset, id: 'a1', archive: 1, extension: 'jpg' },
        { ...wireAsset, id: 'a2', archive: '1' },
        { ...wireAsset, id: 'a3', archive: true },
        { ...wireAsset, id: 'a4', archive: 'false' },
        { ...wireAsset, id: 'a5', archive: null, tags: null, propertyOptions: 'o-9,o-8' },
      ],
    });
    const { media } = await client().listMedia({});
    expect(media.map((a) => a.archive)).toEqual([true, true, true, false, false]);
    expect(media[0]!.extension).toEqual(['jpg']);
    expect(media[4]).toMatchObject({ tags: [], propertyOptions: ['o-9', 'o-8'] });
  });

  it('refuses a date that is not one', async () => {
    await expect(client().listMedia({ dateModified: 'yesterday' })).rejects.toThrow(/dateModified "yesterday" is not an ISO date/);
  });
});

describe('getMedia', () => {
  it('asks /api/v4/media/{id}/ with versions=1 and reads mediaItems and the active version', async () => {
    stub.route('GET', '/api/v4/media/m-1/', {
      json: {
        ...wireAsset,
        id: 'm-1',
        mediaItems: [
          { id: 'i-1', fileName: 'r.pdf', version: 1, active: 0, size: 10 },
          { id: 'i-2', fileName: 'r.pdf', version: '2', active: true, size: '20', type: 'original' },
        ],
      },
    });
    const asset = await client().getMedia('m-1', { versions: true });
    expect(stub.requestsTo('GET', '/api/v4/media/m-1/')[0]!.query.get('versions')).toBe('1');
    expect(asset).toMatchObject({
      id: 'm-1',
      activeVersion: 2,
      mediaItems: [
        { id: 'i-1', fileName: 'r.pdf', version: 1, active: false, size: 10 },
        { id: 'i-2', fileName: 'r.pdf', version: 2, active: true, size: 20 },
      ],
    });
  });

  it('404 "Media not found" is undefined; 404 "no Route matched" is an operator error', async () => {
    stub.route('GET', '/api/v4/media/gone/', { status: 404, json: { message: 'Media not found', statuscode: '404' } });
    stub.route('GET', '/api/v4/media/x/', { status: 404, json: { message: 'no Route matched with those values', request_id: 'r' } });
    await expect(client().getMedia('gone')).resolves.toBeUndefined();
    await expect(client().getMedia('x')).rejects.toMatchObject({ status: 404, operator: true });
  });
});

describe('listMetaproperties and listBrands', () => {
  it('reads the dictionary by its values, and pages in the options of a select property that lists none', async () => {
    stub.route('GET', '/api/v4/metaproperties/', {
      json: {
        Colours: {
          id: 'mp-1',
          name: 'colours',
          label: 'Colours',
          isMultiselect: 1,
          isRequired: '0',
          type: 'select',
          options: [{ id: 'o-1', name: 'red', displayLabel: 'Red' }],
        },
        'Anything at all': { id: 'mp-2', name: 'region', isMultiselect: false, isRequired: true, type: 'select2', options: [] },
        notes: { id: 'mp-3', name: 'notes', isMultiselect: 0, isRequired: 0, type: 'text' },
      },
    });
    const firstPage = Array.from({ length: 1000 }, (_, i) => ({ id: `r-${i}`, name: `region-${i}` }));
    stub.route('GET', '/api/v4/metaproperties/mp-2/options/', [
      { json: firstPage },
      { json: [{ id: 'r-last', name: 'south', label: 'South' }] },
    ]);
    const properties = await client().listMetaproperties();
    expect(properties.map((p) => [p.id, p.name, p.isMultiselect, p.isRequired, p.options.length])).toEqual([
      ['mp-1', 'colours', true, false, 1],
      ['mp-2', 'region', false, true, 1001],
      ['mp-3', 'notes', false, false, 0],
    ]);
    expect(properties[0]!.options[0]).toEqual({ id: 'o-1', name: 'red', label: 'Red' });
    expect(properties[1]!.options.at(-1)).toEqual({ id: 'r-last', name: 'south', label: 'South' });
    const pages = stub.requestsTo('GET', '/api/v4/metaproperties/mp-2/options/').map((r) => Object.fromEntries(r.query));
    expect(pages).toEqual([
      { limit: '1000', page: '1' },
      { limit: '1000', page: '2' },
    ]);
    expect(stub.requestsTo('GET', '/api/v4/metaproperties/mp-3/options/')).toHaveLength(0);
  });

  it('pages in the options of a property listed with 50 or more (the listing may be cut), keeping every id once', async () => {
    const inline = Array.from({ length: 50 }, (_, i) => ({ id: `p-${i}`, name: `p${i}` }));
    stub.route('GET', '/api/v4/metaproperties/', {
      json: { Project: { id: 'mp-9', name: 'project', isMultiselect: 0, isRequired: 0, type: 'select', options: inline } },
    });
    const all = Array.from({ length: 120 }, (_, i) => ({ id: `p-${i}`, name: `p${i}` }));
    stub.route('GET', '/api/v4/metaproperties/mp-9/options/', { json: all });
    const [property] = await client().listMetaproperties();
    expect(property!.options.map((o) => o.id)).toEqual(all.map((o) => o.id));
  });

  it('lists brands with their sub-brands', async () => {
    stub.route('GET', '/api/v4/brands/', {
      json: [{ id: 'b-1', name: 'Main', description: 'x', subBrands: [{ id: 's-1', name: 'Sub' }] }],
    });
    await expect(client().listBrands()).resolves.toEqual([{ id: 'b-1', name: 'Main', subBrands: [{ id: 's-1', name: 'Sub' }] }]);
  });
});

describe('save', () => {
  const SAVE = '/api/v4/media/save/imp-1';
  const request = {
    importId: 'imp-1',
    brandId: 'b-1',
    name: 'Report',
    description: 'Q1',
    tags: ['a', 'b c'],
    metaproperties: { 'mp-1': ['o-1', 'o-2'], 'mp-2': ['o-9'] },
  };

  it('posts brandId, name, description, tags and metaproperty.<ID> option ids; reads mediaid and mediaitems', async () => {
    stub.route('POST', SAVE, {
      status: 201,
      json: { accessRequestId: 'x', mediaid: 'm-1', batchId: 'y', success: true, mediaitems: [{ id: 'mi-1' }] },
    });
    await expect(client().saveAsNewAsset(request)).resolves.toEqual({ mediaId: 'm-1', mediaItemId: 'mi-1' });
    const [save] = stub.requestsTo('POST', SAVE);
    expect(form(save!)).toEqual({
      brandId: 'b-1',
      name: 'Report',
      description: 'Q1',
      tags: 'a,b c',
      'metaproperty.mp-1': 'o-1,o-2',
      'metaproperty.mp-2': 'o-9',
    });
    expect(save!.headers.authorization).toBe('Bearer token-1');
  });

  it('303: polls the import, then saves again', async () => {
    stub.route('POST', SAVE, [
      { status: 303, json: { message: 'Import not converted yet, please poll' } },
      { status: 201, json: { mediaid: 'm-1', mediaitems: [] } },
    ]);
    stub.route('GET', '/api/v4/upload/poll/', [{ json: { itemsDone: [] } }, { json: { itemsDone: ['imp-1'], itemsFailed: [] } }]);
    await expect(client().saveAsNewAsset(request)).resolves.toEqual({ mediaId: 'm-1' });
    expect(stub.requestsTo('POST', SAVE)).toHaveLength(2);
    const polls = stub.requestsTo('GET', '/api/v4/upload/poll/');
    expect(polls.map((p) => p.query.get('items'))).toEqual(['imp-1', 'imp-1']);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('303 that never ends is transient after a bounded number of saves', async () => {
    stub.route('POST', SAVE, { status: 303, json: { message: 'Import not converted yet, please poll' } });
    stub.route('GET', '/api/v4/upload/poll/', { json: { itemsDone: [] } });
    const err = await client({ maxSaveAttempts: 3, maxPolls: 2 })
      .saveAsNewAsset(request)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderError);
    expect(err).not.toHaveProperty('status');
    expect(err).toMatchObject({ kind: 'transient' });
    expect((err as Error).message).toMatch(/still answered 303.*nothing was created/);
    // The polls are one budget over the whole save: spent on the first 303, then one more save.
    expect(stub.requestsTo('POST', SAVE)).toHaveLength(2);
    expect(stub.requestsTo('GET', '/api/v4/upload/poll/')).toHaveLength(2);
  });

  it('303 after every "done" poll stops at maxSaveAttempts saves', async () => {
    stub.route('POST', SAVE, { status: 303, json: { message: 'Import not converted yet, please poll' } });
    stub.route('GET', '/api/v4/upload/poll/', { json: { itemsDone: ['imp-1'] } });
    await expect(client({ maxSaveAttempts: 3 }).saveAsNewAsset(request)).rejects.toMatchObject({ kind: 'transient' });
    expect(stub.requestsTo('POST', SAVE)).toHaveLength(3);
    expect(stub.requestsTo('GET', '/api/v4/upload/poll/')).toHaveLength(2);
  });

  it('is never retried automatically: a 5xx or a lost answer is thrown after one request', async () => {
    stub.route('POST', SAVE, { status: 500, json: { message: 'Internal error' } });
    await expect(client().saveAsNewAsset(request)).rejects.toMatchObject({ kind: 'transient', status: 500 });
    expect(stub.requestsTo('POST', SAVE)).toHaveLength(1);

    stub.route('POST', SAVE, { drop: true });
    await expect(client().saveAsNewAsset(request)).rejects.toBeInstanceOf(BynderNetworkError);
    expect(stub.requestsTo('POST', SAVE)).toHaveLength(2);
  });

  it('400 and 404 "Import ID not found" are permanent', async () => {
    stub.route('POST', SAVE, [
      { status: 400, json: { message: 'No brandid provided', statuscode: '400' } },
      { status: 404, json: { message: 'Import ID not found', statuscode: '404' } },
    ]);
    await expect(client().saveAsNewAsset(request)).rejects.toMatchObject({ kind: 'permanent', bynderMessage: 'No brandid provided' });
    await expect(client().saveAsNewAsset(request)).rejects.toMatchObject({ kind: 'permanent', status: 404, operator: false });
  });

  it('a new version goes to /api/v4/media/{mediaId}/save/{importId}', async () => {
    stub.route('POST', '/api/v4/media/m-1/save/imp-2', { status: 201, json: { success: true, mediaitems: [{ id: 'mi-2' }] } });
    await expect(client().saveAsNewVersion({ mediaId: 'm-1', importId: 'imp-2' })).resolves.toEqual({
      mediaId: 'm-1',
      mediaItemId: 'mi-2',
    });
  });
});

describe('download', () => {
  it('asks the download location and fetches it without Authorization, streamed', async () => {
    const location = `${stub.url}/s3/file.pdf?X-Amz-Signature=SIGNATURE-MUST-NOT-LEAK`;
    stub.route('GET', '/api/v4/media/m-1/download/', { json: { s3_file: location } });
    stub.route('GET', '/api/v4/media/m-1/3/download/', { json: { s3_file: location } });
    stub.route('GET', '/api/v4/media/m-1/download/i-9/', { json: { s3_file: location } });
    stub.route('GET', '/s3/file.pdf', { text: 'file bytes', headers: { 'content-type': 'application/pdf' } });
    const c = client();
    expect(await c.getDownloadUrl('m-1')).toBe(location);
    expect(await c.getDownloadUrl('m-1', { version: 3 })).toBe(location);
    expect(await c.getDownloadUrl('m-1', { itemId: 'i-9' })).toBe(location);
    const got = await c.download(location);
    const chunks: Buffer[] = [];
    for await (const chunk of got.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('file bytes');
    expect(got).toMatchObject({ contentLength: 10, contentType: 'application/pdf' });
    const [storage] = stub.requestsTo('GET', '/s3/file.pdf');
    expect(storage!.headers.authorization).toBeUndefined();
  });

  it("a refused location is a permanent error without the location's query string", async () => {
    stub.route('GET', '/s3/file.pdf', {
      status: 403,
      text: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
    });
    const err = await client()
      .download(`${stub.url}/s3/file.pdf?X-Amz-Signature=SIGNATURE-MUST-NOT-LEAK`)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'permanent', status: 403, bynderMessage: 'AccessDenied: Request has expired' });
    expect(`${(err as Error).message} ${JSON.stringify(err)}`).not.toContain('SIGNATURE');
    expect(stub.requestsTo('POST', TOKEN_PATH)).toHaveLength(0);
  });

  it('a download is not stopped by a 429 block of the portal', async () => {
    const budget = new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep });
    budget.block();
    stub.route('GET', '/s3/file.pdf', { text: 'x' });
    const got = await client({ rateBudget: budget }).download(`${stub.url}/s3/file.pdf`);
    got.body.resume();
    await expect(client({ rateBudget: budget }).listBrands()).rejects.toMatchObject({ kind: 'throttled', failedFast: true });
  });
});

describe('the invocation deadline', () => {
  it('a poll wait that would end after the deadline is not started: transient, and no second save', async () => {
    stub.route('POST', '/api/v4/media/save/imp-1', { status: 303, json: { message: 'Import not converted yet, please poll' } });
    stub.route('GET', '/api/v4/upload/poll/', { json: { itemsDone: ['imp-1'] } });
    const c = client();
    const err = await runWithDeadline(clock + 500, () =>
      c.saveAsNewAsset({ importId: 'imp-1', brandId: 'b-1', name: 'n', metaproperties: {} }).catch((e: unknown) => e),
    );
    expect(err).toMatchObject({ kind: 'transient' });
    expect((err as Error).message).toMatch(/time would run out/);
    expect(stub.requestsTo('POST', '/api/v4/media/save/imp-1')).toHaveLength(1);
    expect(stub.requestsTo('GET', '/api/v4/upload/poll/')).toHaveLength(0);
    expect(sleeps).toEqual([]);
  });

  it('a GET is not retried when the backoff would outlast the deadline; the last error is thrown', async () => {
    stub.route('GET', '/api/v4/brands/', { status: 503, json: { message: 'busy' } });
    const c = client({ baseDelayMs: 10_000 });
    const err = await runWithDeadline(clock + 1000, () => c.listBrands().catch((e: unknown) => e));
    expect(err).toMatchObject({ kind: 'transient', status: 503 });
    expect(stub.requestsTo('GET', '/api/v4/brands/')).toHaveLength(1);
  });

  it('no exchange is started once the deadline has passed', async () => {
    stub.route('GET', '/api/v4/brands/', { json: [] });
    const c = client();
    await c.listBrands();
    const before = stub.requests.length;
    const err = await runWithDeadline(clock - 1, () => c.listBrands().catch((e: unknown) => e));
    expect(err).toMatchObject({ kind: 'transient' });
    expect(stub.requests.length).toBe(before);
  });
});
