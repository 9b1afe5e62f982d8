/**
 * The Bynder ingest end to end: local S3 (versioned inbox), local DynamoDB (the ledger), the SQS
 * simulator and the real ingest handler, with the Bynder connector chosen by the real registry
 * and talking to the Bynder emulator over its HTTP client. The iBinder ingest's case list, for
 * Bynder: a new asset with its metaproperties, a new version named by `bynder:asset` or by the
 * same-name rule, a rejection with its report and nothing uploaded, mixed namespaces, a
 * duplicate delivery, and the disposition tags.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BYNDER_SEED_IDS as IDS } from '../../emulator/bynder/index.js';
import { type BynderIngestStack, type BynderIngestStackOptions, startBynderIngestStack } from '../helpers/bynder-ingest-stack.js';
import { readObject, readRejection, sampleBytes, sha256Hex, validTags } from '../helpers/ingest-scenarios.js';

const PREPARE = 'POST /v7/file_cmds/upload/prepare';
const SAVE_NEW = 'POST /v4/media/save/{importId}';
const SAVE_VERSION = 'POST /v4/media/{id}/save/{importId}';

let h: BynderIngestStack | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(options: BynderIngestStackOptions = {}): Promise<BynderIngestStack> {
  h = await startBynderIngestStack(options);
  return h;
}

/** Tags of a valid new asset: brand, its required region, a multi-select and tags. */
const NEW_ASSET_TAGS = {
  'bynder:brand': 'Northwind Construction',
  'bynder:meta:region': 'Nordics',
  'bynder:meta:colours': 'Red + Blue',
  'bynder:tags': 'spring',
};

