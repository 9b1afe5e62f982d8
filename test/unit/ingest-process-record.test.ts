import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { openReadBytes, SMALL_OBJECT_BYTES } from '../../functions/ingest/object-store.js';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import { PassThrough } from 'node:stream';
import type { RejectionReport } from '../../functions/ingest/rejection.js';
import type { Destination } from '../../shared/connectors/ibinder/destination-types.js';
import {
  LedgerConflictError,
  type ClaimLease,
  type ClaimResult,
  type CommitPlan,
  type KeyOrderRequest,
  type LedgerEntry,
  type ObjectRef,
  type TransferredClaimResult,
  type TransferredUpload,
} from '../../shared/ledger/types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { apiError, FakeIBinderClient } from '../helpers/fake-ibinder.js';
import {
  BINDER_ID,
  BINDERS,
  BUCKET,
  InMemoryIngestLedger,
  makeConfig,
  makeDeps,
  notFound,
  s3Throttled,
  serveInboxObject,
  type TestDeps,
} from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const KEY = 'inbox/Site plan Årsta.pdf';
const VERSION = 'v1';
const REF = { bucket: BUCKET, key: KEY, versionId: VERSION };
const CONTENT = Buffer.from('%PDF-1.7 a small drawing, streamed in chunks');
const NOW = new Date('2025-01-15T09:00:00Z');

const TAGS: S3Tag[] = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:version', Value: 'B' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
  { Key: 'producer', Value: 'erp' },
];

function event(overrides: Partial<S3ObjectEvent> = {}): S3ObjectEvent {
  return {
    eventName: 'ObjectCreated:Put',
    created: true,
    bucket: BUCKET,
    key: KEY,
    rawKey: encodeURIComponent(KEY),
    versionId: VERSION,
    size: CONTENT.length,
    source: 's3',
    ...overrides,
  };
}

let client: FakeIBinderClient;
let deps: TestDeps;

function setup(options: { config?: Parameters<typeof makeConfig>[0]; tags?: S3Tag[]; content?: Buffer; lastModified?: Date } = {}): void {
  client = new FakeIBinderClient(BINDERS);
  deps = makeDeps({ client, config: makeConfig(options.config ?? {}), now: () => NOW });
  serveInboxObject(s3, {
    key: KEY,
    versionId: VERSION,
    content: options.content ?? CONTENT,
    tags: options.tags ?? TAGS,
    ...(options.lastModified ? { lastModified: options.lastModified } : {}),
  });
}

/** Seeds the ledger with a claim on REF as an earlier delivery left it; fields override the defaults. */
function seedClaim(fields: Partial<LedgerEntry>): void {
  deps.ledger.seed(REF, { state: 'claimed', attempts: 1, claimedAt: '2025-01-15T08:40:00.000Z', transferred: false, ...fields });
}

function writtenReport(): RejectionReport {
  const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
  if (!put) throw new Error('no report written');
  return JSON.parse(String(put.Body)) as RejectionReport;
}

/** Names of the S3 writes, in order. */
function s3Writes(): string[] {
  const writes = ['CopyObjectCommand', 'PutObjectCommand', 'DeleteObjectCommand', 'PutObjectTaggingCommand'];
  return s3
    .calls()
    .map((c) => c.args[0].constructor.name)
    .filter((n) => writes.includes(n));
}

beforeEach(() => {
  s3.reset();
});

