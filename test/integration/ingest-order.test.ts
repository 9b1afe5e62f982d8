/**
 * Order, trust and message shapes of the real ingest on the local stack (local S3, local
 * DynamoDB, the emulator, SQS semantics): two uploads of one key end with the newer one as the
 * latest version whatever order their events arrive in; an event of another bucket reaches the
 * dead-letter queue untouched; a bucket that does not exist is named as such; S3 events wrapped
 * by SNS (raw and not) or sent by EventBridge are ingested like direct ones; and on an unversioned
 * bucket each upload of a key is ingested and a later upload is never deleted unprocessed.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { LedgerConflictError } from '../../shared/ledger/types.js';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import { parseS3EventMessage, type S3ObjectEvent } from '../../shared/s3/event.js';
import { type Destination, IBinderDestination } from '../../shared/connectors/ibinder/index.js';
import { ibinderConnectorOf, withDestination as overDestination } from '../helpers/ingest-factories.js';
import type { LocalS3 } from '../../local/local-s3.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import {
  ledgerEntry,
  onlyDocumentNamed,
  purgeQueue,
  readObject,
  resetEmulator,
  sampleBytes,
  sha256Hex,
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

/** The notification bodies S3 sent for a key, oldest first. */
function notificationsFor(key: string): string[] {
  return stack.notifications.sent.filter((n) => n.key === key).map((n) => n.body);
}

function onlyRecordOf(body: string): S3ObjectEvent {
  const parsed = parseS3EventMessage('probe', body);
  if (parsed.kind !== 'records' || !parsed.records[0]) throw new Error('expected one record');
  return parsed.records[0];
}

/** Two uploads of one key; their notifications are kept and taken off the queue, to be sent in any order. */
async function twoUploads(key: string): Promise<{
  older: { versionId: string | undefined; bytes: Buffer; body: string };
  newer: { versionId: string | undefined; bytes: Buffer; body: string };
}> {
  const olderBytes = sampleBytes(`older upload of ${key}`);
  const newerBytes = sampleBytes(`newer upload of ${key}, revision B`);
  const older = await stack.putInboxObject(key, olderBytes, validTags());
  const newer = await stack.putInboxObject(key, newerBytes, validTags());
  const [olderBody, newerBody] = notificationsFor(key);
  if (!olderBody || !newerBody) throw new Error(`expected two notifications for ${key}`);
  await purgeQueue(stack);
  return {
    older: { versionId: older.versionId, bytes: olderBytes, body: olderBody },
    newer: { versionId: newer.versionId, bytes: newerBytes, body: newerBody },
  };
}

async function latestVersionSha256(fileName: string): Promise<string | undefined> {
  const { document, versions } = onlyDocumentNamed(stack, fileName);
  const latest = versions.find((v) => v.id === document.latestVersionId) ?? versions.at(-1);
  if (!latest) return undefined;
  return (await stack.services.emulator.state.versionContent(latest.id))?.sha256;
}

describe('uploads of one key on the local stack', () => {
  it("keeps the newer upload as the latest version when the older upload's event arrives after it", async () => {
    const key = 'inbox/it-order/reverse/Reverse order.pdf';
    const { older, newer } = await twoUploads(key);

    stack.queue.send(newer.body);
    expect((await stack.drainIngest()).deadLetters).toEqual([]);
    stack.queue.send(older.body);
    expect((await stack.drainIngest()).deadLetters).toEqual([]);

    // The local S3 keeps only a key's current bytes, so the older version is unreadable here and its
    // late event is acknowledged as gone; the superseded path itself is in ingest-trust-and-order.test.ts.
    const { versions } = onlyDocumentNamed(stack, 'Reverse order.pdf');
    expect(versions).toHaveLength(1);
    expect(await latestVersionSha256('Reverse order.pdf')).toBe(sha256Hex(newer.bytes));
    expect(await ledgerEntry(stack, key, newer.versionId)).toMatchObject({ state: 'committed' });
    expect(await ledgerEntry(stack, key, older.versionId)).toBeUndefined();
  });
});

