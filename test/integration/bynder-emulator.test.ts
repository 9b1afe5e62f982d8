/**
 * The Bynder emulator against the Bynder notes and outline: every behaviour the connector's
 * client is tested against (both token paths, expiring tokens, the metaproperty dictionary,
 * media paging and filters, both file-service path readings with their SHA checks, the legacy
 * S3 flow with polling, save's 303 and its lost response, the rate-limit block, storage URLs
 * that refuse Authorization, expiring download links) exercised with plain fetch over sockets.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BynderEmulator,
  type BynderEmulatorOptions,
  COLDFUSION_ID,
  DEFAULT_BYNDER_SEED_IDS,
  RFC4122_UUID,
  seedBulkAssets,
  startBynderEmulator,
} from '../../emulator/bynder/index.js';

const IDS = DEFAULT_BYNDER_SEED_IDS;
const START = Date.parse('2025-06-02T08:00:00Z');
const WHOLE_SECOND_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');
const form = (fields: Record<string, string>): URLSearchParams => new URLSearchParams(fields);

interface Harness {
  emulator: BynderEmulator;
  clock: { now: number };
  token(): Promise<string>;
  api(path: string, init?: RequestInit): Promise<Response>;
}

async function startHarness(options: BynderEmulatorOptions = {}): Promise<Harness> {
  const clock = { now: START };
  const emulator = await startBynderEmulator({ now: () => clock.now, ...options });
  let cached: string | undefined;
  const token = async (): Promise<string> => {
    if (cached) return cached;
    const res = await fetch(emulator.tokenUrl, {
      method: 'POST',
      body: form({ grant_type: 'client_credentials', client_id: emulator.clientId, client_secret: emulator.clientSecret }),
    });
    expect(res.status).toBe(200);
    cached = ((await res.json()) as { access_token: string }).access_token;
    return cached;
  };
  const api = async (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${emulator.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${await token()}`, ...(init.headers as Record<string, string>) },
    });
  return { emulator, clock, token, api };
}

async function json<T = unknown>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** The file-service flow, under either path reading; returns the file id (the import id). */
async function fsUpload(
  h: Harness,
  bytes: Buffer,
  chunkSize: number,
  reading: 'sdk' | 'outline',
  fileName = 'upload.jpg',
): Promise<string> {
  const base = reading === 'sdk' ? '/v7/file_cmds/upload' : '/v7/file/cmds/upload';
  const prepared = await h.api(`${base}/prepare`, { method: 'POST' });
  expect(prepared.status).toBe(200);
  const { file_id: fileId } = await json<{ file_id: string }>(prepared);
  expect(fileId).toMatch(RFC4122_UUID);
  let n = 0;
  for (let offset = 0; offset < bytes.length; offset += chunkSize, n++) {
    const chunk = bytes.subarray(offset, offset + chunkSize);
    const res = await h.api(`${base}/${fileId}/chunk/${n}`, { method: 'POST', body: chunk, headers: { 'content-sha256': sha256(chunk) } });
    expect(res.status).toBe(201);
  }
  const finalise = await h.api(`${base}/${fileId}/${reading === 'sdk' ? 'finalise_api' : 'finalise'}`, {
    method: 'POST',
    body: form({ fileName, fileSize: String(bytes.length), chunksCount: String(n), sha256: sha256(bytes) }),
  });
  expect(finalise.status).toBe(201);
  expect(finalise.headers.get('x-api-correlation-id')).toMatch(RFC4122_UUID);
  return fileId;
}

async function download(h: Harness, assetId: string, suffix = 'download/'): Promise<Buffer> {
  const res = await h.api(`/api/v4/media/${assetId}/${suffix}`);
  expect(res.status).toBe(200);
  const { s3_file: link } = await json<{ s3_file: string }>(res);
  const file = await fetch(link);
  expect(file.status).toBe(200);
  return Buffer.from(await file.arrayBuffer());
}