describe('processObjectRecord: how the object is read', () => {
  it('heads and streams an object the event says is larger than SMALL_OBJECT_BYTES, never holding it whole', async () => {
    setup();
    const outcome = await processObjectRecord(event({ size: SMALL_OBJECT_BYTES + 1 }), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed' });
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(1);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    const transfer = client.transfers[0];
    expect(transfer?.chunks).toBeGreaterThan(1);
    expect(transfer?.content.equals(CONTENT)).toBe(true);
  });

  it('heads and streams an object whose event has no size', async () => {
    setup();
    expect(await processObjectRecord(event({ size: undefined }), 'msg-1', deps)).toMatchObject({ status: 'committed' });
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(1);
    expect(client.transfers[0]?.chunks).toBeGreaterThan(1);
  });

  it('does not buffer an object larger than its event said: the first stream is closed and the transfer streams it again', async () => {
    setup();
    const first = new PassThrough();
    s3.on(GetObjectCommand).callsFakeOnce(() => ({
      Body: first as never,
      ContentLength: SMALL_OBJECT_BYTES + 1,
      ContentType: 'application/pdf',
      VersionId: VERSION,
      LastModified: new Date('2025-01-15T08:00:00Z'),
    }));
    const outcome = await processObjectRecord(event({ size: 10 }), 'msg-1', deps);
    expect(first.destroyed).toBe(true);
    // The transfer opened the version again (the mock's second answer is shorter than the size
    // the first read reported, so the fake storage refuses the PUT and the record is retried).
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('transfer') });
  });

  it('serves a range of a small object from the bytes read once', async () => {
    const bytes = Buffer.from('0123456789');
    expect(await text(openReadBytes(bytes, { start: 2, end: 5 }))).toBe('2345');
    expect(await text(openReadBytes(bytes))).toBe('0123456789');
  });
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

describe('processObjectRecord: happy path', () => {
  it('sends a small body read once to the presigned PUT with its length, commits, records the ledger and deletes the inbox version', async () => {
    setup();
    const outcome = await processObjectRecord(event(), 'msg-1', deps);

    expect(outcome).toMatchObject({ status: 'committed', resumed: false });
    expect(client.transfers).toHaveLength(1);
    const transfer = client.transfers[0];
    expect(transfer?.bodyWasReadable).toBe(true);
    expect(transfer?.contentLength).toBe(CONTENT.length);
    expect(transfer?.content.equals(CONTENT)).toBe(true);
    expect(transfer?.contentType).toBe('application/pdf');
    // One GetObject is the head and the bytes: no HeadObject, no second GetObject for the transfer.
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: KEY, VersionId: VERSION }]);
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(0);

    expect(client.commits).toEqual([
      {
        binderId: BINDER_ID,
        folderId: 'f-struct',
        request: {
          fileName: 'Site plan Årsta.pdf',
          version: 'B',
          uploadId: transfer?.uploadId,
          additionalMetadata: [{ metadataElementId: 'discipline', value: 'd-struct' }],
        },
      },
    ]);

    expect(deps.ledger.changes(REF)).toEqual(['claimed', 'transferred', 'committed']);
    expect(await deps.ledger.get(REF)).toMatchObject({
      state: 'committed',
      connector: 'ibinder',
      target: { binderId: BINDER_ID, folderId: 'f-struct' },
      versionLabel: 'B',
    });
    expect(s3Writes()).toEqual(['DeleteObjectCommand']);
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, VersionId: VERSION });
    expect(deps.metrics.ingested).toEqual([{ bytes: CONTENT.length, uploadDurationMs: expect.any(Number) }]);
  });

  it('keeps and tags the inbox version when the disposition is tag, preserving its tags', async () => {
    setup({ config: { disposition: 'tag' } });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    if (outcome.status !== 'committed') throw new Error(`expected committed, got ${outcome.status}`);

    expect(s3Writes()).toEqual(['PutObjectTaggingCommand']);
    const input = s3.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Bucket: BUCKET, Key: KEY, VersionId: VERSION });
    expect(input?.Tagging?.TagSet).toEqual([
      ...TAGS,
      { Key: 'ingested:document-id', Value: outcome.version.ids.documentId },
      { Key: 'ingested:version-id', Value: outcome.version.ids.versionId },
      { Key: 'ingested:status', Value: 'committed' },
      { Key: 'ingested:connector', Value: 'ibinder' },
    ]);
  });

  it("uses a routing rule for an untagged object and the key's last segment as the name", async () => {
    setup({
      tags: [],
      config: {
        routingRules: [{ prefix: 'inbox/', target: { binderId: BINDER_ID, folderPath: 'Reports', metadata: { discipline: 'd-arch' } } }],
      },
    });
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('committed');
    expect(client.commits[0]).toMatchObject({ folderId: 'f-reports', request: { fileName: 'Site plan Årsta.pdf' } });
    expect(client.commits[0]?.request.version).toBeUndefined();
  });

  it('acknowledges non-create events and folder markers without reading the object', async () => {
    setup();
    expect(await processObjectRecord(event({ eventName: 'ObjectRemoved:Delete', created: false }), 'm', deps)).toMatchObject({
      status: 'skipped',
    });
    expect(await processObjectRecord(event({ key: 'inbox/folder/', size: 0 }), 'm', deps)).toMatchObject({ status: 'skipped' });
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('processObjectRecord: exactly once', () => {
  it('creates no second version for a duplicate delivery (object kept and tagged)', async () => {
    setup({ config: { disposition: 'tag' } });
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('committed');
    const second = await processObjectRecord(event(), 'msg-2', deps);
    expect(second).toMatchObject({ status: 'skipped', reason: expect.stringContaining('already committed') });
    expect(client.callCount('createPresignedUpload')).toBe(1);
    expect(client.callCount('commitUpload')).toBe(1);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('acknowledges a redelivery after the inbox version was deleted', async () => {
    setup();
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('committed');
    s3.on(GetObjectCommand).rejects(notFound());
    const again = await processObjectRecord(event(), 'msg-1', deps);
    expect(again).toMatchObject({ status: 'skipped', reason: expect.stringContaining('already committed') });
    expect(client.callCount('commitUpload')).toBe(1);
  });

  it('acknowledges an object that is gone and unknown to the ledger (nothing to ingest)', async () => {
    setup();
    s3.on(GetObjectCommand).rejects(notFound());
    expect(await processObjectRecord(event(), 'msg-1', deps)).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('nothing to ingest'),
    });
  });

  it('resumes after a crash between PUT and commit: commits the stored uploadId without a new PUT', async () => {
    setup();
    client.seedTransferredUpload('upload-stored');
    seedClaim({
      owner: 'msg-crashed',
      leaseExpiresAt: NOW.getTime() - 1,
      uploadId: 'upload-stored',
      transferred: true,
      commitPlan: STORED_PLAN,
    });
    const outcome = await processObjectRecord(event(), 'msg-2', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('createPresignedUpload')).toBe(0);
    expect(client.callCount('putPresigned')).toBe(0);
    // The first read only (a small object's head is its GetObject): no byte is sent again.
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(client.commits[0]?.request.uploadId).toBe('upload-stored');
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'committed' });
  });

  it('starts a fresh upload when a crash happened before the PUT completed (presigned URLs are one-shot)', async () => {
    setup();
    seedClaim({ owner: 'msg-1', leaseExpiresAt: NOW.getTime() + 600_000, uploadId: 'upload-half' });
    // Same message redelivered: it may take its own claim over at once.
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: false });
    expect(client.callCount('createPresignedUpload')).toBe(1);
    expect(client.commits[0]?.request.uploadId).not.toBe('upload-half');
  });

  it('uploads again when a stored upload can no longer be committed', async () => {
    setup();
    seedClaim({
      owner: 'msg-0',
      leaseExpiresAt: NOW.getTime() - 1,
      uploadId: 'upload-expired',
      transferred: true,
      commitPlan: STORED_PLAN,
    });
    const outcome = await processObjectRecord(event(), 'msg-2', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    expect(client.commits).toHaveLength(1);
  });

  it('retries while another consumer holds a live lease', async () => {
    setup();
    seedClaim({ owner: 'msg-other', leaseExpiresAt: NOW.getTime() + 60_000, claimedAt: '2025-01-15T08:59:00.000Z' });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('busy') });
    expect(client.callCount('createPresignedUpload')).toBe(0);
    expect(deps.metrics.retried).toBe(1);
  });
});

