/**
 * The ingest's trust and order rules, on the real per-record flow with a mocked S3 client, the
 * fake iBinder and the in-memory ledger: only the inbox bucket and prefix are acted on, a missing
 * bucket is not a gone object, each upload of an unversioned key is its own object and a later
 * upload is never deleted unprocessed, and the uploads of one key end in iBinder in sequencer
 * order whatever order their events arrive in.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { processBatch } from '../../functions/ingest/batch.js';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import type { Destination } from '../../shared/connectors/ibinder/destination-types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { apiError, FakeIBinderClient } from '../helpers/fake-ibinder.js';
import {
  BINDER_ID,
  BINDERS,
  BUCKET,
  lambdaClock,
  makeConfig,
  makeDeps,
  notFound,
  serveInboxObject,
  sqsEvent,
  sqsMessage,
  type TestDeps,
} from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const KEY = 'inbox/orders/A-101 Ground floor.pdf';
const NOW = new Date('2025-01-15T09:00:00Z');
const TAGS: S3Tag[] = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
];

/** Two uploads of KEY: the second is newer (higher sequencer, shorter string to exercise padding). */
const OLDER = { versionId: 'v-older', sequencer: '0055AED6DCD90281E5', content: Buffer.from('%PDF older upload'), eTag: 'e-older' };
const NEWER = {
  versionId: 'v-newer',
  sequencer: '55AED6DCD90281F0',
  content: Buffer.from('%PDF newer upload, revision B'),
  eTag: 'e-newer',
};

function event(overrides: Partial<S3ObjectEvent> = {}): S3ObjectEvent {
  return {
    eventName: 'ObjectCreated:Put',
    created: true,
    bucket: BUCKET,
    key: KEY,
    rawKey: encodeURIComponent(KEY),
    size: 10,
    source: 's3',
    ...overrides,
  };
}

function eventFor(upload: typeof OLDER): S3ObjectEvent {
  return event({ versionId: upload.versionId, sequencer: upload.sequencer, eTag: upload.eTag, size: upload.content.length });
}

let client: FakeIBinderClient;
let deps: TestDeps;

function setup(config: Parameters<typeof makeConfig>[0] = {}): void {
  client = new FakeIBinderClient(BINDERS);
  deps = makeDeps({ client, config: makeConfig(config), now: () => NOW });
}

/** The bytes of the document version iBinder shows as latest for KEY's file name. */
function latestCommittedContent(): string | undefined {
  const last = client.commits.filter((c) => c.request.fileName === 'A-101 Ground floor.pdf').at(-1);
  const transfer = client.transfers.find((t) => t.uploadId === last?.request.uploadId);
  return transfer?.content.toString();
}

/** The fake iBinder's destination with `hook` run around each commit. */
function withCommitHook(hook: (commit: () => Promise<void>) => Promise<void>): void {
  const real = deps.destination;
  deps.destination = {
    name: real.name,
    prepareUpload: () => real.prepareUpload(),
    transfer: (upload, body, options) => real.transfer(upload, body, options),
    commit: async (target, request) => {
      let version: Awaited<ReturnType<Destination['commit']>> | undefined;
      await hook(async () => {
        version = await real.commit(target, request);
      });
      if (!version) throw new Error('the commit hook did not commit');
      return version;
    },
  };
}

/** Holds the first commit until released; later commits pass straight through. */
function gateFirstCommit(): { reached: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  let reachedResolve: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => {
    reachedResolve = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let first = true;
  withCommitHook(async (commit) => {
    if (first) {
      first = false;
      reachedResolve();
      await gate;
    }
    await commit();
  });
  return { reached, release };
}

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}

beforeEach(() => {
  s3.reset();
});

