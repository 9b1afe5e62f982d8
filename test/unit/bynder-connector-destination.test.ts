import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BynderNetworkError } from '../../shared/connectors/bynder/client/errors.js';
import { BynderConfigSchema } from '../../shared/connectors/bynder/config.js';
import { createBynderConnector } from '../../shared/connectors/bynder/connector.js';
import type { CommitMarker, CommitPlan, CommittedVersion, PreparedUpload, TransferBody } from '../../shared/connectors/types.js';
import { brand, existingAsset, FakeBynder } from '../helpers/fake-bynder.js';

const START = new Date('2026-03-01T10:00:00Z');
const SETTLE_MS = 120_000;
const MARKER: CommitMarker = { object: 's3://inbox/a/hero.jpg (version v1)', token: '9f86d081884c7d65' };
const OTHER_MARKER: CommitMarker = { object: 's3://inbox/a/hero.jpg (version v2)', token: '2c26b46b68ffc68f' };
const BYTES = Buffer.from('the file body');

const NEW_ASSET: CommitPlan = {
  connector: 'bynder',
  fileName: 'hero.jpg',
  target: { brandId: 'B-MKT' },
  labels: { brandName: 'Marketing' },
  metadata: [{ id: 'mp-col', value: 'o-red,o-blue' }],
  options: { name: 'Hero', description: 'Spring', tags: '["spring"]', sizeBytes: String(BYTES.length) },
};
const NEW_VERSION: CommitPlan = {
  connector: 'bynder',
  fileName: 'hero.jpg',
  target: { brandId: 'B-MKT', mediaId: 'A-1' },
  metadata: [],
  options: { name: 'Hero', sizeBytes: String(BYTES.length) },
};

function body(): TransferBody {
  return { openBody: async () => Readable.from([BYTES]), contentLength: BYTES.length };
}

function setup(flow: 'file-service' | 'legacy' = 'file-service') {
  let clock = START;
  const fake = new FakeBynder({
    brands: [brand('B-MKT', 'Marketing')],
    assets: [existingAsset('A-1', 'Hero', 'B-MKT', 2, 999)],
    flow,
    now: () => clock,
  });
  const config = BynderConfigSchema.parse({ portalUrl: 'https://example.bynder.com', credentialsSecretName: 's' });
  const connector = createBynderConnector({ config, client: fake, now: () => clock, commitSettleMs: SETTLE_MS });
  const destination = connector.destination;
  /** Prepare and transfer as the ingest does, recording a replacement id like the ledger would. */
  const upload = async (plan: CommitPlan): Promise<string> => {
    let prepared: PreparedUpload = await destination.prepareUpload(plan);
    await destination.transfer(prepared, body(), plan, {
      onNewUpload: async (next) => {
        prepared = next;
      },
    });
    return prepared.uploadId;
  };
  return {
    fake,
    connector,
    destination,
    upload,
    advance: (ms: number) => {
      clock = new Date(clock.getTime() + ms);
    },
  };
}

