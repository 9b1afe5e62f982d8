/**
 * Delivery semantics of the real ingest on the local stack: duplicates, a crash between the
 * PUT and the commit (and after the commit), rate limiting, an outage until the dead-letter
 * queue, token expiry, the S3 test event, a malformed message, and a large object's bytes.
 * Faults come from the emulator (real sockets); SQS semantics from the simulator.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import { type Destination, IBinderDestination } from '../../shared/connectors/ibinder/index.js';
import { ibinderConnectorOf, withDestination as overDestination } from '../helpers/ingest-factories.js';
import type { LedgerEntry } from '../../shared/ledger/types.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import {
  HARBOUR,
  ROUTE,
  documentsNamed,
  generatedStream,
  ledgerEntry,
  onlyDocumentNamed,
  purgeQueue,
  readObject,
  readRejection,
  resetEmulator,
  sampleBytes,
  sha256Hex,
  sha256OfStream,
  validTags,
} from '../helpers/ingest-scenarios.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await purgeQueue(stack);
  resetEmulator(stack);
});

/** Dependencies whose destination is wrapped, for crashes the emulator cannot fake. */
function withDestination(wrap: (real: Destination) => Partial<Destination>): IngestDependencies {
  const deps = stack.createIngestDeps();
  const real: Destination = new IBinderDestination(ibinderConnectorOf(deps).client);
  const wrapped: Destination = {
    name: real.name,
    prepareUpload: () => real.prepareUpload(),
    transfer: (upload, body) => real.transfer(upload, body),
    commit: (target, request) => real.commit(target, request),
    ...wrap(real),
  };
  return overDestination(deps, wrapped);
}

function messageIdFor(key: string): string {
  const sent = stack.notifications.lastFor(key);
  if (!sent) throw new Error(`no notification was sent for ${key}`);
  return sent.messageId;
}

/** The object became exactly one new version with these bytes, and the ledger says so. */
async function expectCommittedOnce(key: string, versionId: string | undefined, bytes: Buffer, fileName: string): Promise<LedgerEntry> {
  const { versions } = onlyDocumentNamed(stack, fileName);
  expect(versions).toHaveLength(1);
  const version = versions[0];
  if (!version) throw new Error('unreachable');
  expect(await stack.services.emulator.state.versionContent(version.id)).toEqual({ sha256: sha256Hex(bytes), size: bytes.length });
  const entry = await ledgerEntry(stack, key, versionId);
  expect(entry).toMatchObject({
    state: 'committed',
    connector: 'ibinder',
    versionIds: { versionId: version.id, documentId: version.documentId },
  });
  // Disposition `delete`: the inbox version is gone, and nothing was rejected.
  expect(await readObject(stack, key, versionId)).toBeUndefined();
  expect((await readRejection(stack, key)).copy).toBeUndefined();
  if (!entry) throw new Error('unreachable');
  return entry;
}