describe("the ledger's key order on the local DynamoDB", () => {
  function ledgerAt(nowMs: () => number): IngestLedger {
    return new IngestLedger({
      client: stack.services.dynamodb.documentClient,
      tableName: stack.services.ledgerTable,
      leaseSeconds: 60,
      now: nowMs,
    });
  }

  it("hands the key's commit lease to one owner at a time, raises and restores the sequencer under it, and frees it", async () => {
    let now = Date.parse('2025-01-15T09:00:00Z');
    const ledger = ledgerAt(() => now);
    const key = `inbox/it-order/ledger/${randomUUID()}.pdf`;
    const bucket = stack.services.inboxBucket;

    const first = await ledger.acquireKeyCommit(bucket, key, 'msg-a');
    if (first.outcome !== 'acquired') throw new Error('expected the lease');
    expect(first.committedSequencer).toBeUndefined();
    expect(await ledger.acquireKeyCommit(bucket, key, 'msg-b')).toMatchObject({
      outcome: 'busy',
      owner: 'msg-a',
      leaseExpiresAt: now + 60_000,
    });

    await ledger.raiseCommittedSequencer(first.lease, '0A');
    expect(await ledger.committedSequencer(bucket, key)).toBe('0A');
    await ledger.raiseCommittedSequencer(first.lease, '0B');
    await ledger.restoreCommittedSequencer(first.lease, '0B', '0A');
    expect(await ledger.committedSequencer(bucket, key)).toBe('0A');
    await ledger.releaseKeyCommit(first.lease);

    const second = await ledger.acquireKeyCommit(bucket, key, 'msg-b');
    expect(second).toMatchObject({ outcome: 'acquired', committedSequencer: '0A' });
    // A lease that expired is taken over; the old holder's raise then fails.
    now += 61_000;
    const third = await ledger.acquireKeyCommit(bucket, key, 'msg-c');
    expect(third.outcome).toBe('acquired');
    if (second.outcome !== 'acquired') throw new Error('unreachable');
    await expect(ledger.raiseCommittedSequencer(second.lease, '0C')).rejects.toBeInstanceOf(LedgerConflictError);
    await ledger.releaseKeyCommit(second.lease);
    expect(await ledger.acquireKeyCommit(bucket, key, 'msg-d')).toMatchObject({ outcome: 'busy', owner: 'msg-c' });
  });

  it('records a superseded upload under its claim and reads it back; unversioned uploads of one key are separate entries', async () => {
    const ledger = ledgerAt(Date.now);
    const key = `inbox/it-order/ledger/${randomUUID()}.pdf`;
    const first = { bucket: stack.services.inboxBucket, key, upload: { id: 'seq:0A', eTag: '"e1"' } };
    const second = { bucket: stack.services.inboxBucket, key, upload: { id: 'seq:0B', eTag: '"e2"' } };
    const claim = await ledger.claim(first, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    expect((await ledger.claim(second, 'msg-2')).outcome).toBe('claimed');

    await ledger.markSuperseded(first, claim.lease, { sequencer: '0A', newerSequencer: '0B' });
    expect(await ledger.get(first)).toMatchObject({
      state: 'superseded',
      objectVersionId: 'null:seq:0A',
      sequencer: '0A',
      newerSequencer: '0B',
    });
    expect(await ledger.claim(first, 'msg-3')).toMatchObject({ outcome: 'superseded' });
    // The entry reads back through its stored objectVersionId, as the CLI's status does.
    expect(await ledger.get({ bucket: first.bucket, key, versionId: 'null:seq:0A' })).toMatchObject({ state: 'superseded' });
    expect(await ledger.get(second)).toMatchObject({ state: 'claimed', objectVersionId: 'null:seq:0B' });
  });
});

describe('message shapes and trust on the local stack', () => {
  it('ingests an S3 notification wrapped in an SNS envelope (non-raw delivery)', async () => {
    const key = 'inbox/it-order/sns/Through SNS.pdf';
    const bytes = sampleBytes('through sns');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const [body] = notificationsFor(key);
    await purgeQueue(stack);
    stack.queue.send(
      JSON.stringify({
        Type: 'Notification',
        MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
        TopicArn: 'arn:aws:sns:us-east-1:000000000000:inbox-events',
        Subject: 'Amazon S3 Notification',
        Message: body,
        Timestamp: new Date(stack.clock.now()).toISOString(),
      }),
    );
    expect((await stack.drainIngest()).deadLetters).toEqual([]);
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({ state: 'committed' });
    expect(await latestVersionSha256('Through SNS.pdf')).toBe(sha256Hex(bytes));
  });

  it('ingests an EventBridge "Object Created" event, its key given literally', async () => {
    const key = 'inbox/it-order/eventbridge/Plan (B) 50%.pdf';
    const bytes = sampleBytes('through eventbridge');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const record = onlyRecordOf(notificationsFor(key)[0] ?? '');
    await purgeQueue(stack);
    stack.queue.send(
      JSON.stringify({
        version: '0',
        id: '17793124-05d4-b198-2fde-7ededc63b103',
        'detail-type': 'Object Created',
        source: 'aws.s3',
        account: '000000000000',
        time: new Date(stack.clock.now()).toISOString(),
        region: 'us-east-1',
        resources: [`arn:aws:s3:::${stack.services.inboxBucket}`],
        detail: {
          version: '0',
          bucket: { name: stack.services.inboxBucket },
          object: { key, size: bytes.length, etag: record.eTag, 'version-id': versionId, sequencer: record.sequencer },
          'request-id': 'N4N7GDK58NMKJ12R',
          requester: '000000000000',
          'source-ip-address': '127.0.0.1',
          reason: 'PutObject',
        },
      }),
    );
    expect((await stack.drainIngest()).deadLetters).toEqual([]);
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({ state: 'committed' });
    expect(await latestVersionSha256('Plan (B) 50%.pdf')).toBe(sha256Hex(bytes));
  });

  it('leaves an event of another bucket to the dead-letter queue without touching the object it names', async () => {
    const key = 'inbox/it-order/foreign/Not ours.pdf';
    const bytes = sampleBytes('named by a foreign event');
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());
    const [body] = notificationsFor(key);
    await purgeQueue(stack);
    const foreign = stack.queue.send((body ?? '').replaceAll(`"${stack.services.inboxBucket}"`, '"someone-elses-bucket"'));

    const report = await stack.drainIngest();
    expect(report.deadLetters.map((d) => d.messageId)).toEqual([foreign.messageId]);
    expect((await readObject(stack, key, versionId))?.bytes.equals(bytes)).toBe(true);
    expect(await ledgerEntry(stack, key, versionId)).toBeUndefined();
  });

  it('names a bucket that does not exist instead of calling the object gone', async () => {
    const deps = { ...stack.createIngestDeps(), inboxBucket: 'ibinder-inbox-that-does-not-exist' };
    const outcome = await processObjectRecord(
      {
        eventName: 'ObjectCreated:Put',
        created: true,
        bucket: deps.inboxBucket,
        key: 'inbox/x.pdf',
        rawKey: 'inbox/x.pdf',
        versionId: 'v1',
        source: 's3',
      },
      'msg-missing-bucket',
      deps,
    );
    expect(outcome).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('bucket ibinder-inbox-that-does-not-exist does not exist'),
    });
  });
});