/** The in-memory ledger (which keeps the commit plan as IngestLedger does), recording the plans it was given. */
class PlanKeepingLedger extends InMemoryIngestLedger {
  readonly recordedPlans: (CommitPlan | undefined)[] = [];

  override async markTransferred(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload): Promise<void> {
    await super.markTransferred(ref, lease, upload);
    this.recordedPlans.push(upload.plan);
  }

  override async claimTransferred(
    ref: ObjectRef,
    owner: string,
    upload: TransferredUpload,
    order?: KeyOrderRequest,
  ): Promise<TransferredClaimResult> {
    const result = await super.claimTransferred(ref, owner, upload, order);
    if (result.outcome === 'claimed') this.recordedPlans.push(upload.plan);
    return result;
  }
}

const RETAGGED: S3Tag[] = TAGS.map((t) => (t.Key === 'ibinder:folder-path' ? { ...t, Value: 'Drawings/Architecture' } : t));

const STORED_PLAN: CommitPlan = {
  connector: 'ibinder',
  fileName: 'Site plan Årsta.pdf',
  target: { binderId: BINDER_ID, folderId: 'f-struct' },
  labels: { folderPath: 'Drawings/Structural' },
  version: 'B',
  metadata: [{ id: 'discipline', value: 'd-struct' }],
};