describe('Bynder destination: a new asset', () => {
  it('saves once with the brand, name, description, tags, metaproperties and the marker tag', async () => {
    const { fake, destination, upload } = setup();
    const uploadId = await upload(NEW_ASSET);
    expect(uploadId).toBe('file-service:upload-1');
    const context = await destination.beforeCommit(NEW_ASSET);
    expect(context).toEqual({ kind: 'new-asset', startedAt: START.toISOString() });
    const committed = await destination.commit(NEW_ASSET, uploadId, MARKER);
    expect(fake.callsOf('saveAsNewAsset').map((c) => c.args[0])).toEqual([
      {
        importId: 'upload-1',
        brandId: 'B-MKT',
        name: 'Hero',
        description: 'Spring',
        tags: ['spring', 's3-ingest-9f86d081884c7d65'],
        metaproperties: { 'mp-col': ['o-red', 'o-blue'] },
      },
    ]);
    expect(committed).toEqual({ connector: 'bynder', ids: { mediaId: expect.any(String), mediaItemId: expect.any(String) } });
  });

  it('after a lost save response, finds the asset by its marker and never saves again', async () => {
    const { fake, connector, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_ASSET);
    const context = await destination.beforeCommit(NEW_ASSET);
    fake.failNext('saveAsNewAsset', {
      error: new BynderNetworkError(
        'POST /api/v4/media/save/upload-1: socket hang up',
        { method: 'POST', path: '/api/v4/media/save/upload-1' },
        false,
      ),
      afterEffect: true,
    });
    const error = await destination.commit(NEW_ASSET, uploadId, MARKER).catch((err: unknown) => err);
    expect(connector.classify(error, 'commit').kind).toBe('transient');

    advance(30_000);
    const found = await destination.findCommitted(NEW_ASSET, uploadId, MARKER, context);
    const assets = [...fake.assets.values()].filter((a) => a.name === 'Hero' && a.id !== 'A-1');
    expect(assets).toHaveLength(1);
    expect(found).toEqual({ connector: 'bynder', ids: { mediaId: assets[0]?.id } });
    // Another object version's marker finds nothing of it.
    advance(SETTLE_MS);
    expect(await destination.findCommitted(NEW_ASSET, uploadId, OTHER_MARKER, context)).toBeUndefined();
    expect(fake.callsOf('saveAsNewAsset')).toHaveLength(1);
  });

  it("does not believe a search that finds nothing while Bynder's index may still lag the save", async () => {
    const { fake, connector, destination, upload, advance } = setup();
    fake.searchLags = true;
    const uploadId = await upload(NEW_ASSET);
    const context = await destination.beforeCommit(NEW_ASSET);
    fake.failNext('saveAsNewAsset', { error: FakeBynder.apiError(502, 'Bad gateway'), afterEffect: true });
    await expect(destination.commit(NEW_ASSET, uploadId, MARKER)).rejects.toThrow();

    advance(10_000);
    const notYet = await destination.findCommitted(NEW_ASSET, uploadId, MARKER, context).catch((err: unknown) => err);
    const classified = connector.classify(notYet, 'find-committed');
    expect(classified).toMatchObject({ kind: 'transient', retryAfterMs: SETTLE_MS - 10_000 });

    fake.unindexed.clear();
    advance(SETTLE_MS);
    expect(await destination.findCommitted(NEW_ASSET, uploadId, MARKER, context)).toBeDefined();
    expect(fake.callsOf('saveAsNewAsset')).toHaveLength(1);
  });

  it('after a crash between beforeCommit and the save, finds nothing once the window passed, and saves once', async () => {
    const { fake, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_ASSET);
    const context = await destination.beforeCommit(NEW_ASSET);
    // The process dies here; the redelivered record resumes with the ledger's upload id and context.
    advance(SETTLE_MS + 1);
    expect(await destination.findCommitted(NEW_ASSET, uploadId, MARKER, context)).toBeUndefined();
    await destination.commit(NEW_ASSET, uploadId, MARKER);
    expect(fake.callsOf('saveAsNewAsset')).toHaveLength(1);
    expect(await destination.findCommitted(NEW_ASSET, uploadId, MARKER, context)).toBeDefined();
  });
});

