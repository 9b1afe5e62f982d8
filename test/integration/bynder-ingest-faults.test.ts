/**
 * The Bynder ingest through the faults a portal has, end to end (local S3, local DynamoDB, the
 * SQS simulator, the real handler and registry, the Bynder emulator over the HTTP client): a lost
 * save response, a 303 "not converted yet", a failed chunk, a 429 block, an expired token, both
 * file-service path readings, the legacy flow, a crash between the transfer and the save, and an
 * import Bynder no longer knows when the save is resumed. Each ends with exactly one asset.
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { BynderConnector } from '../../shared/connectors/bynder/index.js';
import type { ConnectorDestination, IngestConnector } from '../../shared/connectors/types.js';
import { ledgerKey } from '../../shared/ledger/types.js';
import { METRIC } from '../../shared/observability/metric-names.js';
import { type BynderIngestStack, type BynderIngestStackOptions, startBynderIngestStack } from '../helpers/bynder-ingest-stack.js';
import { sampleBytes } from '../helpers/ingest-scenarios.js';

const SDK_CHUNK = 'POST /v7/file_cmds/upload/{file_id}/chunk/{n}';
const OUTLINE_CHUNK = 'POST /v7/file/cmds/upload/{file_id}/chunk/{n}';
const PREPARE = 'POST /v7/file_cmds/upload/prepare';
const SAVE_NEW = 'POST /v4/media/save/{importId}';
const POLL = 'GET /v4/upload/poll';
const TOKEN = 'POST /v6/authentication/oauth2/token';

const TAGS = { 'bynder:brand': 'Northwind Construction', 'bynder:meta:region': 'Nordics' };

let h: BynderIngestStack | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(options: BynderIngestStackOptions = {}): Promise<BynderIngestStack> {
  h = await startBynderIngestStack(options);
  return h;
}

/** The Bynder connector with a destination whose first `beforeCommit` crashes: the bytes are sent, the save is not. */
function crashingBeforeTheSave(connector: BynderConnector): IngestConnector {
  const real = connector.destination;
  let crashed = false;
  const destination: ConnectorDestination = {
    commitIsIdempotent: real.commitIsIdempotent,
    prepareUpload: (plan) => real.prepareUpload(plan),
    transfer: (upload, body, plan, options) => real.transfer(upload, body, plan, options),
    beforeCommit: async (plan) => {
      if (!crashed) {
        crashed = true;
        throw new Error('simulated crash after the transfer, before the save');
      }
      return real.beforeCommit(plan);
    },
    commit: (plan, uploadId, marker) => real.commit(plan, uploadId, marker),
    findCommitted: (plan, uploadId, marker, context) => real.findCommitted(plan, uploadId, marker, context),
  };
  return { ...connector, destination };
}

const failedPerInvocation = (report: { invocations: { failedMessageIds: string[] }[] }) =>
  report.invocations.map((i) => i.failedMessageIds.length);