describe('Bynder ingest: the case list', () => {
  it('saves a tagged file as a new asset with its metaproperties, once, and deletes the inbox object', async () => {
    const s = await start();
    const key = 'inbox/bynder/Poster.jpg';
    const bytes = sampleBytes('poster', 40_000);
    const { versionId } = await s.stack.putInboxObject(key, bytes, NEW_ASSET_TAGS);

    const report = await s.drain();

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const assets = s.assetsNamed('Poster.jpg');
    expect(assets).toHaveLength(1);
    const asset = assets[0]!;
    expect(asset.brandId).toBe(IDS.brands.northwind);
    expect(asset.metadata.get(IDS.metaproperties.region)).toEqual([IDS.options.nordics]);
    expect(asset.metadata.get(IDS.metaproperties.colours)?.sort()).toEqual([IDS.options.red, IDS.options.blue].sort());
    expect(asset.tags).toEqual(expect.arrayContaining(['spring', expect.stringMatching(/^s3-ingest-[0-9a-f]{32}$/)]));
    expect(asset.items).toHaveLength(1);
    expect(asset.items[0]?.blob.size).toBe(bytes.length);
    expect(await asset.items[0]?.blob.digest()).toBe(sha256Hex(bytes));
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(1);
    expect(await readObject(s.stack, key, versionId)).toBeUndefined();
    const entry = await s.deps.ledger.get({ bucket: s.stack.services.inboxBucket, key, versionId });
    expect(entry).toMatchObject({ state: 'committed', connector: 'bynder', versionIds: { mediaId: asset.id } });
  });

  it('adds a new version to the asset bynder:asset names, and creates no asset', async () => {
    const s = await start();
    const before = s.bynder.state.liveAsset(IDS.assets.sitePlan)?.items.length ?? 0;
    const assetsBefore = s.bynder.state.allAssets().length;
    await s.stack.putInboxObject('inbox/bynder/site-plan-rev-b.pdf', sampleBytes('site plan rev B'), {
      'bynder:asset': IDS.assets.sitePlan,
    });

    const report = await s.drain();

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(s.bynder.state.liveAsset(IDS.assets.sitePlan)?.items).toHaveLength(before + 1);
    expect(s.bynder.state.allAssets()).toHaveLength(assetsBefore);
    expect(s.bynder.calls.count(SAVE_VERSION)).toBe(1);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(0);
  });

  it('makes a file a new version of the same-name asset in the brand under a sameNameIsNewVersion rule', async () => {
    const s = await start({
      bynder: {
        routingRules: [
          { prefix: 'inbox/harbour/', brand: 'Harbour Living', sameNameIsNewVersion: true, metadata: { 'Sales region': 'UK' } },
        ],
      },
    });
    const before = s.bynder.state.liveAsset(IDS.assets.harbourFacade)?.items.length ?? 0;
    await s.stack.putInboxObject('inbox/harbour/facade.jpg', sampleBytes('facade v3'), { 'bynder:name': 'Harbour facade' });

    const report = await s.drain();

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(s.bynder.state.liveAsset(IDS.assets.harbourFacade)?.items).toHaveLength(before + 1);
    expect(s.assetsNamed('Harbour facade')).toHaveLength(1);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(0);
  });

  it('rejects an option the portal does not have with a report listing the allowed options, and uploads nothing', async () => {
    const s = await start();
    const key = 'inbox/bynder/Wrong region.jpg';
    await s.stack.putInboxObject(key, sampleBytes('wrong region'), { 'bynder:brand': 'Riverside Estates', 'bynder:meta:region': 'Mars' });

    const report = await s.drain();

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const rejection = await readRejection(s.stack, key);
    expect(rejection.copy).toBeDefined();
    expect(rejection.report?.connector).toBe('bynder');
    const problem = rejection.report?.problems.find((p) => p.field === 'bynder:meta:region');
    expect(problem?.fix).toContain('Nordics');
    expect(problem?.fix).toContain('Benelux');
    expect(s.bynder.calls.count(PREPARE)).toBe(0);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(0);
    expect(await readObject(s.stack, key)).toBeUndefined();
  });

  it('rejects an object tagged for iBinder and Bynder at once, before either system is called', async () => {
    const s = await start();
    const key = 'inbox/bynder/Both systems.pdf';
    await s.stack.putInboxObject(key, sampleBytes('both'), { ...validTags(), 'bynder:brand': 'Riverside Estates' });
    const ibinderCalls = s.stack.services.emulator.calls.total();

    const report = await s.drain();

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const rejection = await readRejection(s.stack, key);
    expect(rejection.report?.problems[0]?.message).toContain('tags of two systems');
    expect(s.bynder.calls.total()).toBe(0);
    expect(s.stack.services.emulator.calls.total()).toBe(ibinderCalls);
  });

  it('acknowledges a duplicate delivery of a saved file without a second asset', async () => {
    const s = await start();
    const key = 'inbox/bynder/Twice.jpg';
    await s.stack.putInboxObject(key, sampleBytes('twice'), NEW_ASSET_TAGS);
    await s.drain();
    expect(s.assetsNamed('Twice.jpg')).toHaveLength(1);

    s.stack.queue.send(s.stack.notifications.lastFor(key)?.body ?? '');
    const again = await s.drain();

    expect(again.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(again.deadLetters).toEqual([]);
    expect(s.assetsNamed('Twice.jpg')).toHaveLength(1);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(1);
    expect(s.bynder.calls.count(PREPARE)).toBe(1);
  });

  it('with disposition "tag", keeps the inbox object tagged with the connector and the asset id', async () => {
    const s = await start({ stack: { config: { disposition: 'tag' } } });
    const key = 'inbox/bynder/Kept.jpg';
    const { versionId } = await s.stack.putInboxObject(key, sampleBytes('kept'), NEW_ASSET_TAGS);

    await s.drain();

    const asset = s.assetsNamed('Kept.jpg')[0];
    expect(asset).toBeDefined();
    const kept = await readObject(s.stack, key, versionId);
    expect(kept?.tags).toMatchObject({ 'ingested:status': 'committed', 'ingested:connector': 'bynder', 'ingested:media-id': asset?.id });
  });
});
