/**
 * The Bynder client against the Bynder emulator (a real server on loopback): the flows end to
 * end, so that a drift between the client's reading of the reference and the emulator's shows.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BynderEmulator,
  type BynderEmulatorOptions,
  DEFAULT_BYNDER_SEED_IDS as IDS,
  startBynderEmulator,
} from '../../emulator/bynder/index.js';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import type { UploadSource } from '../../shared/connectors/bynder/client/types.js';

let emulator: BynderEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: BynderEmulatorOptions = {}): Promise<BynderEmulator> {
  emulator = await startBynderEmulator(options);
  return emulator;
}

function client(
  emu: BynderEmulator,
  config: Partial<HttpBynderClientOptions['config']> = {},
  overrides: Partial<HttpBynderClientOptions> = {},
) {
  // Real clock for the emulator's tokens; waits shortened so polls and backoff take milliseconds.
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));
  return new HttpBynderClient({
    config: {
      portalUrl: emu.url,
      scopes: 'asset:read asset:write meta.assetbank:read',
      uploadFlow: 'file-service',
      fileServicePaths: 'sdk',
      requestsPerSecond: 1000,
      throttlePauseSeconds: 330,
      ...config,
    },
    credentials: () => Promise.resolve({ clientId: emu.clientId, clientSecret: emu.clientSecret }),
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now: Date.now, sleep }),
    sleep,
    ...overrides,
  });
}

function source(size: number, fileName: string): UploadSource {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = i % 253;
  return { size, fileName, open: (range) => Promise.resolve(Readable.from([range ? data.subarray(range.start, range.end) : data])) };
}

const metadata = { [IDS.metaproperties.region]: [IDS.options.uk], [IDS.metaproperties.colours]: [IDS.options.red, IDS.options.blue] };

describe('HttpBynderClient against the Bynder emulator', () => {
  it('reads brands, metaproperties (options paged past the inline ones), media and a download', async () => {
    const emu = await start({ inlineOptionLimit: 50 });
    const c = client(emu);
    expect((await c.listBrands()).map((b) => b.id)).toContain(IDS.brands.harbour);
    const properties = await c.listMetaproperties();
    expect(properties.find((p) => p.id === IDS.metaproperties.projectCode)?.options).toHaveLength(120);
    expect(properties.find((p) => p.id === IDS.metaproperties.colours)).toMatchObject({ name: 'colours', isMultiselect: true });
    const page = await c.listMedia({ total: true, limit: 1000, orderBy: 'dateModified asc' });
    expect(page.total).toBe(page.media.length);
    const asset = await c.getMedia(IDS.assets.harbourFacade, { versions: true });
    expect(asset?.mediaItems?.length).toBeGreaterThan(0);
    await expect(c.getMedia(IDS.assets.oldLogo)).resolves.toBeUndefined();
    const download = await c.download(await c.getDownloadUrl(IDS.assets.harbourFacade));
    let bytes = 0;
    for await (const chunk of download.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(download.contentLength);
    expect(emu.storageAuthorizationAttempts()).toBe(0);
  });

  it.each([
    ['file-service', 'sdk'],
    ['file-service', 'outline'],
    ['legacy', 'sdk'],
  ] as const)(
    'uploads (%s, %s paths) through chunk faults, saves through 303s, and saves a new version',
    async (uploadFlow, fileServicePaths) => {
      const emu = await start({ importConversion: { polls: 2 } });
      const c = client(emu, { uploadFlow, fileServicePaths }, { chunkSizeBytes: 1024 * 1024 });
      const file = source(2 * 1024 * 1024 + 5, 'drop/in/site plan.pdf');
      if (uploadFlow === 'file-service') emu.faults.failChunkUploads(2);
      emu.faults.failFinalise(1);
      const { importId } = await c.sendUpload(await c.startUpload(file.fileName), file);
      const saved = await c.saveAsNewAsset({
        importId,
        brandId: IDS.brands.harbour,
        name: 'Site plan v1',
        tags: ['plan'],
        metaproperties: metadata,
      });
      const asset = await c.getMedia(saved.mediaId, { versions: true });
      expect(asset).toMatchObject({ name: 'Site plan v1', brandId: IDS.brands.harbour, tags: ['plan'] });
      expect(asset?.propertyOptions).toEqual(expect.arrayContaining([IDS.options.uk, IDS.options.red, IDS.options.blue]));

      const second = await c.sendUpload(await c.startUpload(file.fileName), file);
      await c.saveAsNewVersion({ importId: second.importId, mediaId: saved.mediaId });
      expect((await c.getMedia(saved.mediaId, { versions: true }))?.mediaItems?.length).toBe(2);
      expect(emu.storageAuthorizationAttempts()).toBe(0);
    },
  );

  it('renews an expired token once, and stops at a 429 block without further requests', async () => {
    const emu = await start();
    const c = client(emu);
    await c.listBrands();
    emu.faults.expireTokens();
    await expect(c.listBrands()).resolves.not.toHaveLength(0);
    emu.faults.rateLimitNow();
    await expect(c.listBrands()).rejects.toMatchObject({ name: 'BynderThrottledError', failedFast: false });
    const before = emu.calls.count('GET /v4/brands');
    await expect(c.listMetaproperties()).rejects.toMatchObject({ name: 'BynderThrottledError', failedFast: true });
    expect(emu.calls.count('GET /v4/brands')).toBe(before);
  });

  it('a wrong secret is an operator error in either token error style', async () => {
    for (const tokenErrorStyle of ['oauth', 'message'] as const) {
      const emu = await start({ tokenErrorStyle });
      const c = client(emu, {}, { credentials: () => Promise.resolve({ clientId: emu.clientId, clientSecret: 'wrong' }) });
      await expect(c.listBrands()).rejects.toMatchObject({ kind: 'auth', operator: true, status: 401 });
      await emu.close();
      emulator = undefined;
    }
  });
});