describe('Bynder ingest: faults', () => {
  it('finds the asset of a save whose response was lost, and saves nothing again', async () => {
    const s = await start();
    await s.stack.putInboxObject('inbox/bynder/Lost answer.jpg', sampleBytes('lost answer'), TAGS);
    s.bynder.faults.loseSaveResponse(1);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([1, 0]);
    expect(s.assetsNamed('Lost answer.jpg')).toHaveLength(1);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(1);
    expect(report.deadLetters).toEqual([]);
  });

  it('polls after a 303 "not converted yet" and saves again: one asset, in one delivery', async () => {
    const s = await start({ emulator: { importConversion: { polls: 1 } } });
    await s.stack.putInboxObject('inbox/bynder/Slow to convert.jpg', sampleBytes('slow conversion'), TAGS);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([0]);
    expect(s.bynder.calls.count(SAVE_NEW, 303)).toBe(1);
    expect(s.bynder.calls.count(SAVE_NEW, 201)).toBe(1);
    expect(s.bynder.calls.count(POLL)).toBeGreaterThanOrEqual(1);
    expect(s.assetsNamed('Slow to convert.jpg')).toHaveLength(1);
  });

  it('re-sends only the chunk that failed', async () => {
    const s = await start({ client: { chunkSizeBytes: 16 * 1024 } });
    const bytes = sampleBytes('three chunks', 40_000);
    await s.stack.putInboxObject('inbox/bynder/Three chunks.jpg', bytes, TAGS);
    s.bynder.faults.failChunkUploads(1);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([0]);
    // Three chunks, one of them twice.
    expect(s.bynder.calls.count(SDK_CHUNK)).toBe(4);
    expect(s.bynder.calls.count(SDK_CHUNK, 500)).toBe(1);
    expect(s.bynder.calls.count(PREPARE)).toBe(1);
    const asset = s.assetsNamed('Three chunks.jpg')[0];
    expect(asset?.items[0]?.blob.size).toBe(bytes.length);
  });

  it('on a 429 block stops calling, hands the record back for at least 5 minutes, counts BynderThrottled, then ingests it', async () => {
    const s = await start();
    await s.stack.putInboxObject('inbox/bynder/Blocked.jpg', sampleBytes('blocked'), TAGS);
    s.bynder.faults.rateLimitNow();

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([1, 0]);
    const [first, second] = report.invocations;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(300_000);
    const log = s.bynder.calls.log();
    const throttled = log.filter((c) => c.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(1);
    // No call to the portal while the pause lasts: the last 429 is the last call before the redelivery.
    const lastBlockedAt = Math.max(...throttled.map((c) => c.at));
    expect(log.filter((c) => c.at > lastBlockedAt && c.at < (second?.at ?? 0))).toEqual([]);
    expect(s.clientMetrics.filter((m) => m === METRIC.bynderThrottled)).toHaveLength(throttled.length);
    expect(s.throttledConnectors).toEqual(['bynder']);
    expect(s.assetsNamed('Blocked.jpg')).toHaveLength(1);
  });

  it('gets one new token after the token expired and repeats the refused call once', async () => {
    const s = await start();
    await s.stack.putInboxObject('inbox/bynder/Before expiry.jpg', sampleBytes('before expiry'), TAGS);
    await s.drain();
    const tokensBefore = s.bynder.calls.count(TOKEN);
    s.bynder.faults.expireTokens();
    await s.stack.putInboxObject('inbox/bynder/After expiry.jpg', sampleBytes('after expiry'), TAGS);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([0]);
    expect(s.bynder.calls.count(TOKEN) - tokensBefore).toBe(1);
    expect(s.bynder.calls.log().filter((c) => c.status === 401)).toHaveLength(1);
    expect(s.assetsNamed('After expiry.jpg')).toHaveLength(1);
  });

  it.each([
    ['sdk', SDK_CHUNK, OUTLINE_CHUNK],
    ['outline', OUTLINE_CHUNK, SDK_CHUNK],
  ] as const)('uploads by the %s path reading of the file service', async (paths, used, unused) => {
    const s = await start({ bynder: { fileServicePaths: paths } });
    await s.stack.putInboxObject(`inbox/bynder/Paths ${paths}.jpg`, sampleBytes(`paths ${paths}`), TAGS);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([0]);
    expect(s.bynder.calls.count(used)).toBeGreaterThanOrEqual(1);
    expect(s.bynder.calls.count(unused)).toBe(0);
    expect(s.assetsNamed(`Paths ${paths}.jpg`)).toHaveLength(1);
  });

  it('uploads by the legacy flow (endpoint, init, S3 parts, register, finalise, poll) when configured', async () => {
    const s = await start({ bynder: { uploadFlow: 'legacy' } });
    await s.stack.putInboxObject('inbox/bynder/Legacy.jpg', sampleBytes('legacy', 20_000), TAGS);

    const report = await s.drain();

    expect(failedPerInvocation(report)).toEqual([0]);
    expect(s.bynder.calls.count('POST /upload/init')).toBe(1);
    expect(s.bynder.calls.count(PREPARE)).toBe(0);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(1);
    expect(s.assetsNamed('Legacy.jpg')).toHaveLength(1);
  });

  it('after a crash between the transfer and the save, the redelivery saves once without uploading again', async () => {
    const s = await start();
    await s.stack.putInboxObject('inbox/bynder/Crash.jpg', sampleBytes('crash'), TAGS);

    const report = await s.drain({ deps: s.withBynder(crashingBeforeTheSave) });

    expect(failedPerInvocation(report)).toEqual([1, 0]);
    expect(s.bynder.calls.count(PREPARE)).toBe(1);
    expect(s.bynder.calls.count(SAVE_NEW)).toBe(1);
    expect(s.assetsNamed('Crash.jpg')).toHaveLength(1);
  });

  it('when Bynder no longer knows the import at the resumed save (404 "Import ID not found"), uploads again: one asset', async () => {
    const s = await start();
    const key = 'inbox/bynder/Expired import.jpg';
    const { versionId } = await s.stack.putInboxObject(key, sampleBytes('expired import'), TAGS);
    const deps = s.withBynder(crashingBeforeTheSave);
    // The first delivery sends the bytes and crashes before the save.
    const crashed = await s.drain({ deps, maxRounds: 1 });
    expect(failedPerInvocation(crashed)).toEqual([1]);
    const ref = { bucket: s.stack.services.inboxBucket, key, versionId };
    expect(await s.deps.ledger.get(ref)).toMatchObject({ state: 'claimed', transferred: true });
    // Bynder forgets the import (it expired): the stored upload names one it does not know.
    await s.stack.services.dynamodb.documentClient.send(
      new UpdateCommand({
        TableName: s.stack.services.ledgerTable,
        Key: { pk: ledgerKey(ref) },
        UpdateExpression: 'SET uploadId = :gone',
        ExpressionAttributeValues: { ':gone': 'file-service:00000000-0000-4000-8000-000000000404' },
      }),
    );

    const report = await s.drain({ deps });

    expect(report.deadLetters).toEqual([]);
    expect(s.bynder.calls.log().filter((c) => c.route === '/v4/media/save/{importId}' && c.status === 404).length).toBeGreaterThanOrEqual(
      1,
    );
    expect(s.bynder.calls.count(PREPARE)).toBe(2);
    expect(s.bynder.calls.count(SAVE_NEW, 201)).toBe(1);
    expect(s.assetsNamed('Expired import.jpg')).toHaveLength(1);
    const committed = await s.deps.ledger.get(ref);
    expect(committed).toMatchObject({ state: 'committed', connector: 'bynder' });
    // The ledger names the new upload, not the one Bynder forgot.
    const uploadId = committed?.state === 'committed' ? committed.uploadId : undefined;
    expect(uploadId).toMatch(/^file-service:/);
    expect(uploadId).not.toContain('000000000404');
  });
});