describe('only the inbox bucket and prefix', () => {
  it('reads, copies and deletes nothing for an event of another bucket, and leaves it to the dead-letter queue', async () => {
    setup();
    const outcome = await processObjectRecord(event({ bucket: 'someone-elses-bucket', versionId: 'v1' }), 'msg-1', deps);
    expect(outcome).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('bucket someone-elses-bucket is not the inbox bucket inbox-bucket'),
    });
    expect(s3.calls()).toHaveLength(0);
    expect(deps.ledger.history).toEqual([]);
  });

  it('does the same for a key of the inbox bucket outside the inbox prefix', async () => {
    setup();
    const outcome = await processObjectRecord(event({ key: 'exports/secret.pdf', versionId: 'v1' }), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('is not under the inbox prefix inbox/') });
    expect(s3.calls()).toHaveLength(0);
  });

  it('returns the whole message as a batch item failure when one of its records is foreign', async () => {
    setup();
    const body = JSON.stringify({
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'other-bucket' }, object: { key: 'inbox/x.pdf', size: 3 } } }],
    });
    const response = await processBatch(sqsEvent(sqsMessage(body, 'msg-foreign')), lambdaClock(), deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-foreign' }]);
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('a bucket that does not exist', () => {
  it('says the bucket does not exist when HeadObject and HeadBucket both answer 404, and retries instead of acknowledging', async () => {
    setup();
    // A small object is read with GetObject, a larger one headed: both answer the same.
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(GetObjectCommand).rejects(notFound());
    s3.on(HeadBucketCommand).rejects(s3Error('NotFound', 404));
    const outcome = await processObjectRecord(event({ versionId: 'v1' }), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('bucket inbox-bucket does not exist') });
    expect(outcome).not.toMatchObject({ reason: expect.stringContaining('no longer exists') });
  });

  it('says so too when S3 names NoSuchBucket outright', async () => {
    setup();
    s3.on(HeadObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchBucket', 404));
    const outcome = await processObjectRecord(event({ versionId: 'v1' }), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('does not exist') });
    expect(s3.commandCalls(HeadBucketCommand)).toHaveLength(0);
  });

  it('still acknowledges a gone object when the bucket exists', async () => {
    setup();
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(GetObjectCommand).rejects(notFound());
    s3.on(HeadBucketCommand).resolves({});
    expect(await processObjectRecord(event({ versionId: 'v1' }), 'msg-1', deps)).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('no longer exists'),
    });
  });
});

describe('EventBridge keys, URL-encoded or not', () => {
  it('falls back to the literal key when the decoded reading names no object', async () => {
    setup();
    const literal = 'inbox/orders/Plan+B.pdf';
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(GetObjectCommand).rejects(notFound());
    s3.on(HeadBucketCommand).resolves({});
    serveInboxObject(s3, { key: literal, versionId: 'v1', tags: TAGS });
    const outcome = await processObjectRecord(
      event({ key: 'inbox/orders/Plan B.pdf', rawKey: literal, alternateKey: literal, versionId: 'v1', source: 'eventbridge' }),
      'msg-1',
      deps,
    );
    expect(outcome).toMatchObject({ status: 'committed' });
    expect(client.commits[0]?.request.fileName).toBe('Plan+B.pdf');
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toMatchObject({ Key: literal, VersionId: 'v1' });
  });
});

/**
 * An unversioned inbox key served from the mocked S3 client: HeadObject and GetObject answer for
 * whatever upload is there now (no VersionId), as S3 does with versioning off.
 */
class UnversionedKey {
  current: { content: Buffer; eTag: string; lastModified: Date } | undefined;

