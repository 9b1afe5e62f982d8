/**
 * The Bynder connector over the real HTTP client against the Bynder emulator (loopback): the
 * assessment's reads, both kinds of save, and a lost save response found again by the marker tag
 * or the version list, so that a drift between the connector's reading and the client's shows.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type BynderEmulator, DEFAULT_BYNDER_SEED_IDS as IDS, startBynderEmulator } from '../../emulator/bynder/index.js';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient } from '../../shared/connectors/bynder/client/client.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import { BynderConfigSchema } from '../../shared/connectors/bynder/config.js';
import { createBynderConnector } from '../../shared/connectors/bynder/connector.js';
import type { CommitMarker, CommitPlan, PreparedUpload, TransferBody } from '../../shared/connectors/types.js';
import type { S3Tag } from '../../shared/s3/tags.js';

let emulator: BynderEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

const BYTES = Buffer.alloc(64 * 1024, 7);
const MARKER: CommitMarker = { object: 's3://inbox/a (version v1)', token: 'c0ffee00c0ffee00c0ffee00c0ffee00' };

async function setup(flow: 'file-service' | 'legacy' = 'file-service') {
  emulator = await startBynderEmulator();
  const emu = emulator;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));
  const config = BynderConfigSchema.parse({
    portalUrl: emu.url,
    credentialsSecretName: 'bynder',
    uploadFlow: flow,
    requestsPerSecond: 1000,
    routingRules: [{ prefix: 'inbox/harbour/', brand: 'Harbour Living', sameNameIsNewVersion: true, metadata: { 'Sales region': 'UK' } }],
  });
  const client = new HttpBynderClient({
    config,
    credentials: () => Promise.resolve({ clientId: emu.clientId, clientSecret: emu.clientSecret }),
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now: Date.now, sleep }),
    sleep,
  });
  // The emulator's search is consistent at once: no settle window needed to believe it.
  const connector = createBynderConnector({ config, client, commitSettleMs: 0 });
  const body: TransferBody = {
    openBody: async (range) => Readable.from([range ? BYTES.subarray(range.start, range.end) : BYTES]),
    contentLength: BYTES.length,
  };
  const upload = async (plan: CommitPlan): Promise<string> => {
    let prepared: PreparedUpload = await connector.destination.prepareUpload(plan);
    await connector.destination.transfer(prepared, body, plan, {
      onNewUpload: async (next) => {
        prepared = next;
      },
    });
    return prepared.uploadId;
  };
  const accept = async (key: string, tags: S3Tag[]): Promise<CommitPlan> => {
    const assessment = await connector.assess({ key, tags, sizeBytes: BYTES.length, now: new Date() });
    if (assessment.kind !== 'accept') throw new Error(`not accepted: ${JSON.stringify(assessment)}`);
    return assessment.plan;
  };
  return { emu, client, connector, upload, accept };
}

describe('Bynder connector against the emulator', () => {
  it.each(['file-service', 'legacy'] as const)(
    'saves a new asset once (%s upload) and finds it by its marker after a lost save response',
    async (flow) => {
      const { emu, client, connector, upload, accept } = await setup(flow);
      const plan = await accept('inbox/new/poster.jpg', [
        { Key: 'bynder:brand', Value: 'northwind construction' },
        { Key: 'bynder:meta:Sales region', Value: 'Nordics' },
        { Key: 'bynder:meta:colours', Value: 'Red + Blue' },
        { Key: 'bynder:tags', Value: 'spring' },
      ]);
      expect(plan.target).toEqual({ brandId: IDS.brands.northwind });
      const uploadId = await upload(plan);
      const context = await connector.destination.beforeCommit(plan);
      emu.faults.loseSaveResponse();
      const error = await connector.destination.commit(plan, uploadId, MARKER).catch((err: unknown) => err);
      expect(connector.classify(error, 'commit').kind).toBe('transient');

      const found = await connector.destination.findCommitted(plan, uploadId, MARKER, context);
      expect(found?.ids.mediaId).toBeDefined();
      const asset = await client.getMedia(found?.ids.mediaId as string);
      expect(asset).toMatchObject({ name: 'poster.jpg', brandId: IDS.brands.northwind });
      expect(asset?.tags).toEqual(expect.arrayContaining(['spring', `s3-ingest-${MARKER.token}`]));
      expect(asset?.propertyOptions).toEqual(expect.arrayContaining([IDS.options.red, IDS.options.blue, IDS.options.nordics]));
      const marked = await client.listMedia({ tags: `s3-ingest-${MARKER.token}` });
      expect(marked.media).toHaveLength(1);
    },
  );

  it('makes a same-name file a new version, and finds it by the version list after a lost save response', async () => {
    const { emu, client, connector, upload, accept } = await setup();
    const plan = await accept('inbox/harbour/facade.jpg', [{ Key: 'bynder:name', Value: 'Harbour facade' }]);
    expect(plan.target).toEqual({ brandId: IDS.brands.harbour, mediaId: IDS.assets.harbourFacade });
    const before = (await client.getMedia(IDS.assets.harbourFacade, { versions: true }))?.mediaItems?.length ?? 0;
    const uploadId = await upload(plan);
    const context = await connector.destination.beforeCommit(plan);
    emu.faults.loseSaveResponse();
    await expect(connector.destination.commit(plan, uploadId, MARKER)).rejects.toThrow();

    const found = await connector.destination.findCommitted(plan, uploadId, MARKER, context);
    expect(found?.ids).toEqual({ mediaId: IDS.assets.harbourFacade, mediaItemId: expect.any(String) });
    const after = (await client.getMedia(IDS.assets.harbourFacade, { versions: true }))?.mediaItems?.length ?? 0;
    expect(after).toBe(before + 1);
  });

  it('rejects an option the portal does not have, listing the allowed ones', async () => {
    const { connector } = await setup();
    const assessment = await connector.assess({
      key: 'inbox/x/a.jpg',
      tags: [
        { Key: 'bynder:brand', Value: 'Riverside Estates' },
        { Key: 'bynder:meta:region', Value: 'Mars' },
      ],
      sizeBytes: 10,
      now: new Date(),
    });
    expect(assessment.kind).toBe('reject');
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.field).toBe('bynder:meta:region');
    expect(assessment.problems[0]?.fix).toContain('nordics "Nordics"');
  });
});