describe('processObjectRecord: resume after the tags changed', () => {
  let ledger: PlanKeepingLedger;
  /** Every commit the flow asked for, with its target; the first one may "crash" after going through. */
  let commitTargets: { folderId: string; fileName: string; uploadId: string }[];

  /**
   * Like iBinder: an upload id is bound to its first commit's folder and file name, and another
   * one is a 409. `crashAfterFirstCommit` makes the function die right after the first commit.
   */
  function setupResume(options: { crashAfterFirstCommit: boolean }): void {
    client = new FakeIBinderClient(BINDERS);
    ledger = new PlanKeepingLedger(900_000, () => NOW.getTime());
    deps = makeDeps({ client, ledger, now: () => NOW });
    const real = deps.destination;
    const bound = new Map<string, string>();
    commitTargets = [];
    const destination: Destination = {
      name: real.name,
      prepareUpload: () => real.prepareUpload(),
      transfer: (upload, body) => real.transfer(upload, body),
      commit: async (target, request) => {
        commitTargets.push({ folderId: target.folderId, fileName: request.fileName, uploadId: request.uploadId });
        const where = `${target.binderId}/${target.folderId}/${request.fileName}`;
        const first = bound.get(request.uploadId);
        if (first !== undefined && first !== where) throw apiError(409, { title: 'Conflict', traceId: 'trace-upload-bound' });
        const version = await real.commit(target, request);
        bound.set(request.uploadId, where);
        if (options.crashAfterFirstCommit && commitTargets.length === 1) throw new Error('simulated crash right after the commit');
        return version;
      },
    };
    deps.destination = destination;
    serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags: TAGS });
  }

  function retag(tags: S3Tag[]): void {
    s3.reset();
    serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags });
  }

  it('stores the commit plan with the upload id, in the one write that marks the bytes sent', async () => {
    setupResume({ crashAfterFirstCommit: false });
    await processObjectRecord(event(), 'msg-1', deps);
    expect(ledger.recordedPlans).toEqual([STORED_PLAN]);
    expect(ledger.changes(REF)).toEqual(['claimed', 'transferred', 'committed']);
  });

  it('commits the stored upload with the stored plan when the object was re-tagged after a crash after the commit: no second PUT, no second document', async () => {
    setupResume({ crashAfterFirstCommit: true });
    const first = await processObjectRecord(event(), 'msg-1', deps);
    expect(first).toMatchObject({ status: 'retry' });
    expect(await ledger.get(REF)).toMatchObject({ state: 'claimed', transferred: true, commitPlan: STORED_PLAN });

    retag(RETAGGED);
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array): boolean => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    let second;
    try {
      const { Logger } = await import('@aws-lambda-powertools/logger');
      deps.logger = new Logger({ serviceName: 'ingest-test', logLevel: 'INFO' });
      second = await processObjectRecord(event(), 'msg-1', deps);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }

    expect(second).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('createPresignedUpload')).toBe(1);
    expect(client.callCount('putPresigned')).toBe(1);
    const uploadId = client.transfers[0]?.uploadId;
    expect(commitTargets).toEqual([
      { folderId: 'f-struct', fileName: 'Site plan Årsta.pdf', uploadId },
      { folderId: 'f-struct', fileName: 'Site plan Årsta.pdf', uploadId },
    ]);
    // One document, in the folder first resolved; the ledger names it.
    expect(client.commits).toHaveLength(1);
    expect(client.commits[0]).toMatchObject({ folderId: 'f-struct' });
    expect(await ledger.get(REF)).toMatchObject({ state: 'committed', target: { folderId: 'f-struct', binderId: BINDER_ID } });
    const lines = written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'));
    // The current tags do not count: the log says where the file went instead.
    const resuming = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((l) => String(l.message).includes('resuming with the stored commit plan'));
    expect(resuming).toMatchObject({ level: 'INFO', storedPlan: { folderId: 'f-struct', folderPath: 'Drawings/Structural' } });
  });

  it("uploads again with the current plan only when the stored plan's commit is refused (the upload expired)", async () => {
    setupResume({ crashAfterFirstCommit: false });
    ledger.seed(REF, {
      state: 'claimed',
      owner: 'msg-crashed',
      leaseExpiresAt: NOW.getTime() - 1,
      attempts: 1,
      claimedAt: '2025-01-15T08:40:00.000Z',
      uploadId: 'upload-expired',
      transferred: true,
      commitPlan: STORED_PLAN,
    });
    retag(RETAGGED);
    const outcome = await processObjectRecord(event(), 'msg-2', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    const fresh = client.transfers[0]?.uploadId;
    expect(commitTargets).toEqual([
      { folderId: 'f-struct', fileName: 'Site plan Årsta.pdf', uploadId: 'upload-expired' },
      { folderId: 'f-arch', fileName: 'Site plan Årsta.pdf', uploadId: fresh },
    ]);
    expect(ledger.recordedPlans).toEqual([
      { ...STORED_PLAN, target: { binderId: BINDER_ID, folderId: 'f-arch' }, labels: { folderPath: 'Drawings/Architecture' } },
    ]);
    expect(await ledger.get(REF)).toMatchObject({ state: 'committed', target: { folderId: 'f-arch' } });
  });
});