describe('Bynder emulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ maxChunkBytes: 1024 });
  });
  afterAll(async () => {
    await h.emulator.close();
  });
  afterEach(() => {
    h.emulator.faults.clear();
  });

  describe('token endpoint', () => {
    it('issues a bearer JWT on both token paths, with the client in the body or as HTTP Basic', async () => {
      const e = h.emulator;
      const body = await fetch(e.tokenUrl, {
        method: 'POST',
        body: form({ grant_type: 'client_credentials', client_id: e.clientId, client_secret: e.clientSecret, scope: 'asset:read' }),
      });
      expect(body.status).toBe(200);
      const reply = await json<Record<string, unknown>>(body);
      expect(reply).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'asset:read' });
      expect(String(reply.access_token).split('.')).toHaveLength(3);

      const basic = Buffer.from(`${encodeURIComponent(e.clientId)}:${encodeURIComponent(e.clientSecret)}`).toString('base64');
      const viaBasic = await fetch(e.clientCredentialsTokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}` },
        body: form({ grant_type: 'client_credentials' }),
      });
      expect(viaBasic.status).toBe(200);
      const token = (await json<{ access_token: string; scope: string }>(viaBasic)).access_token;
      const brands = await fetch(`${e.url}/api/v4/brands/`, { headers: { authorization: `Bearer ${token}` } });
      expect(brands.status).toBe(200);
      expect(e.calls.count('POST /v6/authentication/oauth2/token/client-credentials')).toBe(1);
    });

    it('refuses wrong credentials with 401 and any refresh grant with 400', async () => {
      const e = h.emulator;
      const wrong = await fetch(e.tokenUrl, {
        method: 'POST',
        body: form({ grant_type: 'client_credentials', client_id: e.clientId, client_secret: 'nope' }),
      });
      expect(wrong.status).toBe(401);
      expect(await json(wrong)).toMatchObject({ error: 'invalid_client' });
      const refresh = await fetch(e.tokenUrl, { method: 'POST', body: form({ grant_type: 'refresh_token', refresh_token: '' }) });
      expect(refresh.status).toBe(400);
      expect(await json(refresh)).toMatchObject({ error: 'invalid_grant' });
      const outlineRefresh = await fetch(`${e.url}/v6/authentication/oauth2/token/refresh`, {
        method: 'POST',
        body: form({ grant_type: 'refresh_token' }),
      });
      expect(outlineRefresh.status).toBe(400);
    });

    it('can answer wrong credentials in the non-OAuth shape, and honours a configured expires_in', async () => {
      const other = await startHarness({ tokenErrorStyle: 'message', tokenTtlSeconds: 60 });
      try {
        const e = other.emulator;
        const wrong = await fetch(e.tokenUrl, {
          method: 'POST',
          body: form({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' }),
        });
        expect(wrong.status).toBe(401);
        const body = await json<Record<string, unknown>>(wrong);
        expect(body).toMatchObject({ statuscode: '401' });
        expect(body.error).toBeUndefined();
        const ok = await fetch(e.tokenUrl, {
          method: 'POST',
          body: form({ grant_type: 'client_credentials', client_id: e.clientId, client_secret: e.clientSecret }),
        });
        expect(await json(ok)).toMatchObject({ expires_in: 60 });
      } finally {
        await other.emulator.close();
      }
    });
  });

  describe('authentication on /api', () => {
    it('answers 401 {message, statuscode} once a token expired by the clock or on demand; the permanent token keeps working', async () => {
      const other = await startHarness({ tokenTtlSeconds: 60, permanentToken: 'permanent-emulator-token' });
      try {
        expect((await other.api('/api/v4/brands/')).status).toBe(200);
        other.clock.now += 61_000;
        const expired = await other.api('/api/v4/brands/');
        expect(expired.status).toBe(401);
        expect(await json(expired)).toEqual({ message: expect.stringContaining('expired'), statuscode: '401' });

        const fresh = await fetch(other.emulator.tokenUrl, {
          method: 'POST',
          body: form({ grant_type: 'client_credentials', client_id: other.emulator.clientId, client_secret: other.emulator.clientSecret }),
        });
        const token = (await json<{ access_token: string }>(fresh)).access_token;
        const withFresh = () => fetch(`${other.emulator.url}/api/v4/brands/`, { headers: { authorization: `Bearer ${token}` } });
        expect((await withFresh()).status).toBe(200);
        other.emulator.faults.expireTokens();
        expect((await withFresh()).status).toBe(401);

        const permanent = await fetch(`${other.emulator.url}/api/v4/brands/`, {
          headers: { authorization: 'Bearer permanent-emulator-token' },
        });
        expect(permanent.status).toBe(200);
        expect((await fetch(`${other.emulator.url}/api/v4/brands/`)).status).toBe(401);
      } finally {
        await other.emulator.close();
      }
    });
  });

  describe('brands and metaproperties', () => {
    it('lists brands with sub-brands', async () => {
      const brands = await json<{ id: string; name: string; description: string; image: unknown; subBrands: { id: string }[] }[]>(
        await h.api('/api/v4/brands/'),
      );
      expect(brands.map((b) => b.name)).toEqual(['Harbour Living', 'Northwind Construction', 'Riverside Estates']);
      expect(brands[0]?.id).toMatch(COLDFUSION_ID);
      expect(brands[0]?.subBrands[0]?.id).toBe(IDS.brands.harbourInteriors);
    });

    it('answers metaproperties as a dictionary keyed unlike name, with mixed flag styles and extra fields', async () => {
      const dict = await json<Record<string, Record<string, unknown>>>(await h.api('/api/v4/metaproperties/'));
      expect(Object.keys(dict)).toEqual(['Colours', 'Region', 'Campaign', 'Project Code']);
      expect(dict.Colours).toMatchObject({ id: IDS.metaproperties.colours, name: 'colours', isMultiselect: true, isRequired: false });
      expect(dict.Region).toMatchObject({ name: 'region', isMultiselect: 0, isRequired: 1, type: 'select' });
      expect(dict.Campaign).toMatchObject({ type: 'text', options: [] });
      expect(dict.Colours).toHaveProperty('useDependencies');
      const options = dict.Colours?.options as { id: string; name: string; label: string }[];
      expect(options.map((o) => o.label)).toEqual(['Red', 'Green', 'Blue']);
    });

    it('pages a metaproperty’s options and refuses a limit over 1000', async () => {
      const id = IDS.metaproperties.projectCode;
      const page3 = await json<{ name: string }[]>(await h.api(`/api/v4/metaproperties/${id}/options/?limit=50&page=3`));
      expect(page3).toHaveLength(20);
      expect(page3.at(-1)?.name).toBe('p_120');
      expect((await json<unknown[]>(await h.api(`/api/v4/metaproperties/${id}/options/`))).length).toBe(50);
      expect((await h.api(`/api/v4/metaproperties/${id}/options/?limit=1001`)).status).toBe(400);
    });

    it('can list only the first options inline', async () => {
      const other = await startHarness({ inlineOptionLimit: 50 });
      try {
        const dict = await json<Record<string, { options: unknown[] }>>(await other.api('/api/v4/metaproperties/'));
        expect(dict['Project Code']?.options).toHaveLength(50);
      } finally {
        await other.emulator.close();
      }
    });
  });

  describe('media', () => {
    it('lists a plain array by default; total=1 and count=1 wrap it', async () => {
      const plain = await json<Record<string, unknown>[]>(await h.api('/api/v4/media/?limit=2'));
      expect(Array.isArray(plain)).toBe(true);
      expect(plain).toHaveLength(2);
      const asset = plain[0] as Record<string, unknown>;
      expect(asset.id).toMatch(COLDFUSION_ID);
      expect(asset.dateModified).toMatch(WHOLE_SECOND_Z);
      expect(Array.isArray(asset.extension)).toBe(true);
      expect([0, 1]).toContain(asset.archive);

      const total = await json<{ total: { count: number }; media: unknown[] }>(await h.api('/api/v4/media/?total=1&limit=1'));
      expect(total.total.count).toBe(4);
      expect(total.media).toHaveLength(1);
      const count = await json<{ count: { total: number }; media: unknown[] }>(await h.api('/api/v4/media/?count=1'));
      expect(count.count.total).toBe(4);
    });

    it('writes property_<name> values, propertyOptions ids and 0/1 flags', async () => {
      const [facade] = await json<Record<string, unknown>[]>(await h.api(`/api/v4/media/?ids=${IDS.assets.harbourFacade}`));
      expect(facade).toMatchObject({
        property_colours: ['red', 'blue'],
        property_region: ['nordics'],
        isPublic: 1,
        extension: ['jpg'],
        tags: ['facade', 'exterior'],
      });
      expect(facade?.propertyOptions).toEqual(expect.arrayContaining([IDS.options.red, IDS.options.blue, IDS.options.nordics]));
      const [plan] = await json<Record<string, unknown>[]>(await h.api(`/api/v4/media/?ids=${IDS.assets.sitePlan}`));
      expect(plan?.property_campaign_name).toBe('Spring 2025');
    });

    it('filters by dateModified (strict by default), dateModifiedTo, brand, keyword, tags, option and ids, in the order asked', async () => {
      const names = async (query: string): Promise<string[]> =>
        (await json<{ name: string }[]>(await h.api(`/api/v4/media/?${query}`))).map((a) => a.name);
      const tie = encodeURIComponent('2025-01-15T12:00:00Z');
      expect(await names(`dateModified=${tie}&orderBy=${encodeURIComponent('dateModified asc')}`)).toEqual([
        'Lobby render',
        'Harbour facade',
      ]);
      expect(await names(`dateModified=${tie}&dateModifiedTo=${encodeURIComponent('2025-01-31T00:00:00Z')}`)).toEqual(['Lobby render']);
      expect(await names(`dateModified=${encodeURIComponent('2025-01-15T13:00:00+01:00')}&orderBy=dateModified%20asc`)).toEqual([
        'Lobby render',
        'Harbour facade',
      ]);
      expect(await names(`brandId=${IDS.brands.harbour}&orderBy=name%20asc`)).toEqual(['Harbour facade', 'Lobby render']);
      expect(await names('keyword=PLAN')).toEqual(['Site plan']);
      expect(await names('tags=print,render&orderBy=name%20desc')).toEqual(['Lobby render', 'Brochure']);
      expect(await names(`propertyOptionId=${IDS.options.benelux}`)).toEqual(['Site plan']);
      expect(await names('property_region=uk')).toEqual(['Brochure']);
      expect(await names(`ids=${IDS.assets.brochure},${IDS.assets.sitePlan}&orderBy=name%20asc`)).toEqual(['Brochure', 'Site plan']);
    });

    it('refuses an unencoded + offset, an unknown orderBy and a limit over 1000', async () => {
      const plus = await h.api('/api/v4/media/?dateModified=2025-01-15T12:00:00+01:00');
      expect(plus.status).toBe(400);
      expect(await json(plus)).toMatchObject({ message: expect.stringContaining('ISO8601'), statuscode: '400' });
      expect((await h.api('/api/v4/media/?orderBy=size%20asc')).status).toBe(400);
      expect((await h.api('/api/v4/media/?limit=1001')).status).toBe(400);
    });

    it('gets one asset with or without the trailing slash, and its versions with versions=1', async () => {
      const id = IDS.assets.lobbyRender;
      const plain = await json<Record<string, unknown>>(await h.api(`/api/v4/media/${id}`));
      expect(plain.mediaItems).toBeUndefined();
      const withVersions = await json<{
        activeVersion: number;
        mediaItems: { version: number; active: number; fileName: string; size: number }[];
      }>(await h.api(`/api/v4/media/${id}/?versions=1`));
      expect(withVersions.activeVersion).toBe(3);
      expect(withVersions.mediaItems.map((i) => [i.version, i.active, i.fileName])).toEqual([
        [1, 0, 'lobby.png'],
        [2, 0, 'lobby.png'],
        [3, 1, 'lobby-final.png'],
      ]);
      expect(await download(h, id)).toEqual(Buffer.from('lobby v3 final'));
      expect(await download(h, id, '1/download/')).toEqual(Buffer.from('lobby v1'));
    });

    it('answers 404 Media not found for unknown and deleted assets; deleted ones may still be listed by a switch', async () => {
      for (const id of [IDS.assets.oldLogo, 'ABCDEF12-3456-7890-ABCDEF1234567890']) {
        const res = await h.api(`/api/v4/media/${id}/`);
        expect(res.status).toBe(404);
        expect(await json(res)).toEqual({ message: 'Media not found', statuscode: '404' });
      }
      const other = await startHarness({ listDeletedAssets: true });
      try {
        const listed = await json<{ id: string }[]>(await other.api('/api/v4/media/'));
        expect(listed.map((a) => a.id)).toContain(IDS.assets.oldLogo);
        expect((await other.api(`/api/v4/media/${IDS.assets.oldLogo}/`)).status).toBe(404);
      } finally {
        await other.emulator.close();
      }
    });

    it('deletes an asset over HTTP: 204, then 404 on GET', async () => {
      const fileId = await fsUpload(h, Buffer.from('to delete'), 1024, 'sdk', 'delete-me.pdf');
      const saved = await h.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form({ brandId: IDS.brands.riverside }) });
      const { mediaid } = await json<{ mediaid: string }>(saved);
      expect((await h.api(`/api/v4/media/${mediaid}/`, { method: 'DELETE' })).status).toBe(204);
      expect((await h.api(`/api/v4/media/${mediaid}/`)).status).toBe(404);
      expect((await h.api(`/api/v4/media/${mediaid}/`, { method: 'DELETE' })).status).toBe(404);
    });

    it('includes ties with dateModified inclusive', async () => {
      const other = await startHarness({ dateModifiedBoundary: 'inclusive' });
      try {
        const tie = encodeURIComponent('2025-01-15T12:00:00Z');
        const names = (await json<{ name: string }[]>(await other.api(`/api/v4/media/?dateModified=${tie}&orderBy=name%20asc`))).map(
          (a) => a.name,
        );
        expect(names).toEqual(['Brochure', 'Harbour facade', 'Lobby render', 'Site plan']);
      } finally {
        await other.emulator.close();
      }
    });

    it('seeds 5,000 assets quickly and pages them 1,000 at a time', async () => {
      const other = await startHarness({ seed: 'empty' });
      try {
        other.emulator.state.addBrand({ id: IDS.brands.northwind, name: 'Northwind', description: '', image: null, subBrands: [] });
        const started = performance.now();
        seedBulkAssets(other.emulator.state, { count: 5000 });
        expect(performance.now() - started).toBeLessThan(2000);
        const seen = new Set<string>();
        for (let page = 1; page <= 6; page++) {
          const batch = await json<{ id: string }[]>(await other.api(`/api/v4/media/?limit=1000&page=${page}&orderBy=dateModified%20asc`));
          expect(batch.length).toBe(page <= 5 ? 1000 : 0);
          for (const a of batch) seen.add(a.id);
        }
        expect(seen.size).toBe(5000);
      } finally {
        await other.emulator.close();
      }
    });
  });

  describe('file-service upload', () => {
    const bytes = Buffer.from(Array.from({ length: 2500 }, (_, i) => (i * 7) % 251));

    it.each(['sdk', 'outline'] as const)(
      'uploads in chunks under the %s path reading, saves and downloads the same bytes',
      async (reading) => {
        const fileId = await fsUpload(h, bytes, 1024, reading, `chunked-${reading}.jpg`);
        const saved = await h.api(`/api/v4/media/save/${fileId}`, {
          method: 'POST',
          body: form({ brandId: IDS.brands.riverside, name: `Chunked ${reading}` }),
        });
        expect(saved.status).toBe(201);
        const reply = await json<{
          mediaid: string;
          success: boolean;
          batchId: string;
          accessRequestId: string;
          mediaitems: { id: string }[];
        }>(saved);
        expect(reply.success).toBe(true);
        expect(reply.mediaid).toMatch(COLDFUSION_ID);
        expect(reply.mediaitems[0]?.id).toMatch(COLDFUSION_ID);
        expect(await download(h, reply.mediaid)).toEqual(bytes);
      },
    );

    it('checks Content-SHA256, the chunk size, and replaces a re-sent chunk', async () => {
      const prepared = await json<{ file_id: string }>(await h.api('/v7/file_cmds/upload/prepare', { method: 'POST' }));
      const chunk = `/v7/file_cmds/upload/${prepared.file_id}/chunk`;
      const a = Buffer.from('first body');
      const bad = await h.api(`${chunk}/0`, { method: 'POST', body: a, headers: { 'content-sha256': sha256('something else') } });
      expect(bad.status).toBe(400);
      const big = Buffer.alloc(1025, 1);
      expect((await h.api(`${chunk}/0`, { method: 'POST', body: big, headers: { 'content-sha256': sha256(big) } })).status).toBe(413);
      expect((await h.api(`${chunk}/0`, { method: 'POST', body: a, headers: { 'content-sha256': sha256(a) } })).status).toBe(201);
      const b = Buffer.from('replacement');
      expect((await h.api(`${chunk}/0`, { method: 'POST', body: b, headers: { 'content-sha256': sha256(b) } })).status).toBe(201);
      const finalise = (fields: Record<string, string>) =>
        h.api(`/v7/file_cmds/upload/${prepared.file_id}/finalise_api`, {
          method: 'POST',
          body: form({ fileName: 'x.pdf', fileSize: String(b.length), chunksCount: '1', sha256: sha256(b), ...fields }),
        });
      expect((await finalise({ chunksCount: '2' })).status).toBe(400);
      expect((await finalise({ fileSize: String(b.length + 1) })).status).toBe(400);
      expect((await finalise({ sha256: sha256(a) })).status).toBe(400);
      expect((await finalise({})).status).toBe(201);
    });

    it('fails the next chunk uploads and a finalise on demand, with the documented finalise body', async () => {
      const chunkCallsBefore = h.emulator.calls.count('POST /v7/file/cmds/upload/{file_id}/chunk/{n}');
      h.emulator.faults.failChunkUploads(2);
      const prepared = await json<{ file_id: string }>(await h.api('/v7/file/cmds/upload/prepare', { method: 'POST' }));
      const body = Buffer.from('retry me');
      const send = () =>
        h.api(`/v7/file/cmds/upload/${prepared.file_id}/chunk/0`, { method: 'POST', body, headers: { 'content-sha256': sha256(body) } });
      expect((await send()).status).toBe(500);
      expect((await send()).status).toBe(500);
      expect((await send()).status).toBe(201);
      h.emulator.faults.failFinalise(1);
      const finalise = () =>
        h.api(`/v7/file/cmds/upload/${prepared.file_id}/finalise`, {
          method: 'POST',
          body: form({ fileName: 'r.pdf', fileSize: String(body.length), chunksCount: '1', sha256: sha256(body) }),
        });
      const failed = await finalise();
      expect(failed.status).toBe(500);
      expect(await json(failed)).toEqual({ message: 'Could not complete upload', retry: 1 });
      expect((await finalise()).status).toBe(201);
      expect(h.emulator.calls.count('POST /v7/file/cmds/upload/{file_id}/chunk/{n}') - chunkCallsBefore).toBe(3);
      expect(h.emulator.calls.count('POST /v7/file/cmds/upload/{file_id}/chunk/{n}', 500)).toBe(2);
    });
  });

  describe('file-service upload at the default chunk size', () => {
    it('takes 5 MiB chunks, refuses a larger one with 413, and serves a 12 MiB file back intact', async () => {
      const other = await startHarness();
      try {
        const bytes = Buffer.alloc(12 * 1024 * 1024 + 17);
        for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);
        const prepared = await json<{ file_id: string }>(await other.api('/v7/file_cmds/upload/prepare', { method: 'POST' }));
        const tooBig = Buffer.alloc(5 * 1024 * 1024 + 1);
        const refused = await other.api(`/v7/file_cmds/upload/${prepared.file_id}/chunk/0`, { method: 'POST', body: tooBig });
        expect(refused.status).toBe(413);
        const fileId = await fsUpload(other, bytes, 5 * 1024 * 1024, 'sdk', 'large.tif');
        const saved = await other.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form({ brandId: IDS.brands.harbour }) });
        const { mediaid } = await json<{ mediaid: string }>(saved);
        const back = await download(other, mediaid);
        expect(back.length).toBe(bytes.length);
        expect(sha256(back)).toBe(sha256(bytes));
      } finally {
        await other.emulator.close();
      }
    });
  });

  describe('legacy upload', () => {
    it('runs endpoint -> init -> bucket POST parts -> register -> finalise -> poll -> save', async () => {
      const other = await startHarness({ importConversion: { polls: 2 } });
      try {
        const endpoint = await json<string>(await other.api('/api/upload/endpoint'));
        expect(endpoint).toBe(`${other.emulator.url}/bucket/`);
        const init = await json<{
          s3file: { uploadid: string; targetid: string };
          s3_filename: string;
          multipart_params: Record<string, string>;
        }>(await other.api('/api/upload/init', { method: 'POST', body: form({ filename: '/tmp/site photo.jpg' }) }));
        expect(init.s3_filename).toContain('-tmp-site photo.jpg');
        const parts = [Buffer.from('part one|'), Buffer.from('part two')];
        for (const [i, part] of parts.entries()) {
          const n = i + 1;
          const body = new FormData();
          for (const [k, v] of Object.entries(init.multipart_params)) body.append(k, v);
          body.set('key', `${init.s3_filename}/p${n}`);
          body.append('file', new Blob([part]), `p${n}`);
          const posted = await fetch(endpoint, { method: 'POST', body });
          expect(posted.status).toBe(201);
          const registered = await other.api('/api/v4/upload/', {
            method: 'POST',
            body: form({
              id: init.s3file.uploadid,
              targetid: init.s3file.targetid,
              filename: `${init.s3_filename}/p${n}`,
              chunkNumber: String(n),
            }),
          });
          expect(registered.status).toBe(200);
        }
        const finalised = await other.api(`/api/v4/upload/${init.s3file.uploadid}/`, {
          method: 'POST',
          body: form({
            targetid: init.s3file.targetid,
            s3_filename: `${init.s3_filename}/p2`,
            chunks: '2',
            original_filename: 'site photo.jpg',
          }),
        });
        expect(finalised.status).toBe(200);
        const { importId } = await json<{ importId: string }>(finalised);

        const save = () => other.api(`/api/v4/media/save/${importId}`, { method: 'POST', body: form({ brandId: IDS.brands.northwind }) });
        const early = await save();
        expect(early.status).toBe(303);
        expect(await json(early)).toMatchObject({ message: 'Import not converted yet, please poll' });
        const poll = () =>
          other
            .api(`/api/v4/upload/poll/?items=${importId}`)
            .then((r) => json<{ itemsDone: string[]; itemsFailed: string[]; itemsRejected: string[] }>(r));
        expect(await poll()).toEqual({ itemsDone: [], itemsFailed: [], itemsRejected: [] });
        expect((await poll()).itemsDone).toEqual([importId]);
        const saved = await save();
        expect(saved.status).toBe(201);
        const { mediaid } = await json<{ mediaid: string }>(saved);
        const asset = await json<{ name: string; extension: string[] }>(await other.api(`/api/v4/media/${mediaid}/`));
        expect(asset).toMatchObject({ name: 'site photo', extension: ['jpg'] });
        expect(await download(other, mediaid)).toEqual(Buffer.concat(parts));
      } finally {
        await other.emulator.close();
      }
    });

    it('refuses a finalise naming the wrong last part or an unregistered part', async () => {
      const init = await json<{ s3file: { uploadid: string; targetid: string }; s3_filename: string }>(
        await h.api('/api/upload/init', { method: 'POST', body: form({ filename: 'a.pdf' }) }),
      );
      const res = await h.api('/api/v4/upload/', {
        method: 'POST',
        body: form({ id: init.s3file.uploadid, targetid: init.s3file.targetid, s3_filename: `${init.s3_filename}/p1`, chunks: '1' }),
      });
      expect(res.status).toBe(400);
      const wrongTarget = await h.api(`/api/v4/upload/${init.s3file.uploadid}`, {
        method: 'POST',
        body: form({ targetid: 'nope', s3_filename: `${init.s3_filename}/p1`, chunks: '1' }),
      });
      expect(wrongTarget.status).toBe(400);
    });
  });

  describe('save', () => {
    const upload = (name = 'save.pdf') => fsUpload(h, Buffer.from(`bytes of ${name}`), 1024, 'sdk', name);

    it('answers 303 until the conversion time passed, then 201', async () => {
      const other = await startHarness({ importConversion: { ms: 5000 } });
      try {
        const fileId = await fsUpload(other, Buffer.from('slow'), 1024, 'sdk', 'slow.pdf');
        const save = () => other.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form({ brandid: IDS.brands.harbour }) });
        expect((await save()).status).toBe(303);
        other.clock.now += 5000;
        expect((await save()).status).toBe(201);
      } finally {
        await other.emulator.close();
      }
    });

    it('validates brand, metaproperty ids, option ids and single-select, and 404s an unknown import', async () => {
      const fileId = await upload();
      const save = (fields: Record<string, string>) => h.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form(fields) });
      const noBrand = await save({ name: 'x' });
      expect(noBrand.status).toBe(400);
      expect(await json(noBrand)).toEqual({ message: 'No brandid provided', statuscode: '400' });
      expect((await save({ brandId: 'ABCDEF12-0000-0000-0000000000000000' })).status).toBe(400);
      expect(
        (await save({ brandId: IDS.brands.harbour, 'metaproperty.ABCDEF12-0000-0000-0000000000000000': IDS.options.red })).status,
      ).toBe(400);
      expect(
        (await save({ brandId: IDS.brands.harbour, [`metaproperty.${IDS.metaproperties.colours}`]: IDS.options.nordics })).status,
      ).toBe(400);
      expect(
        (
          await save({
            brandId: IDS.brands.harbour,
            [`metaproperty.${IDS.metaproperties.region}`]: `${IDS.options.nordics},${IDS.options.uk}`,
          })
        ).status,
      ).toBe(400);
      const unknown = await h.api('/api/v4/media/save/00000000-0000-4000-8000-000000000000', {
        method: 'POST',
        body: form({ brandId: IDS.brands.harbour }),
      });
      expect(unknown.status).toBe(404);
      expect(await json(unknown)).toMatchObject({ message: 'Import ID not found' });

      const ok = await save({
        brandId: IDS.brands.harbour,
        name: 'Validated',
        tags: 'a, b',
        [`metaproperty.${IDS.metaproperties.colours}`]: `${IDS.options.red},${IDS.options.green}`,
        [`metaproperty.${IDS.metaproperties.campaign}`]: 'Autumn',
      });
      expect(ok.status).toBe(201);
      const { mediaid } = await json<{ mediaid: string }>(ok);
      const asset = await json<Record<string, unknown>>(await h.api(`/api/v4/media/${mediaid}/`));
      expect(asset).toMatchObject({
        name: 'Validated',
        tags: ['a', 'b'],
        property_colours: ['red', 'green'],
        property_campaign_name: 'Autumn',
      });
    });

    it('adds a version that keeps the metadata, by path and by the body readings', async () => {
      const id = IDS.assets.harbourFacade;
      const byPath = await h.api(`/api/v4/media/${id}/save/${await upload('v3.jpg')}`, { method: 'POST' });
      expect(byPath.status).toBe(201);
      expect((await json<{ mediaid: string }>(byPath)).mediaid).toBe(id);
      const byBody = await h.api(`/api/v4/media/${id}/save/`, { method: 'POST', body: form({ importId: await upload('v4.jpg') }) });
      expect(byBody.status).toBe(201);
      const javaStyle = await h.api('/api/v4/media/save/', { method: 'POST', body: form({ importId: await upload('v5.jpg'), id }) });
      expect(javaStyle.status).toBe(201);
      const asset = await json<{ activeVersion: number; property_colours: string[]; tags: string[] }>(
        await h.api(`/api/v4/media/${id}/?versions=1`),
      );
      expect(asset.activeVersion).toBe(5);
      expect(asset.property_colours).toEqual(['red', 'blue']);
      expect(asset.tags).toEqual(['facade', 'exterior']);
    });

    it('creates the asset when the save response is lost, and saving the same import again makes a second asset', async () => {
      const fileId = await upload('lost.pdf');
      const before = h.emulator.state.assetCount;
      h.emulator.faults.loseSaveResponse();
      // A refused save answers as usual; the lost response waits for a save that did its work.
      expect((await h.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form({ name: 'no brand' }) })).status).toBe(400);
      const save = () =>
        h.api(`/api/v4/media/save/${fileId}`, { method: 'POST', body: form({ brandId: IDS.brands.riverside, name: 'Lost response' }) });
      await expect(save()).rejects.toThrow();
      expect(h.emulator.state.assetCount).toBe(before + 1);
      expect((await save()).status).toBe(201);
      const found = await json<unknown[]>(await h.api('/api/v4/media/?keyword=Lost%20response'));
      expect(found).toHaveLength(2);
      expect(h.emulator.state.getImport(fileId)?.saves).toHaveLength(2);
    });
  });

  describe('storage URLs and download links', () => {
    it('refuses an Authorization header on download and bucket URLs, and counts it', async () => {
      const before = h.emulator.storageAuthorizationAttempts();
      const { s3_file: link } = await json<{ s3_file: string }>(await h.api(`/api/v4/media/${IDS.assets.sitePlan}/download/`));
      const withAuth = await fetch(link, { headers: { authorization: `Bearer ${await h.token()}` } });
      expect(withAuth.status).toBe(400);
      const body = new FormData();
      body.append('key', 'x/p1');
      body.append('file', new Blob(['x']));
      const bucket = await fetch(`${h.emulator.url}/bucket/`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${await h.token()}` },
      });
      expect(bucket.status).toBe(400);
      expect(h.emulator.storageAuthorizationAttempts()).toBe(before + 2);
      expect((await fetch(link)).status).toBe(200);
    });

    it('expires links by time and on demand', async () => {
      const link = async () => (await json<{ s3_file: string }>(await h.api(`/api/v4/media/${IDS.assets.brochure}/download/`))).s3_file;
      const first = await link();
      expect(new URL(first).search).toContain('X-Amz-Signature');
      h.clock.now += 301_000;
      expect((await fetch(first)).status).toBe(403);
      const second = await link();
      h.emulator.faults.expireDownloadLinks();
      expect((await fetch(second)).status).toBe(403);
      const third = await fetch(await link());
      expect(third.status).toBe(200);
      expect(Buffer.from(await third.arrayBuffer()).toString()).toBe('%PDF-1.7 brochure');
    });
  });

  describe('control API', () => {
    it('takes fault presets and generic faults over HTTP and reports call counts by route template', async () => {
      const control = (path: string, body?: unknown) =>
        fetch(`${h.emulator.url}/__emulator${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
      expect((await control('/faults', { preset: 'drop-connection', route: 'GET /v4/brands' })).status).toBe(201);
      await expect(h.api('/api/v4/brands/')).rejects.toThrow();
      expect((await control('/faults', { route: 'GET /api/v4/media/{id}', status: 503 })).status).toBe(201);
      expect((await h.api(`/api/v4/media/${IDS.assets.sitePlan}/`)).status).toBe(503);
      expect((await control('/faults', { preset: 'nonsense' })).status).toBe(400);
      const calls = await json<{ byRoute: Record<string, number> }>(await control('/calls'));
      expect(calls.byRoute['GET /v4/media/{id}']).toBeGreaterThan(0);
      expect(h.emulator.calls.count('GET /api/v4/media/{id}', 503)).toBe(1);
    });
  });
});

describe('Bynder emulator control API', () => {
  it('expires tokens and links, tunes and starts the rate-limit block, seeds in bulk and reports state over HTTP', async () => {
    const h = await startHarness();
    try {
      const post = (path: string, body?: unknown) =>
        fetch(`${h.emulator.url}/__emulator${path}`, {
          method: 'POST',
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
      expect((await h.api('/api/v4/brands/')).status).toBe(200);
      expect((await post('/expire-tokens')).status).toBe(204);
      expect((await h.api('/api/v4/brands/')).status).toBe(401);

      const fresh = await startHarness();
      try {
        const link = (await json<{ s3_file: string }>(await fresh.api(`/api/v4/media/${IDS.assets.sitePlan}/download/`))).s3_file;
        expect((await fetch(`${fresh.emulator.url}/__emulator/expire-download-links`, { method: 'POST' })).status).toBe(204);
        expect((await fetch(link)).status).toBe(403);
      } finally {
        await fresh.emulator.close();
      }

      expect(await json(await post('/seed-bulk', { count: 25 }))).toMatchObject({ added: 25 });
      expect((await post('/rate-limit', { limit: 0 })).status).toBe(400);
      expect(await json(await post('/rate-limit', { quietSeconds: 60 }))).toEqual({ limit: 4500, windowSeconds: 300, quietSeconds: 60 });
      expect((await post('/rate-limit/block')).status).toBe(204);
      const token = await fetch(h.emulator.tokenUrl, {
        method: 'POST',
        body: form({ grant_type: 'client_credentials', client_id: h.emulator.clientId, client_secret: h.emulator.clientSecret }),
      });
      expect(token.status).toBe(429);
      const state = await json<{ assets: number; rateLimit: { blocked: boolean; rejected: number }; storageAuthorizationAttempts: number }>(
        await fetch(`${h.emulator.url}/__emulator/state`),
      );
      expect(state).toMatchObject({ assets: 30, rateLimit: { blocked: true, rejected: 1 }, storageAuthorizationAttempts: 0 });
      expect((await fetch(`${h.emulator.url}/__emulator/rate-limit`, { method: 'DELETE' })).status).toBe(204);
      h.emulator.faults.clear();
      const again = await fetch(h.emulator.tokenUrl, {
        method: 'POST',
        body: form({ grant_type: 'client_credentials', client_id: h.emulator.clientId, client_secret: h.emulator.clientSecret }),
      });
      expect(again.status).toBe(200);
    } finally {
      await h.emulator.close();
    }
  });
});

describe('Bynder emulator rate limit', () => {
  it('blocks over the window with 429 and no Retry-After; requests during the block extend it', async () => {
    const h = await startHarness({ rateLimit: { limit: 5, windowSeconds: 60, quietSeconds: 300 } });
    try {
      const token = await h.token(); // 1 request
      const call = () => fetch(`${h.emulator.url}/api/v4/brands/`, { headers: { authorization: `Bearer ${token}` } });
      for (let i = 0; i < 4; i++) expect((await call()).status).toBe(200);
      const over = await call();
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBeNull();
      expect(await json(over)).toMatchObject({ statuscode: '429' });

      h.clock.now += 200_000;
      expect((await call()).status).toBe(429); // extends the block to +300 s from now
      h.clock.now += 200_000;
      expect((await call()).status).toBe(429); // 400 s after the first 429, but only 200 s of quiet
      h.clock.now += 300_000;
      expect((await call()).status).toBe(200);
      expect(h.emulator.rateLimiter.rejectedCount).toBe(3);

      h.emulator.faults.rateLimitNow();
      expect((await call()).status).toBe(429);
      h.clock.now += 300_000;
      expect((await call()).status).toBe(200);
    } finally {
      await h.emulator.close();
    }
  });

  it('slides the window: old requests stop counting', async () => {
    const h = await startHarness({ rateLimit: { limit: 3, windowSeconds: 10, quietSeconds: 60 } });
    try {
      await h.token(); // t0: 1 in the window
      expect((await h.api('/api/v4/brands/')).status).toBe(200); // t0: 2
      h.clock.now += 6000;
      expect((await h.api('/api/v4/brands/')).status).toBe(200); // t0+6 s: 3, the limit
      h.clock.now += 5000; // t0+11 s: both t0 requests left the 10 s window
      expect((await h.api('/api/v4/brands/')).status).toBe(200);
      expect((await h.api('/api/v4/brands/')).status).toBe(200);
      expect((await h.api('/api/v4/brands/')).status).toBe(429);
    } finally {
      await h.emulator.close();
    }
  });
});