  constructor() {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: KEY }).callsFake(() => {
      if (!this.current) throw notFound();
      return {
        ContentLength: this.current.content.length,
        ETag: `"${this.current.eTag}"`,
        LastModified: this.current.lastModified,
        ContentType: 'application/pdf',
        Metadata: {},
      };
    });
    s3.on(HeadBucketCommand).resolves({});
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: TAGS });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: KEY }).callsFake((input: { IfMatch?: string }) => {
      if (!this.current) throw notFound();
      if (input.IfMatch !== undefined && input.IfMatch !== `"${this.current.eTag}"`) throw s3Error('PreconditionFailed', 412);
      return {
        Body: Readable.from([this.current.content]) as never,
        ContentLength: this.current.content.length,
        ETag: `"${this.current.eTag}"`,
        LastModified: this.current.lastModified,
        ContentType: 'application/pdf',
        Metadata: {},
      };
    });
    s3.on(DeleteObjectCommand, { Bucket: BUCKET, Key: KEY }).callsFake((input: { IfMatch?: string }) => {
      if (this.current && input.IfMatch !== undefined && input.IfMatch !== `"${this.current.eTag}"`)
        throw s3Error('PreconditionFailed', 412);
      this.current = undefined;
      return {};
    });
    s3.on(PutObjectTaggingCommand).resolves({});
  }

  upload(content: string, eTag: string, lastModified: string): S3ObjectEvent {
    this.current = { content: Buffer.from(content), eTag, lastModified: new Date(lastModified) };
    return event({ eTag, size: content.length, sequencer: lastModified.replace(/\D/g, '') });
  }
}