describe('processObjectRecord: permanent failures', () => {
  it('moves the object to rejected/ with a report when iBinder refuses the commit (400), copy and report before the delete', async () => {
    setup();
    client.failNext(
      'commitUpload',
      apiError(400, {
        title: 'One or more validation errors occurred.',
        traceId: '00-abc-01',
        fieldErrors: { fileName: ['The file type is not allowed.'] },
      }),
    );
    const outcome = await processObjectRecord(event(), 'msg-1', deps);

    expect(outcome).toMatchObject({ status: 'rejected', rejectedKey: 'rejected/Site plan Årsta.pdf' });
    expect(s3Writes()).toEqual(['CopyObjectCommand', 'PutObjectCommand', 'DeleteObjectCommand']);
    expect(s3.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'rejected/Site plan Årsta.pdf',
      CopySource: `${BUCKET}/inbox/Site%20plan%20%C3%85rsta.pdf?versionId=v1`,
      TaggingDirective: 'COPY',
      MetadataDirective: 'COPY',
    });
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Key: 'rejected/Site plan Årsta.pdf.error.json',
      ContentType: 'application/json; charset=utf-8',
    });
    const report = writtenReport();
    expect(report).toMatchObject({
      object: { bucket: BUCKET, key: KEY, versionId: VERSION, size: CONTENT.length },
      rejectedAt: NOW.toISOString(),
      environment: 'test',
      connector: 'ibinder',
      target: { binderId: BINDER_ID, folderId: 'f-struct', folderPath: 'Drawings/Structural' },
      refusal: { connector: 'ibinder', status: 400, title: 'One or more validation errors occurred.', requestId: '00-abc-01' },
    });
    expect(report.problems).toEqual([
      expect.objectContaining({
        code: 'refused',
        field: 'ibinder:fileName',
        message: expect.stringContaining('The file type is not allowed.'),
      }),
    ]);
    expect(report.howToRetry).toContain(`s3://${BUCKET}/inbox/Site plan Årsta.pdf`);
    expect(s3.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, VersionId: VERSION });
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'rejected', rejectedKey: 'rejected/Site plan Årsta.pdf' });
    expect(deps.metrics.rejected).toEqual(['refused']);
  });

  it('rejects validation problems under its claim, before uploading, listing all of them', async () => {
    setup({
      tags: [
        { Key: 'ibinder:binder', Value: BINDER_ID },
        { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
        { Key: 'ibinder:filename', Value: 'a\\b.pdf' },
        { Key: 'ibinder:meta:status', Value: 'wip' },
        { Key: 'ibinder:meta:colour', Value: 'red' },
        { Key: 'ibinder:colour', Value: 'red' },
      ],
    });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome.status).toBe('rejected');
    const fields = writtenReport().problems.map((p) => p.field);
    expect(fields).toEqual(['ibinder:colour', 'ibinder:filename', 'ibinder:meta:status', 'ibinder:meta:colour', 'ibinder:meta:discipline']);
    expect(client.callCount('createPresignedUpload')).toBe(0);
    // Claimed first: only the claim's holder writes to rejected/.
    expect(deps.ledger.changes(REF)).toEqual(['claimed', 'rejected']);
    expect(writtenReport().howToRetry).toContain("Fix the object's tags (ibinder:colour, ibinder:filename");
  });

  it('rejects an empty file and a file over the maximum size', async () => {
    setup({ content: Buffer.alloc(0) });
    expect(await processObjectRecord(event({ size: 0 }), 'msg-1', deps)).toMatchObject({
      status: 'rejected',
      problems: [{ code: 'empty-file' }],
    });

    s3.reset();
    setup({ config: { maxFileSizeBytes: 10 } });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'rejected', problems: [{ code: 'too-large' }] });
    expect(client.callCount('putPresigned')).toBe(0);
  });

  it('rejects an unknown binder and still reports the other problems', async () => {
    setup({
      tags: [
        { Key: 'ibinder:binder', Value: 'Nope00000' },
        { Key: 'ibinder:folder-path', Value: 'Drawings' },
        { Key: 'ibinder:filename', Value: 'a/b' },
      ],
    });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome.status).toBe('rejected');
    const report = writtenReport();
    expect(report.problems.map((p) => p.field)).toEqual(['ibinder:binder', 'ibinder:filename']);
    expect(report.refusal).toMatchObject({ connector: 'ibinder', status: 404, requestId: 'trace-unknown-binder' });
  });

  it('rejects an unknown binder given with a folder id (found when looking for the folder in it)', async () => {
    setup({
      tags: [
        { Key: 'ibinder:binder', Value: 'Nope00000' },
        { Key: 'ibinder:folder', Value: '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60' },
      ],
    });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'rejected', problems: [{ field: 'ibinder:binder' }] });
  });
});