describe('an unversioned inbox on a local S3 server', () => {
  const bucket = 'ibinder-inbox-unversioned';
  let s3: LocalS3;
  let sequence = 0;

  beforeAll(async () => {
    // A second bucket on the local stack's own S3 server: only the inbox bucket it starts with is versioned.
    s3 = stack.services.s3;
    await s3.createBucket(bucket);
  });

  /** PutObject with tags, and the event S3 would send for it (no versionId; a fresh sequencer). */
  async function upload(key: string, bytes: Buffer): Promise<S3ObjectEvent> {
    const out = await s3.client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Tagging: new URLSearchParams(validTags()).toString() }),
    );
    expect(out.VersionId).toBeUndefined();
    sequence += 1;
    return {
      eventName: 'ObjectCreated:Put',
      created: true,
      bucket,
      key,
      rawKey: key,
      size: bytes.length,
      eTag: out.ETag?.replace(/"/g, ''),
      sequencer: sequence.toString(16).toUpperCase().padStart(16, '0'),
      source: 's3',
    };
  }

  async function currentBytes(key: string): Promise<Buffer | undefined> {
    try {
      const got = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch {
      return undefined;
    }
  }

  function depsFor(wrapCommit?: (commit: () => Promise<void>) => Promise<void>) {
    const deps = { ...stack.createIngestDeps(), s3: s3.client, inboxBucket: bucket };
    if (!wrapCommit) return deps;
    const real: Destination = new IBinderDestination(ibinderConnectorOf(deps).client);
    const destination: Destination = {
      name: real.name,
      prepareUpload: () => real.prepareUpload(),
      transfer: (u, body, options) => real.transfer(u, body, options),
      commit: async (target, request) => {
        let version: Awaited<ReturnType<Destination['commit']>> | undefined;
        await wrapCommit(async () => {
          version = await real.commit(target, request);
        });
        if (!version) throw new Error('not committed');
        return version;
      },
    };
    return overDestination(deps, destination);
  }

  it('ingests a second upload of a key as a new version, not as a duplicate', async () => {
    const key = 'inbox/it-order/unversioned/Second upload.pdf';
    const first = sampleBytes('unversioned first');
    const second = sampleBytes('unversioned second, revision B');
    const deps = depsFor();
    expect(await processObjectRecord(await upload(key, first), 'msg-u1', deps)).toMatchObject({ status: 'committed' });
    expect(await currentBytes(key)).toBeUndefined();
    expect(await processObjectRecord(await upload(key, second), 'msg-u2', deps)).toMatchObject({ status: 'committed' });

    const { versions } = onlyDocumentNamed(stack, 'Second upload.pdf');
    expect(versions).toHaveLength(2);
    expect(await latestVersionSha256('Second upload.pdf')).toBe(sha256Hex(second));
  });

  it('never deletes a later upload that replaced the object while the earlier one was committed, even on a server that ignores If-Match', async () => {
    const key = 'inbox/it-order/unversioned/Replaced meanwhile.pdf';
    const first = sampleBytes('replaced meanwhile, first');
    const second = sampleBytes('replaced meanwhile, second');
    let secondEvent: S3ObjectEvent | undefined;
    const deps = depsFor(async (commit) => {
      await commit();
      secondEvent ??= await upload(key, second);
    });
    expect(await processObjectRecord(await upload(key, first), 'msg-r1', deps)).toMatchObject({ status: 'committed' });
    expect((await currentBytes(key))?.equals(second)).toBe(true);

    if (!secondEvent) throw new Error('the second upload did not happen');
    expect(await processObjectRecord(secondEvent, 'msg-r2', depsFor())).toMatchObject({ status: 'committed' });
    expect(await currentBytes(key)).toBeUndefined();
    expect(onlyDocumentNamed(stack, 'Replaced meanwhile.pdf').versions).toHaveLength(2);
    expect(await latestVersionSha256('Replaced meanwhile.pdf')).toBe(sha256Hex(second));
  });

  it('acknowledges the event of an upload that was overwritten before it was read, and ingests the later one once', async () => {
    const key = 'inbox/it-order/unversioned/Overwritten first.pdf';
    const firstEvent = await upload(key, sampleBytes('overwritten, first'));
    const second = sampleBytes('overwritten, second');
    const secondEvent = await upload(key, second);
    const deps = depsFor();
    expect(await processObjectRecord(firstEvent, 'msg-o1', deps)).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('replaced by a later upload'),
    });
    expect((await currentBytes(key))?.equals(second)).toBe(true);
    expect(await processObjectRecord(secondEvent, 'msg-o2', deps)).toMatchObject({ status: 'committed' });
    expect(onlyDocumentNamed(stack, 'Overwritten first.pdf').versions).toHaveLength(1);
    expect(await latestVersionSha256('Overwritten first.pdf')).toBe(sha256Hex(second));
  });
});