describe('unversioned inbox (versioning suspended or off)', () => {
  it('ingests a second upload of a key as a new version instead of deleting it as a duplicate', async () => {
    setup();
    const inbox = new UnversionedKey();
    const first = inbox.upload('%PDF first upload', 'etag-1', '2025-01-15T08:00:00Z');
    expect(await processObjectRecord(first, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    expect(inbox.current).toBeUndefined();

    const second = inbox.upload('%PDF second upload', 'etag-2', '2025-01-15T08:05:00Z');
    expect(await processObjectRecord(second, 'msg-2', deps)).toMatchObject({ status: 'committed' });
    expect(client.commits).toHaveLength(2);
    expect(latestCommittedContent()).toBe('%PDF second upload');
    // Each upload has its own ledger entry, and every delete named the upload's ETag.
    expect([...deps.ledger.entries.values()].map((e) => [e.objectVersionId, e.state])).toEqual([
      ['null:seq:20250115080000', 'committed'],
      ['null:seq:20250115080500', 'committed'],
    ]);
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.IfMatch)).toEqual(['"etag-1"', '"etag-2"']);
  });

  it('does not delete a later upload that replaced the object while the earlier one was being committed', async () => {
    setup();
    const inbox = new UnversionedKey();
    const first = inbox.upload('%PDF first upload', 'etag-1', '2025-01-15T08:00:00Z');
    let second: S3ObjectEvent | undefined;
    withCommitHook(async (commit) => {
      await commit();
      second ??= inbox.upload('%PDF second upload', 'etag-2', '2025-01-15T08:05:00Z');
    });

    expect(await processObjectRecord(first, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    expect(inbox.current?.eTag).toBe('etag-2');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);

    // The later upload's own event then ingests it.
    if (!second) throw new Error('the second upload did not happen');
    expect(await processObjectRecord(second, 'msg-2', deps)).toMatchObject({ status: 'committed' });
    expect(latestCommittedContent()).toBe('%PDF second upload');
  });

  it('acknowledges a redelivered event whose upload was replaced, without touching the later upload', async () => {
    setup();
    const inbox = new UnversionedKey();
    const first = inbox.upload('%PDF first upload', 'etag-1', '2025-01-15T08:00:00Z');
    expect(await processObjectRecord(first, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    inbox.upload('%PDF second upload', 'etag-2', '2025-01-15T08:05:00Z');

    const again = await processObjectRecord(first, 'msg-1', deps);
    expect(again).toMatchObject({ status: 'skipped', reason: expect.stringContaining('replaced by a later upload') });
    expect(inbox.current?.eTag).toBe('etag-2');
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
    expect(client.commits).toHaveLength(1);
  });

  it('tells uploads apart by ETag and LastModified when the event has no sequencer, and deletes only with If-Match', async () => {
    setup();
    const inbox = new UnversionedKey();
    const first = { ...inbox.upload('%PDF same bytes', 'etag-same', '2025-01-15T08:00:00Z'), sequencer: undefined };
    expect(await processObjectRecord(first, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    const second = { ...inbox.upload('%PDF same bytes', 'etag-same', '2025-01-15T08:05:00Z'), sequencer: undefined };
    expect(await processObjectRecord(second, 'msg-2', deps)).toMatchObject({ status: 'committed' });
    expect([...deps.ledger.entries.keys()]).toEqual([
      `${BUCKET}/${KEY}#null:etag:etag-same@2025-01-15T08:00:00.000Z`,
      `${BUCKET}/${KEY}#null:etag:etag-same@2025-01-15T08:05:00.000Z`,
    ]);
    // The first read of each upload takes whatever is at the key and is checked against the event's
    // ETag (as a head was); every later read names the upload it means.
    const reads = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.IfMatch);
    expect(reads.filter((ifMatch) => ifMatch !== undefined).every((ifMatch) => ifMatch === '"etag-same"')).toBe(true);
  });

  it('does not tag a later upload as ingested under the tag disposition', async () => {
    setup({ disposition: 'tag' });
    const inbox = new UnversionedKey();
    const first = inbox.upload('%PDF first upload', 'etag-1', '2025-01-15T08:00:00Z');
    withCommitHook(async (commit) => {
      await commit();
      inbox.upload('%PDF second upload', 'etag-2', '2025-01-15T08:05:00Z');
    });
    expect(await processObjectRecord(first, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    expect(s3.commandCalls(PutObjectTaggingCommand)).toHaveLength(0);
    expect(inbox.current?.eTag).toBe('etag-2');
  });
});

describe('uploads of one key end in sequencer order', () => {
  function serveBoth(): void {
    for (const upload of [OLDER, NEWER])
      serveInboxObject(s3, { key: KEY, versionId: upload.versionId, content: upload.content, tags: TAGS });
  }

  it('commits both when the events arrive in order; the newer is the latest version', async () => {
    setup();
    serveBoth();
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({ status: 'committed' });
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({ status: 'committed' });
    expect(client.commits).toHaveLength(2);
    expect(latestCommittedContent()).toBe(NEWER.content.toString());
  });

  it('records an older upload that arrives after a newer one was committed as superseded: no commit, disposed of', async () => {
    setup();
    serveBoth();
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({ status: 'committed' });
    const outcome = await processObjectRecord(eventFor(OLDER), 'msg-older', deps);

    expect(outcome).toEqual({ status: 'superseded', sequencer: OLDER.sequencer, newerSequencer: NEWER.sequencer });
    expect(client.commits).toHaveLength(1);
    // The order is checked under the key's lease, taken with the transfer's record: the older
    // upload's bytes were sent, and that upload is abandoned, never committed.
    expect(client.transfers).toHaveLength(2);
    expect(latestCommittedContent()).toBe(NEWER.content.toString());
    expect(await deps.ledger.get({ bucket: BUCKET, key: KEY, versionId: OLDER.versionId })).toMatchObject({
      state: 'superseded',
      sequencer: OLDER.sequencer,
      newerSequencer: NEWER.sequencer,
    });
    expect(deps.metrics.superseded).toBe(1);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input.VersionId)).toEqual([NEWER.versionId, OLDER.versionId]);

    // A redelivery of the superseded upload's event is acknowledged.
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('superseded'),
    });
  });

  it('tags a superseded upload ingested:status=superseded under the tag disposition', async () => {
    setup({ disposition: 'tag' });
    serveBoth();
    await processObjectRecord(eventFor(NEWER), 'msg-newer', deps);
    s3.resetHistory();
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({ status: 'superseded' });
    const tagging = s3.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input;
    expect(tagging).toMatchObject({ VersionId: OLDER.versionId });
    expect(tagging?.Tagging?.TagSet).toEqual([...TAGS, { Key: 'ingested:status', Value: 'superseded' }]);
  });

  it('makes an older upload that arrives while a newer one is committing wait for the key, then supersedes it without a commit', async () => {
    setup();
    serveBoth();
    const gate = gateFirstCommit();
    const newer = processObjectRecord(eventFor(NEWER), 'msg-newer', deps);
    await gate.reached;
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('is being committed (message msg-newer'),
    });
    gate.release();
    expect(await newer).toMatchObject({ status: 'committed' });
    // The redelivery resumes the recorded transfer and finds the newer upload committed.
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({ status: 'superseded' });
    expect(client.commits).toHaveLength(1);
    expect(client.transfers).toHaveLength(2);
    expect(latestCommittedContent()).toBe(NEWER.content.toString());
  });

  it("makes a newer upload wait while an older one holds the key's commit step, then commits it after", async () => {
    setup();
    serveBoth();
    const gate = gateFirstCommit();
    const older = processObjectRecord(eventFor(OLDER), 'msg-older', deps);
    await gate.reached;
    // Checked before the older commit finished: without the key lease it would commit first and then be overtaken.
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('is being committed (message msg-older'),
    });
    gate.release();
    expect(await older).toMatchObject({ status: 'committed' });
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({ status: 'committed', resumed: true });
    expect(client.commits).toHaveLength(2);
    expect(latestCommittedContent()).toBe(NEWER.content.toString());
  });

  it('supersedes an older upload whose bytes were sent before a newer one committed: the check under the key lease decides', async () => {
    setup();
    serveBoth();
    const real = deps.destination;
    let releaseTransfer: () => void = () => undefined;
    let transferReached: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => {
      transferReached = resolve;
    });
    const held = new Promise<void>((resolve) => {
      releaseTransfer = resolve;
    });
    let first = true;
    deps.destination = {
      name: real.name,
      prepareUpload: () => real.prepareUpload(),
      transfer: async (upload, body, options) => {
        if (first) {
          first = false;
          transferReached();
          await held;
        }
        return real.transfer(upload, body, options);
      },
      commit: (target, request) => real.commit(target, request),
    };
    const older = processObjectRecord(eventFor(OLDER), 'msg-older', deps);
    await reached;
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({ status: 'committed' });
    releaseTransfer();
    expect(await older).toMatchObject({ status: 'superseded', newerSequencer: NEWER.sequencer });
    expect(client.commits).toHaveLength(1);
    expect(latestCommittedContent()).toBe(NEWER.content.toString());
  });

  it('takes a refused newer upload back out of the order, so that an older one still commits', async () => {
    setup();
    serveBoth();
    client.failNext(
      'commitUpload',
      apiError(400, { title: 'One or more validation errors occurred.', fieldErrors: { fileName: ['locked'] } }),
    );
    expect(await processObjectRecord(eventFor(NEWER), 'msg-newer', deps)).toMatchObject({ status: 'rejected' });
    expect(await processObjectRecord(eventFor(OLDER), 'msg-older', deps)).toMatchObject({ status: 'committed' });
    expect(latestCommittedContent()).toBe(OLDER.content.toString());
  });

  it('keeps no order for events without a sequencer (hand-made events): both commit in arrival order', async () => {
    setup();
    serveBoth();
    expect(await processObjectRecord({ ...eventFor(NEWER), sequencer: undefined }, 'msg-newer', deps)).toMatchObject({
      status: 'committed',
    });
    expect(await processObjectRecord({ ...eventFor(OLDER), sequencer: undefined }, 'msg-older', deps)).toMatchObject({
      status: 'committed',
    });
    expect(latestCommittedContent()).toBe(OLDER.content.toString());
    expect(deps.ledger.keyOrder.size).toBe(0);
  });
});