describe('processObjectRecord: transient failures', () => {
  it.each([429, 500])('returns a retry on %i from the commit and keeps the transferred upload for the next attempt', async (status) => {
    setup();
    client.failNext('commitUpload', apiError(status, { title: 'busy' }));
    const first = await processObjectRecord(event(), 'msg-1', deps);
    expect(first).toMatchObject({ status: 'retry', reason: expect.stringContaining('commit') });
    expect(s3Writes()).toEqual([]);
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'claimed', transferred: true });

    const second = await processObjectRecord(event(), 'msg-1', deps);
    expect(second).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
  });

  it("treats a refused presign and a refused PUT as transient (not the file's fault)", async () => {
    setup();
    client.failNext('createPresignedUpload', apiError(403, { title: 'Forbidden' }));
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('retry');
    client.failNext('putPresigned', apiError(403, { title: 'Request has expired' }));
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('retry');
    expect(s3Writes()).toEqual([]);
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('committed');
  });

  it('treats an auth failure as transient (an operator problem, alarmed via the DLQ)', async () => {
    setup();
    client.failNext('listTopFolders', apiError(401, { title: 'Unauthorized' }));
    expect((await processObjectRecord(event(), 'msg-1', deps)).status).toBe('retry');
  });

  it('retries on S3 throttling', async () => {
    setup();
    s3.on(GetObjectCommand).rejects(s3Throttled());
    expect(await processObjectRecord(event(), 'msg-1', deps)).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('SlowDown'),
    });
  });

  it('retries an untagged object within the grace period, then rejects it as untagged', async () => {
    setup({ tags: [{ Key: 'producer', Value: 'erp' }], lastModified: new Date(NOW.getTime() - 60_000) });
    expect(await processObjectRecord(event(), 'msg-1', deps)).toMatchObject({
      status: 'retry',
      reason: expect.stringContaining('untagged'),
    });
    expect(s3Writes()).toEqual([]);

    s3.reset();
    setup({ tags: [{ Key: 'producer', Value: 'erp' }], lastModified: new Date(NOW.getTime() - 301_000) });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'rejected', problems: [{ code: 'untagged' }] });
    expect(deps.metrics.rejected).toEqual(['untagged']);
  });
});

describe('processObjectRecord: logs', () => {
  it("never logs the presigned URL's signature", async () => {
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array): boolean => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    try {
      setup();
      const { Logger } = await import('@aws-lambda-powertools/logger');
      deps.logger = new Logger({ serviceName: 'ingest-test', logLevel: 'DEBUG' });
      client.failNext('putPresigned', apiError(503, { title: 'unavailable', path: '/upload/upload-1' }));
      await processObjectRecord(event(), 'msg-1', deps);
      await processObjectRecord(event(), 'msg-1', deps);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const output = written.join('');
    expect(output).toContain('file ingested');
    expect(output).toContain('transient failure');
    expect(output).not.toContain('X-Sig');
    expect(output).not.toContain('secret');
  });
});