describe('Bynder destination: a new version', () => {
  it("records the asset's versions before the save, and after a lost response finds the new one by the version list", async () => {
    const { fake, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_VERSION);
    const context = await destination.beforeCommit(NEW_VERSION);
    expect(context).toEqual({
      kind: 'new-version',
      mediaId: 'A-1',
      itemIds: '["A-1-item-1","A-1-item-2"]',
      startedAt: START.toISOString(),
    });
    fake.failNext('saveAsNewVersion', {
      error: FakeBynder.apiError(504, 'Gateway timeout', '/api/v4/media/A-1/save/upload-1'),
      afterEffect: true,
    });
    await expect(destination.commit(NEW_VERSION, uploadId, MARKER)).rejects.toThrow();
    expect(fake.versionsOf('A-1')).toBe(3);

    advance(1_000);
    const found: CommittedVersion | undefined = await destination.findCommitted(NEW_VERSION, uploadId, MARKER, context);
    expect(found).toEqual({ connector: 'bynder', ids: { mediaId: 'A-1', mediaItemId: expect.any(String) }, versionLabel: '3' });
    expect(fake.callsOf('saveAsNewVersion')).toHaveLength(1);
    expect(fake.versionsOf('A-1')).toBe(3);
  });

  it('after a crash before the save, finds no new version once the window passed, saves once', async () => {
    const { fake, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_VERSION);
    const context = await destination.beforeCommit(NEW_VERSION);
    await expect(destination.findCommitted(NEW_VERSION, uploadId, MARKER, context)).rejects.toThrow(/looked for again/);
    advance(SETTLE_MS);
    expect(await destination.findCommitted(NEW_VERSION, uploadId, MARKER, context)).toBeUndefined();
    const committed = await destination.commit(NEW_VERSION, uploadId, MARKER);
    expect(committed.ids.mediaId).toBe('A-1');
    expect(fake.versionsOf('A-1')).toBe(3);
  });

  it("does not take a version someone else added meanwhile, of another size, for this file's", async () => {
    const { fake, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_VERSION);
    const context = await destination.beforeCommit(NEW_VERSION);
    fake.assets.get('A-1')?.mediaItems?.push({ id: 'by-hand', version: 3, active: true, size: 5 });
    advance(SETTLE_MS);
    expect(await destination.findCommitted(NEW_VERSION, uploadId, MARKER, context)).toBeUndefined();
  });

  it('refuses to guess without the record of the versions before the save (an operator decides)', async () => {
    const { connector, destination, upload, advance } = setup();
    const uploadId = await upload(NEW_VERSION);
    advance(SETTLE_MS);
    const error = await destination.findCommitted(NEW_VERSION, uploadId, MARKER, undefined).catch((err: unknown) => err);
    expect(connector.classify(error, 'find-committed').kind).toBe('operator');
  });
});

describe('Bynder destination: upload ids', () => {
  it("hands the legacy flow's import id to the ingest through onNewUpload, and the save uses it", async () => {
    const { fake, destination, upload } = setup('legacy');
    const uploadId = await upload(NEW_ASSET);
    expect(uploadId).toBe('legacy:upload-1:import-2');
    await destination.commit(NEW_ASSET, uploadId, MARKER);
    expect(fake.callsOf('saveAsNewAsset')[0]?.args[0]).toMatchObject({ importId: 'import-2' });
  });

  it('refuses to lose a legacy import id when the caller cannot record it, and to commit a legacy upload without one', async () => {
    const { connector, destination } = setup('legacy');
    const prepared = await destination.prepareUpload(NEW_ASSET);
    const error = await destination.transfer(prepared, body(), NEW_ASSET).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'BynderUploadIdError' });
    const commitError = await destination.commit(NEW_ASSET, prepared.uploadId, MARKER).catch((err: unknown) => err);
    expect(connector.classify(commitError, 'commit').kind).toBe('transient');
  });

  it('treats an expired import at the save as transient (upload again)', async () => {
    const { connector, destination } = setup();
    const error = await destination.commit(NEW_ASSET, 'file-service:never-uploaded', MARKER).catch((err: unknown) => err);
    expect(connector.classify(error, 'commit')).toMatchObject({ kind: 'transient', reason: expect.stringContaining('uploaded again') });
  });

  it("refuses a plan or an upload id that is not the connector's", async () => {
    const { destination } = setup();
    await expect(destination.commit({ ...NEW_ASSET, target: { binderId: 'x' } }, 'file-service:u', MARKER)).rejects.toThrow(
      /not a Bynder plan/,
    );
    await expect(destination.commit(NEW_ASSET, 'b6d3c1a0-upload', MARKER)).rejects.toThrow(/not a Bynder upload id/);
  });
});