describe('ingest delivery on the local stack', () => {
  it('makes one version when the same event arrives twice in one batch', async () => {
    const key = 'inbox/it-delivery/duplicate/Twice in one batch.pdf';
    const bytes = sampleBytes('duplicate in one batch');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const duplicate = stack.queue.send(stack.notifications.lastFor(key)?.body ?? '');

    const report = await stack.drainIngest();
    expect(report.invocations[0]?.messageIds).toHaveLength(2);
    expect(report.drained).toBe(true);
    expect(report.deadLetters.map((d) => d.messageId)).not.toContain(duplicate.messageId);
    await expectCommittedOnce(key, versionId, bytes, 'Twice in one batch.pdf');
    const { calls } = stack.services.emulator;
    expect(calls.count(ROUTE.storagePut)).toBe(1);
    expect(calls.count(ROUTE.commit, 200)).toBe(1);
  });

  it('resumes with the stored uploadId and no second PUT when the commit never got through (connection dropped)', async () => {
    const key = 'inbox/it-delivery/crash/Crash before commit.pdf';
    const bytes = sampleBytes('crash between PUT and commit', 64 * 1024);
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const { emulator } = stack.services;
    emulator.faults.add({ route: ROUTE.commit, dropConnection: true, times: Infinity });

    let between: LedgerEntry | undefined;
    let putsBefore = 0;
    const report = await stack.drainIngest({
      beforeRound: async (round) => {
        if (round !== 2) return;
        between = await ledgerEntry(stack, key, versionId);
        putsBefore = emulator.calls.count(ROUTE.storagePut);
        emulator.faults.clear();
      },
    });

    const messageId = messageIdFor(key);
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[messageId], []]);
    // After the first delivery: bytes accepted under a recorded uploadId, not committed.
    expect(between).toMatchObject({ state: 'claimed', owner: messageId, transferred: true, uploadId: expect.any(String) });
    expect(putsBefore).toBe(1);
    expect(emulator.calls.count(ROUTE.commit, 0)).toBeGreaterThan(0);

    const entry = await expectCommittedOnce(key, versionId, bytes, 'Crash before commit.pdf');
    expect(emulator.calls.count(ROUTE.storagePut)).toBe(1);
    expect(emulator.calls.count(ROUTE.presign)).toBe(1);
    expect(emulator.calls.count(ROUTE.commit, 200)).toBe(1);
    const uploadId = between?.state === 'claimed' ? between.uploadId : undefined;
    expect(emulator.state.getVersion(entry.state === 'committed' ? (entry.versionIds.versionId ?? '') : '')?.uploadId).toBe(uploadId);
  });

  it('makes no second version when the consumer crashed after the commit but before the ledger recorded it', async () => {
    const key = 'inbox/it-delivery/crash/Crash after commit.pdf';
    const bytes = sampleBytes('crash after commit');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const committedVersionIds: string[] = [];
    const deps = withDestination((real) => ({
      commit: async (target, request) => {
        const version = await real.commit(target, request);
        committedVersionIds.push(version.versionId);
        if (committedVersionIds.length === 1) throw new Error('simulated crash: the function died right after the commit');
        return version;
      },
    }));

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[messageIdFor(key)], []]);
    const entry = await expectCommittedOnce(key, versionId, bytes, 'Crash after commit.pdf');
    // The commit is idempotent by uploadId: the resumed commit answered with the same version.
    expect(committedVersionIds).toHaveLength(2);
    expect(new Set(committedVersionIds).size).toBe(1);
    expect(entry).toMatchObject({ versionIds: { versionId: committedVersionIds[0] } });
    expect(stack.services.emulator.calls.count(ROUTE.storagePut)).toBe(1);
    expect(stack.services.emulator.calls.count(ROUTE.commit, 200)).toBe(2);
  });

  it('commits where the file was first resolved, once, when the object was re-tagged to another folder between a crash after the commit and the redelivery', async () => {
    const key = 'inbox/it-delivery/crash/Re-tagged after commit.pdf';
    const fileName = 'Re-tagged after commit.pdf';
    const bytes = sampleBytes('re-tagged after the commit');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const committedTo: string[] = [];
    const deps = withDestination((real) => ({
      commit: async (target, request) => {
        const version = await real.commit(target, request);
        committedTo.push(target.folderId);
        if (committedTo.length === 1) throw new Error('simulated crash: the function died right after the commit');
        return version;
      },
    }));

    const report = await stack.drainIngest({
      deps,
      beforeRound: async (round) => {
        if (round !== 2) return;
        // The producer moves the object to another folder before the redelivery.
        await stack.tagInboxObject(key, validTags({ 'ibinder:folder-path': '02 Structural/Drawings' }), versionId);
      },
    });

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[messageIdFor(key)], []]);
    const entry = await expectCommittedOnce(key, versionId, bytes, fileName);
    expect(onlyDocumentNamed(stack, fileName).document.folderId).toBe(HARBOUR.folders.architectureDrawings);
    expect(entry).toMatchObject({ target: { folderId: HARBOUR.folders.architectureDrawings, binderId: HARBOUR.binderId } });
    expect(committedTo).toEqual([HARBOUR.folders.architectureDrawings, HARBOUR.folders.architectureDrawings]);
    const { calls } = stack.services.emulator;
    expect(calls.count(ROUTE.storagePut)).toBe(1);
    expect(calls.count(ROUTE.presign)).toBe(1);
    expect(calls.count(ROUTE.commit, 409)).toBe(0);
    expect(
      stack.services.emulator.state
        .listDocuments()
        .filter((d) => d.folderId === HARBOUR.folders.structuralDrawings && d.fileName === fileName),
    ).toEqual([]);
  });

  it('waits as Retry-After says after a 429 and then succeeds in the same invocation', async () => {
    const key = 'inbox/it-delivery/rate-limited/Rate limited.pdf';
    const bytes = sampleBytes('429 then success');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const waits: number[] = [];
    // The client's sleep records the waits instead of sleeping; the cap is above Retry-After.
    const deps = stack.createIngestDeps({ ibinder: { maxDelayMs: 10_000, sleep: async (ms) => void waits.push(ms) } });
    const { emulator } = stack.services;
    emulator.faults.add({ route: ROUTE.commit, status: 429, retryAfterSeconds: 3, times: 2 });

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(waits).toEqual([3000, 3000]);
    expect(emulator.calls.count(ROUTE.commit, 429)).toBe(2);
    expect(emulator.calls.count(ROUTE.commit, 200)).toBe(1);
    expect(emulator.calls.count(ROUTE.storagePut)).toBe(1);
    await expectCommittedOnce(key, versionId, bytes, 'Rate limited.pdf');
  });

  it('hands a record back on every 500 until the message goes to the dead-letter queue, leaving the inbox object untouched and nothing rejected; a redrive after the outage resumes the upload', async () => {
    const key = 'inbox/it-delivery/outage/During the outage.pdf';
    const bytes = sampleBytes('500 until the DLQ');
    const tags = validTags();
    const { versionId } = await stack.putInboxObject(key, bytes, tags);
    // As deployed, the claim lease (function timeout + 60 s) is shorter than the visibility timeout.
    const deps = stack.createIngestDeps({
      ibinder: { maxAttempts: 2 },
      config: { claimLeaseSeconds: stack.queue.visibilityTimeoutSeconds - 30 },
    });
    const { emulator } = stack.services;
    emulator.faults.add({ route: ROUTE.commit, status: 500, times: Infinity });
    const deadBefore = stack.queue.deadLetters.length;

    const report = await stack.drainIngest({ deps });
    const messageId = messageIdFor(key);
    const maxReceiveCount = stack.queue.maxReceiveCount;
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual(Array.from({ length: maxReceiveCount }, () => [messageId]));
    // Each redelivery waits out the visibility timeout.
    expect(report.invocations.map((i) => i.at - (report.invocations[0]?.at ?? 0))).toEqual(
      Array.from({ length: maxReceiveCount }, (_, i) => i * stack.queue.visibilityTimeoutSeconds * 1000),
    );
    expect(report.drained).toBe(true);
    expect(stack.queue.deadLetters.slice(deadBefore)).toEqual([
      expect.objectContaining({ messageId, body: stack.notifications.lastFor(key)?.body, receiveCount: maxReceiveCount }),
    ]);

    // The bytes went up once; every delivery retried only the commit (2 attempts each).
    expect(emulator.calls.count(ROUTE.storagePut)).toBe(1);
    expect(emulator.calls.count(ROUTE.commit, 500)).toBe(maxReceiveCount * 2);
    expect(documentsNamed(stack, 'During the outage.pdf')).toEqual([]);
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({ state: 'claimed', transferred: true, attempts: maxReceiveCount });

    const inbox = await readObject(stack, key, versionId);
    expect(inbox?.bytes.equals(bytes)).toBe(true);
    expect(inbox?.tags).toEqual(tags);
    const rejection = await readRejection(stack, key);
    expect(rejection.copy).toBeUndefined();
    expect(rejection.report).toBeUndefined();

    // The outage ends; an operator redrives the dead letter (a new message id takes the claim over).
    emulator.faults.clear();
    const redriven = stack.queue.send(stack.queue.deadLetters[deadBefore]?.body ?? '');
    const afterRedrive = await stack.drainIngest({ deps });
    expect(afterRedrive.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(afterRedrive.invocations[0]?.messageIds).toEqual([redriven.messageId]);
    await expectCommittedOnce(key, versionId, bytes, 'During the outage.pdf');
    expect(emulator.calls.count(ROUTE.storagePut)).toBe(1);
  });

  it('fetches a new token once when the tokens are revoked between two batches, and both files arrive', async () => {
    const keys = ['inbox/it-delivery/token/Before revocation.pdf', 'inbox/it-delivery/token/After revocation.pdf'];
    const files = await Promise.all(
      keys.map(async (key) => {
        const bytes = sampleBytes(key);
        return { key, bytes, ...(await stack.putInboxObject(key, bytes, validTags())) };
      }),
    );
    const { emulator } = stack.services;
    let tokensAtRevocation = 0;
    const report = await stack.drainIngest({
      batchSize: 1,
      beforeRound: (round) => {
        if (round !== 2) return;
        tokensAtRevocation = emulator.calls.count(ROUTE.token);
        emulator.revokeTokens();
      },
    });

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[], []]);
    expect(emulator.calls.count(ROUTE.token) - tokensAtRevocation).toBe(1);
    expect(apiCallsAnswered(401)).toBe(1);
    for (const file of files)
      await expectCommittedOnce(file.key, file.versionId, file.bytes, file.key.slice(file.key.lastIndexOf('/') + 1));
  });

  it('refreshes the token when it is revoked between the PUT and the commit of one record', async () => {
    const key = 'inbox/it-delivery/token/Revoked mid-record.pdf';
    const bytes = sampleBytes('token revoked mid-record');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const { emulator } = stack.services;
    const deps = withDestination((real) => ({
      transfer: async (upload, body) => {
        await real.transfer(upload, body);
        emulator.revokeTokens();
      },
    }));
    const tokensBefore = emulator.calls.count(ROUTE.token);

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(emulator.calls.count(ROUTE.commit, 401)).toBe(1);
    expect(emulator.calls.count(ROUTE.commit, 200)).toBe(1);
    expect(emulator.calls.count(ROUTE.token) - tokensBefore).toBe(1);
    await expectCommittedOnce(key, versionId, bytes, 'Revoked mid-record.pdf');
  });

  it('retries a message that names two objects until both are in, without a second version of the first', async () => {
    const files = await Promise.all(
      ['inbox/it-delivery/two-records/First of two.pdf', 'inbox/it-delivery/two-records/Second of two.pdf'].map(async (key) => {
        const bytes = sampleBytes(key);
        return { key, bytes, ...(await stack.putInboxObject(key, bytes, validTags())) };
      }),
    );
    // Replace the two one-record notifications by one message that carries both records.
    const single = stack.queue.receive({ maxMessages: 10 });
    expect(single).toHaveLength(2);
    for (const message of single) stack.queue.delete(message.receiptHandle);
    const records = single.flatMap((m) => (JSON.parse(m.body) as { Records: unknown[] }).Records);
    const combined = stack.queue.send(JSON.stringify({ Records: records }));
    const { emulator } = stack.services;
    emulator.faults.add({ route: ROUTE.commit, status: 503, times: 1 });
    const deps = stack.createIngestDeps({ ibinder: { maxAttempts: 1 } });

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[combined.messageId], []]);
    for (const file of files)
      await expectCommittedOnce(file.key, file.versionId, file.bytes, file.key.slice(file.key.lastIndexOf('/') + 1));
    expect(emulator.calls.count(ROUTE.storagePut)).toBe(2);
    expect(emulator.calls.count(ROUTE.commit, 200)).toBe(2);
  });

  it('acknowledges the s3:TestEvent without calling iBinder', async () => {
    const deadBefore = stack.queue.deadLetters.length;
    const { messageId } = stack.queue.send(
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: new Date(stack.clock.now()).toISOString(),
        Bucket: stack.services.inboxBucket,
        RequestId: 'TESTEVENT0000001',
        HostId: 'local-host-id',
      }),
    );
    const report = await stack.drainIngest();
    expect(report.invocations).toEqual([expect.objectContaining({ messageIds: [messageId], failedMessageIds: [] })]);
    expect(report.drained).toBe(true);
    expect(stack.queue.deadLetters.length).toBe(deadBefore);
    expect(stack.services.emulator.calls.total()).toBe(0);
  });

  it('ingests the good records of a batch that also holds malformed messages, which go on to the dead-letter queue', async () => {
    const key = 'inbox/it-delivery/malformed/Beside a bad message.pdf';
    const bytes = sampleBytes('beside malformed');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const notJson = stack.queue.send('this is not JSON {');
    const notS3 = stack.queue.send(JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { bucket: {} } }] }));
    const deadBefore = stack.queue.deadLetters.length;

    const report = await stack.drainIngest();
    const first = report.invocations[0];
    expect(first?.messageIds).toHaveLength(3);
    expect(first?.failedMessageIds.sort()).toEqual([notJson.messageId, notS3.messageId].sort());
    expect(first?.batchError).toBeUndefined();
    await expectCommittedOnce(key, versionId, bytes, 'Beside a bad message.pdf');
    expect(report.drained).toBe(true);
    expect(
      stack.queue.deadLetters
        .slice(deadBefore)
        .map((d) => d.messageId)
        .sort(),
    ).toEqual([notJson.messageId, notS3.messageId].sort());
  });

  it('streams a 20 MiB object through to iBinder with an identical SHA-256', async () => {
    const key = 'inbox/it-delivery/large/Point cloud 20 MiB.bin';
    const size = 20 * 1024 * 1024;
    const seed = 0x5eed1234;
    const expected = await sha256OfStream(generatedStream(size, seed));
    const put = await stack.services.s3.client.send(
      new PutObjectCommand({
        Bucket: stack.services.inboxBucket,
        Key: key,
        Body: generatedStream(size, seed),
        ContentLength: size,
        Tagging: new URLSearchParams(
          validTags({ 'ibinder:folder-path': '02 Structural/Calculations', 'ibinder:meta:discipline': 'STR' }),
        ).toString(),
      }),
    );

    const report = await stack.drainIngest();
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const { document, versions } = onlyDocumentNamed(stack, 'Point cloud 20 MiB.bin');
    expect(document.folderId).toBe(HARBOUR.folders.structuralCalculations);
    expect(versions).toHaveLength(1);
    expect(await stack.services.emulator.state.versionContent(versions[0]?.id ?? '')).toEqual(expected);
    expect(await ledgerEntry(stack, key, put.VersionId)).toMatchObject({ state: 'committed', versionIds: { versionId: versions[0]?.id } });
  });
});

/** API calls (any route) the emulator answered with `status` since the last reset. */
function apiCallsAnswered(status: number): number {
  return stack.services.emulator.calls.log().filter((c) => c.kind === 'api' && c.status === status).length;
}