/** The in-memory ledger, holding each claim's holder after its claim until the test lets it go on. */
class GatedLedger extends InMemoryIngestLedger {
  readonly gates: Promise<void>[] = [];

  override async claim(ref: ObjectRef, owner: string): Promise<ClaimResult> {
    const result = await super.claim(ref, owner);
    const gate = this.gates.shift();
    if (gate) await gate;
    return result;
  }
}

/** A promise and the function that settles it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * The same message delivered to two invocations at once: A and B have both claimed the object
 * (B's claim replaced A's token) and each waits at its gate until the test opens it.
 */
async function twoConcurrentDeliveries(tags: S3Tag[]): Promise<{
  ledger: GatedLedger;
  goA: ReturnType<typeof latch>;
  goB: ReturnType<typeof latch>;
  first: ReturnType<typeof processObjectRecord>;
  second: ReturnType<typeof processObjectRecord>;
}> {
  client = new FakeIBinderClient(BINDERS);
  const ledger = new GatedLedger(900_000, () => NOW.getTime());
  deps = makeDeps({ client, ledger, now: () => NOW });
  serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags });
  const goA = latch();
  const goB = latch();
  ledger.gates.push(goA.promise, goB.promise);
  const first = processObjectRecord(event(), 'msg-1', deps);
  await vi.waitFor(() => expect(ledger.changes(REF)).toEqual(['claimed']));
  const second = processObjectRecord(event(), 'msg-1', deps);
  await vi.waitFor(() => expect(ledger.changes(REF)).toEqual(['claimed', 'claimed']));
  return { ledger, goA, goB, first, second };
}

describe('processObjectRecord: one message delivered twice at once (claim tokens)', () => {
  it('lets exactly one of two concurrent invocations of the same message upload and commit; the other retries', async () => {
    // A claims and waits; B claims the same object with the same messageId (its own claim, so
    // the owner condition lets it through) and waits; then A goes on, and B after A finished.
    const { ledger, goA, goB, first, second } = await twoConcurrentDeliveries(TAGS);
    goA.open();
    const a = await first;
    goB.open();
    const b = await second;

    // A loses at its first write (its token was replaced): the record of its transfer, so the
    // upload it sent is never recorded nor committed.
    expect(a).toMatchObject({ status: 'retry', reason: expect.stringContaining('record transfer') });
    expect(b).toMatchObject({ status: 'committed', resumed: false });
    expect(client.callCount('putPresigned')).toBe(2);
    expect(client.commits.map((c) => c.request.uploadId)).toEqual([client.transfers[1]?.uploadId]);
    expect(client.callCount('commitUpload')).toBe(1);
    expect(client.allVersions()).toHaveLength(1);
    expect(await ledger.get(REF)).toMatchObject({
      state: 'committed',
      versionIds: { versionId: b.status === 'committed' ? b.version.ids.versionId : 'none' },
    });
  });

  it("refuses every write of a superseded claim of the same message, and accepts the new one's", async () => {
    const ledger = new InMemoryIngestLedger(900_000, () => NOW.getTime());
    const old = await ledger.claim(REF, 'msg-1');
    const current = await ledger.claim(REF, 'msg-1');
    if (old.outcome !== 'claimed' || current.outcome !== 'claimed') throw new Error('both claims should succeed');
    expect(old.lease.token).not.toBe(current.lease.token);

    await expect(ledger.markTransferred(REF, old.lease, { uploadId: 'up-old', plan: STORED_PLAN })).rejects.toBeInstanceOf(
      LedgerConflictError,
    );
    await expect(ledger.markRejected(REF, old.lease, [])).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(
      ledger.markCommitted(REF, old.lease, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v-old' } } }),
    ).rejects.toBeInstanceOf(LedgerConflictError);
    await ledger.markTransferred(REF, current.lease, { uploadId: 'up-new', plan: STORED_PLAN });
    await ledger.markCommitted(REF, current.lease, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v-new' } } });
    // A late commit of the same version is success; of another version, a conflict naming the recorded one.
    await expect(
      ledger.markCommitted(REF, old.lease, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v-new' } } }),
    ).resolves.toBeUndefined();
    const late = await ledger
      .markCommitted(REF, old.lease, { version: { connector: 'ibinder', ids: { documentId: 'd', versionId: 'v-old' } } })
      .catch((e: unknown) => e);
    expect(late).toBeInstanceOf(LedgerConflictError);
    expect((late as LedgerConflictError).current).toMatchObject({ state: 'committed', versionIds: { versionId: 'v-new' } });
  });
});

describe('processObjectRecord: an accepted file is never rejected later', () => {
  /** Tags that the assessment rejects: a metadata value the schema does not allow. */
  const INVALID: S3Tag[] = TAGS.map((t) => (t.Key === 'ibinder:meta:discipline' ? { ...t, Value: 'Plumbing' } : t));

  it('writes no rejected copy when its claim was taken over by a second invocation of the same message', async () => {
    const { goA, goB, first, second } = await twoConcurrentDeliveries(INVALID);
    goA.open();
    expect(await first).toMatchObject({ status: 'retry', reason: expect.stringContaining('taken over') });
    expect(s3Writes()).toEqual([]);
    goB.open();
    expect(await second).toMatchObject({ status: 'rejected' });
    expect(s3Writes()).toEqual(['CopyObjectCommand', 'PutObjectCommand', 'DeleteObjectCommand']);
    expect(deps.metrics.rejected).toEqual(['metadata']);
  });

  it('resumes the commit after a crash after the commit, although the new tags would be rejected: no rejected/ copy, one document', async () => {
    client = new FakeIBinderClient(BINDERS);
    let crashed = false;
    deps = makeDeps({ client, now: () => NOW });
    const real = deps.destination;
    deps.destination = {
      name: real.name,
      prepareUpload: () => real.prepareUpload(),
      transfer: (upload, body) => real.transfer(upload, body),
      commit: async (target, request) => {
        const version = await real.commit(target, request);
        if (!crashed) {
          crashed = true;
          throw new Error('simulated crash right after the commit');
        }
        return version;
      },
    };
    serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags: TAGS });
    expect(await processObjectRecord(event(), 'msg-1', deps)).toMatchObject({ status: 'retry' });
    expect(client.allVersions()).toHaveLength(1);

    s3.reset();
    serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags: INVALID });
    // The redelivery runs in a fresh container: no folder or schema cached from the first run.
    const crashing = deps.destination;
    deps = makeDeps({ client, ledger: deps.ledger, now: () => NOW });
    deps.destination = crashing;
    const outcome = await processObjectRecord(event(), 'msg-1', deps);

    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(s3Writes()).toEqual(['DeleteObjectCommand']);
    expect(s3.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(deps.metrics.rejected).toEqual([]);
    expect(client.allVersions()).toHaveLength(1);
    expect(client.callCount('putPresigned')).toBe(1);
    // The current tags are assessed before the claim (the ledger is no longer read first), but
    // the stored plan the claim returns decides: one document, where it was first committed.
    expect(client.commits.every((c) => c.folderId === 'f-struct')).toBe(true);
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'committed', target: { folderId: 'f-struct' } });
  });

  it('writes nothing to rejected/ while another consumer holds a live claim on the object', async () => {
    setup({ tags: INVALID });
    seedClaim({
      owner: 'msg-other',
      claimToken: 'token-other',
      leaseExpiresAt: NOW.getTime() + 60_000,
      claimedAt: '2025-01-15T08:59:00.000Z',
    });
    const outcome = await processObjectRecord(event(), 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'retry', reason: expect.stringContaining('busy: claimed by message msg-other') });
    expect(s3Writes()).toEqual([]);
    expect(deps.metrics.rejected).toEqual([]);
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'claimed', owner: 'msg-other', claimToken: 'token-other' });
  });
});

describe('InMemoryIngestLedger', () => {
  it("follows the DynamoDB ledger's claim rules (expired lease takeover, same-owner takeover, busy)", async () => {
    let now = 0;
    const ledger = new InMemoryIngestLedger(1000, () => now);
    expect((await ledger.claim(REF, 'a')).outcome).toBe('claimed');
    expect((await ledger.claim(REF, 'b')).outcome).toBe('busy');
    expect((await ledger.claim(REF, 'a')).outcome).toBe('claimed');
    now = 2001;
    expect(await ledger.claim(REF, 'b')).toMatchObject({ outcome: 'claimed', entry: { attempts: 3, owner: 'b' } });
  });
});
