import { randomBytes } from 'node:crypto';
import { CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processExportJobs, type ExportJobMessage } from '../../functions/export-worker/process-jobs.js';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { serializeExportJob, type ExportJob } from '../../shared/export/job.js';
import { manifestKeyFor, manifestPartsPrefixFor, parsePartLines } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import { buildSidecar, ExportSidecarSchema } from '../../shared/export/sidecar.js';
import { versionKey, type ExportLedger } from '../../shared/ledger/export-ledger.js';
import {
  FakeExportIBinder,
  SIGNATURE,
  TestClock,
  apiError,
  createFakeArchive,
  makeExportDeps,
  sampleMetadataElements,
  sha256Hex,
  startLedgerServer,
  type FakeArchive,
  type FakeVersion,
  type LedgerServer,
} from '../helpers/export-factories.js';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const RUN_STARTED_AT = '2026-11-22T02:00:00.000Z';

let server: LedgerServer;
beforeAll(async () => {
  server = await startLedgerServer();
});
afterAll(async () => {
  await server.close();
});

interface Setup {
  ibinder: FakeExportIBinder;
  archive: FakeArchive;
  deps: PlannerDeps;
  doc: DynamoDBDocumentClient;
  tableName: string;
  clock: TestClock;
}

let setup: Setup;
beforeEach(async () => {
  const ibinder = new FakeExportIBinder().addBinder('Bx7kQ2mZp', sampleMetadataElements());
  const archive = createFakeArchive();
  const ledger = await server.newTable();
  const clock = new TestClock(Date.parse('2026-11-22T02:05:00Z'));
  const deps = makeExportDeps({ ibinder, archive, ledger, clock });
  answerHeadObject(archive);
  setup = { ibinder, archive, deps, doc: ledger.doc, tableName: ledger.tableName, clock };
});

/** HeadObject on the in-memory bucket, as S3 answers it (404 `NotFound`, no body). */
function answerHeadObject(archive: FakeArchive): void {
  archive.mock.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
    const object = archive.objects.get(input.Key);
    if (!object) throw Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    return { ContentLength: object.body.length, ...(object.contentType ? { ContentType: object.contentType } : {}) };
  });
}

function jobFor(version: FakeVersion, overrides: Partial<ExportJob> = {}): ExportJob {
  const document = setup.ibinder.documents.find((d) => d.id === version.documentId);
  if (!document) throw new Error('test: no document');
  return {
    runId: 'run-1',
    runStartedAt: RUN_STARTED_AT,
    tenantId: 'acme',
    binderId: document.binderId,
    documentId: document.id,
    versionId: version.id,
    fileName: document.fileName,
    versionLabel: version.version,
    status: version.status,
    modifiedAt: version.modifiedAt,
    metadata: version.metadata,
    ...overrides,
  };
}

function messages(...jobs: ExportJob[]): ExportJobMessage[] {
  return jobs.map((job, i) => ({ messageId: `msg-${i}`, body: serializeExportJob(job), receiveCount: 1 }));
}

/** Creates the run item so that settling and the manifest work as they do after a plan. */
async function createPlannedRun(versionsEnqueued: number, runId = 'run-1'): Promise<void> {
  await setup.deps.runs.create({
    runId,
    tenantId: 'acme',
    trigger: 'schedule',
    startedAt: new Date(RUN_STARTED_AT),
    binderIds: ['Bx7kQ2mZp'],
  });
  const owner = 'planner-test';
  await setup.deps.runs.acquirePlanningLease(runId, owner, setup.clock.now(), 60_000);
  await setup.deps.runs.recordEnqueued(
    runId,
    Array.from({ length: versionsEnqueued }, (_, i) => `enqueued-${i}`),
    setup.clock.now(),
  );
  await setup.deps.runs.saveProgress(
    runId,
    owner,
    { binderIndex: 1, nextPage: 1, documentsSeen: versionsEnqueued, skippedUnchanged: 0, documentErrors: 0, binderErrors: 0 },
    setup.clock.now(),
    60_000,
  );
  await setup.deps.runs.markPlanned(runId, owner, setup.clock.now());
}

function addPlan(fileName = 'A-101 Plan.pdf', content: string | Buffer = 'plan drawing bytes'): FakeVersion {
  const document = setup.ibinder.addDocument('Bx7kQ2mZp', fileName, [
    {
      content,
      metadata: [
        { metadataElementId: 'discipline', valueId: 'arch' },
        { metadataElementId: 'note', valueId: 'for tender' },
      ],
    },
  ]);
  return document.versions[0] as FakeVersion;
}

describe('export worker', () => {
  it('archives the file at <tenant>/<binder>/<document>/<version>/<fileName> with a labelled sidecar and a ledger record', async () => {
    const version = addPlan();
    await createPlannedRun(1);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results.map((r) => r.status)).toEqual(['exported']);
    const key = `acme/Bx7kQ2mZp/${version.documentId}/${version.id}/A-101 Plan.pdf`;
    expect(setup.archive.text(key)).toBe('plan drawing bytes');
    // The CRC32 that S3 verifies, not a second SHA-256 (the whole file's is in the sidecar).
    expect(setup.archive.objects.get(key)?.checksumAlgorithm).toBe('CRC32');

    const sidecar = ExportSidecarSchema.parse(setup.archive.json(`${key}.metadata.json`));
    expect(sidecar).toMatchObject({
      tenantId: 'acme',
      binderId: 'Bx7kQ2mZp',
      documentId: version.documentId,
      versionId: version.id,
      fileName: 'A-101 Plan.pdf',
      versionLabel: 'A',
      status: 'Published',
      modifiedAt: version.modifiedAt,
      size: Buffer.byteLength('plan drawing bytes'),
      sha256: sha256Hex('plan drawing bytes'),
      exportedAt: '2026-11-22T02:05:00.000Z',
      runId: 'run-1',
      archiveKey: key,
      source: 'ibinder',
    });
    expect(sidecar.metadata).toEqual([
      { metadataElementId: 'discipline', label: 'Discipline', valueId: 'arch', valueLabel: 'Architecture' },
      { metadataElementId: 'note', label: 'Note', valueId: 'for tender', valueLabel: 'for tender' },
    ]);

    const item = await setup.doc.send(new GetCommand({ TableName: setup.tableName, Key: { pk: versionKey(version.id) } }));
    expect(item.Item).toMatchObject({
      state: 'exported',
      archiveKey: key,
      sha256: sha256Hex('plan drawing bytes'),
      size: 18,
      exportedAt: '2026-11-22T02:05:00.000Z',
      runId: 'run-1',
    });
  });

  it('writes the sidecar after the file, so a sidecar always describes a complete file', async () => {
    const version = addPlan();
    await processExportJobs(messages(jobFor(version)), setup.deps);
    const puts = setup.archive.mock
      .commandCalls((await import('@aws-sdk/client-s3')).PutObjectCommand)
      .map((c) => c.args[0].input.Key ?? '');
    const fileIndex = puts.findIndex((k) => k.endsWith('A-101 Plan.pdf'));
    const sidecarIndex = puts.findIndex((k) => k.endsWith('A-101 Plan.pdf.metadata.json'));
    expect(fileIndex).toBeGreaterThanOrEqual(0);
    expect(sidecarIndex).toBeGreaterThan(fileIndex);
  });

  it('makes a file name with path separators a single safe key segment, keeping the original in the sidecar', async () => {
    const version = addPlan('../etc/passwd\u0007.pdf');
    await processExportJobs(messages(jobFor(version)), setup.deps);
    const key = `acme/Bx7kQ2mZp/${version.documentId}/${version.id}/.._etc_passwd_.pdf`;
    expect(setup.archive.keys()).toContain(key);
    expect(ExportSidecarSchema.parse(setup.archive.json(`${key}.metadata.json`)).fileName).toBe('../etc/passwd\u0007.pdf');
  });

  it('exports nothing for a redelivered job: no link is asked for and nothing is written', async () => {
    const version = addPlan();
    await processExportJobs(messages(jobFor(version)), setup.deps);
    const callsBefore = { ...setup.ibinder.calls };
    const objectsBefore = setup.archive.keys().filter((k) => !k.startsWith('manifests/'));

    const again = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(again.map((r) => r.status)).toEqual(['exported']); // exported by this same run: counts once
    expect(setup.ibinder.calls.getDownloadLink).toBe(callsBefore.getDownloadLink);
    expect(setup.ibinder.calls.openDownload).toBe(callsBefore.openDownload);
    expect(setup.archive.keys().filter((k) => !k.startsWith('manifests/'))).toEqual(objectsBefore);
  });

  it('acknowledges a job of an overlapping run for a version another run exported, as already exported', async () => {
    const version = addPlan();
    await processExportJobs(messages(jobFor(version)), setup.deps);
    const results = await processExportJobs(messages(jobFor(version, { runId: 'run-2' })), setup.deps);
    expect(results[0]?.status).toBe('already-exported');
    expect(results[0]?.record?.runId).toBe('run-1');
    expect(setup.ibinder.calls.openDownload).toBe(1);
  });

  it('hands a job back when another worker holds a live claim on the version', async () => {
    const version = addPlan();
    await setup.deps.ledger.claim({
      versionId: version.id,
      owner: 'other-worker',
      runId: 'run-0',
      now: setup.clock.now(),
      leaseSeconds: 900,
    });

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('retry');
    expect(results[0]?.error?.reason).toMatch(/being exported by another worker/);
    expect(setup.ibinder.calls.getDownloadLink).toBe(0);
  });

  it('asks for a new download link once when the first one turns out expired', async () => {
    const version = addPlan();
    setup.ibinder.expiredOpens = 1;

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('exported');
    expect(setup.ibinder.calls.getDownloadLink).toBe(2);
    expect(setup.ibinder.calls.openDownload).toBe(2);
    expect(setup.archive.text(results[0]?.record?.archiveKey ?? '')).toBe('plan drawing bytes');
  });

  it('retries the job later when the link keeps expiring, without leaking its signature', async () => {
    const version = addPlan();
    setup.ibinder.expiredOpens = 10;

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('retry');
    expect(results[0]?.error?.reason).toMatch(/expired 3 times/);
    expect(setup.ibinder.calls.getDownloadLink).toBe(3); // first link + maxLinkRenewals (2)
    expect(JSON.stringify(results)).not.toContain(SIGNATURE);
    expect(await setup.deps.ledger.getExported(version.id)).toBeUndefined();
  });

  it('computes the SHA-256 over the streamed bytes of a multipart upload, with S3 checking every part', async () => {
    const content = randomBytes(11 * 1024 * 1024 + 123);
    const version = addPlan('Model.ifc', content);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    const record = results[0]?.record;
    expect(record?.sha256).toBe(sha256Hex(content));
    expect(record?.size).toBe(content.length);
    expect(Buffer.from(record?.sha256Base64 ?? '', 'base64').toString('hex')).toBe(sha256Hex(content));
    const stored = setup.archive.objects.get(record?.archiveKey ?? '');
    expect(stored?.body.equals(content)).toBe(true);
    expect(setup.archive.partUploads.length).toBe(3); // 5 MiB parts
    expect(setup.archive.partUploads.every((p) => p.checksumAlgorithm === 'CRC32')).toBe(true);
    expect(stored?.checksumAlgorithm).toBe('CRC32');
    const sidecar = ExportSidecarSchema.parse(setup.archive.json(`${record?.archiveKey}.metadata.json`));
    expect(sidecar.sha256).toBe(sha256Hex(content));
  });

  it('archives an empty file with the SHA-256 of no bytes', async () => {
    const version = addPlan('empty.txt', Buffer.alloc(0));
    const results = await processExportJobs(messages(jobFor(version)), setup.deps);
    expect(results[0]?.status).toBe('exported');
    expect(results[0]?.record?.sha256).toBe(sha256Hex(''));
    expect(setup.archive.objects.get(results[0]?.record?.archiveKey ?? '')?.body.length).toBe(0);
  });

  it('stores nothing for a truncated download and retries the job', async () => {
    const content = randomBytes(11 * 1024 * 1024);
    const version = addPlan('Model.ifc', content);
    setup.ibinder.truncateAfter.set(version.id, 7 * 1024 * 1024);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('retry');
    expect(results[0]?.error?.reason).toMatch(/ended after 7340032 of 11534336 bytes/);
    expect(setup.archive.keys().filter((k) => !k.startsWith('manifests/'))).toEqual([]);
    expect(setup.archive.openUploads.size).toBe(0);
    // The claim was released: the retry can claim at once.
    const claim = await setup.deps.ledger.claim({
      versionId: version.id,
      owner: 'retry',
      runId: 'run-1',
      now: setup.clock.now(),
      leaseSeconds: 60,
    });
    expect(claim.kind).toBe('claimed');
  });

  it('records a gone version (404) as failed with its traceId and acknowledges it', async () => {
    const version = addPlan();
    setup.ibinder.failNext(
      'getDownloadLink',
      version.id,
      apiError(404, 'GET', `/documents/${version.documentId}/versions/${version.id}/raw`, 'trace-404'),
    );
    await createPlannedRun(1);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('failed');
    expect(results[0]?.error).toMatchObject({ kind: 'permanent', httpStatus: 404, traceId: 'trace-404' });
    expect(await setup.deps.ledger.getExported(version.id)).toBeUndefined();
    const manifest = setup.archive.text(manifestKeyFor('run-1', RUN_STARTED_AT));
    const versionLine = manifest
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.type === 'version');
    expect(versionLine).toMatchObject({ status: 'failed', versionId: version.id, httpStatus: 404, traceId: 'trace-404' });
  });

  it('records a refusal (403) of the API as failed, not as an expired link', async () => {
    const version = addPlan();
    setup.ibinder.failNext('getDownloadLink', version.id, apiError(403, 'GET', '/documents/x/versions/y/raw'));
    const results = await processExportJobs(messages(jobFor(version)), setup.deps);
    expect(results[0]?.status).toBe('failed');
    expect(setup.ibinder.calls.getDownloadLink).toBe(1);
  });

  it('hands back transient failures (429, 5xx, S3 errors) and records a retrying line', async () => {
    const a = addPlan('a.pdf');
    const b = addPlan('b.pdf');
    setup.ibinder.failNext('getDownloadLink', a.id, apiError(503, 'GET', '/documents/x/versions/y/raw'));
    setup.archive.failPutsUnder.push(`acme/Bx7kQ2mZp/${b.documentId}/`);

    const results = await processExportJobs(messages(jobFor(a), jobFor(b)), setup.deps);

    expect(results.map((r) => r.status)).toEqual(['retry', 'retry']);
    expect(results[0]?.error).toMatchObject({ kind: 'transient', httpStatus: 503 });
    expect(results[1]?.error).toMatchObject({ kind: 'transient', httpStatus: 500 });
    const partKeys = setup.archive.keys().filter((k) => k.startsWith(manifestPartsPrefixFor('run-1', RUN_STARTED_AT)));
    expect(partKeys).toHaveLength(1);
    const { lines } = parsePartLines(setup.archive.text(partKeys[0] as string));
    expect(lines.map((l) => (l.type === 'version' ? l.status : l.type))).toEqual(['retrying', 'retrying']);
  });

  it('drops a message that is not an export job, as failed, without retrying it', async () => {
    const results = await processExportJobs([{ messageId: 'bad', body: '{"runId":"run-1"}' }], setup.deps);
    expect(results[0]?.status).toBe('failed');
    expect(results[0]?.error?.reason).toMatch(/export job message is invalid/);
  });

  it('does not start jobs when the invocation is running out of time', async () => {
    const version = addPlan();
    const left = [600_000, 59_000];
    const results = await processExportJobs(messages(jobFor(version)), setup.deps, { remainingTimeMs: () => left.shift() ?? 0 });
    expect(results[0]).toMatchObject({ status: 'retry', notStarted: true });
    expect(setup.ibinder.calls.getDownloadLink).toBe(0);
    expect(setup.archive.keys()).toEqual([]);
  });

  it('still works under a short function timeout: the reserve is at most a quarter of it', async () => {
    const version = addPlan();
    const results = await processExportJobs(messages(jobFor(version)), setup.deps, { remainingTimeMs: () => 30_000 });
    expect(results[0]?.status).toBe('exported');
  });

  it('writes one manifest part per batch and assembles the run manifest when the last job settles', async () => {
    const a = addPlan('a.pdf', 'aaa');
    const b = addPlan('b.pdf', 'bbbb');
    const gone = addPlan('c.pdf', 'c');
    setup.ibinder.failNext('getDownloadLink', gone.id, apiError(404, 'GET', '/documents/x/versions/y/raw'));
    await createPlannedRun(3);

    await processExportJobs(messages(jobFor(a)), setup.deps);
    expect(setup.archive.objects.has(manifestKeyFor('run-1', RUN_STARTED_AT))).toBe(false);
    await processExportJobs(messages(jobFor(b), jobFor(gone)), setup.deps);

    const parts = setup.archive.keys().filter((k) => k.startsWith('manifests/2026-11-22/run-1/parts/'));
    expect(parts).toHaveLength(2);
    const manifest = setup.archive
      .text('manifests/2026-11-22/run-1.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(manifest[0]).toMatchObject({
      type: 'run',
      runId: 'run-1',
      tenantId: 'acme',
      complete: true,
      versionsEnqueued: 3,
      versionsExported: 2,
      failed: 1,
      unfinished: 0,
      bytes: 7,
    });
    const versions = manifest.filter((l) => l.type === 'version');
    expect(versions.map((l) => [l.versionId, l.status])).toEqual([
      [a.id, 'exported'],
      [b.id, 'exported'],
      [gone.id, 'failed'],
    ]);
    expect(versions[0]).toMatchObject({ archiveKey: `acme/Bx7kQ2mZp/${a.documentId}/${a.id}/a.pdf`, size: 3, sha256: sha256Hex('aaa') });
    const run = await setup.deps.runs.get('run-1');
    expect(run).toMatchObject({ state: 'finalized', settled: 3, exported: 2, failed: 1, bytes: 7 });
  });

  it('rewrites the manifest of a run finalized already when one of its jobs settles late', async () => {
    const a = addPlan('a.pdf', 'aaa');
    const late = addPlan('b.pdf', 'bbbb');
    await createPlannedRun(2);
    await processExportJobs(messages(jobFor(a)), setup.deps);
    // The next scheduled plan gives up waiting and writes the manifest with one version unfinished.
    const planned = await setup.deps.runs.get('run-1');
    await finalizeRun(planned!, { ...setup.deps, sourceName: setup.deps.source.name });
    const runLine = (): Record<string, unknown> =>
      JSON.parse(setup.archive.text(manifestKeyFor('run-1', RUN_STARTED_AT)).split('\n')[0] as string) as Record<string, unknown>;
    expect(runLine()).toMatchObject({ versionsExported: 1, unfinished: 1 });

    await processExportJobs(messages(jobFor(late)), setup.deps);

    expect(runLine()).toMatchObject({ versionsExported: 2, unfinished: 0, complete: true });
    expect(await setup.deps.runs.get('run-1')).toMatchObject({ state: 'finalized', settled: 2 });
  });

  it("takes an exported version out of its document's pending marker and leaves a failed one in it", async () => {
    const document = setup.ibinder.addDocument('Bx7kQ2mZp', 'a.pdf', ['one', 'two']);
    const [gone, kept] = document.versions as [FakeVersion, FakeVersion];
    await setup.deps.ledger.setDocumentPending(document.id, document.binderId, [gone.id, kept.id], setup.clock.now());
    setup.ibinder.failNext('getDownloadLink', gone.id, apiError(404, 'GET', '/documents/x/versions/y/raw'));
    await createPlannedRun(2);

    await processExportJobs(messages(jobFor(gone), jobFor(kept)), setup.deps);

    const marker = await setup.doc.send(new GetCommand({ TableName: setup.tableName, Key: { pk: `doc#${document.id}` } }));
    expect(marker.Item?.pending).toEqual(new Set([gone.id]));
    expect((await setup.deps.ledger.lookUpDocuments([], [document.id])).unfinishedDocuments).toEqual(new Set([document.id]));
  });

  it('counts a redelivered job once in the run', async () => {
    const a = addPlan('a.pdf', 'aaa');
    await createPlannedRun(2);
    await processExportJobs(messages(jobFor(a)), setup.deps);
    await processExportJobs(messages(jobFor(a)), setup.deps);
    const run = await setup.deps.runs.get('run-1');
    expect(run).toMatchObject({ state: 'planned', settled: 1, exported: 1, bytes: 3 });
  });

  it('retries the jobs of a batch whose manifest part cannot be written, so their lines are not lost', async () => {
    const a = addPlan('a.pdf', 'aaa');
    await createPlannedRun(1);
    setup.archive.failPutsUnder.push('manifests/');

    const first = await processExportJobs(messages(jobFor(a)), setup.deps);
    expect(first[0]?.status).toBe('retry');
    // Recorded in the ledger, so counted once now (a retry cannot count it again), but the run is
    // not finalized without the job's line: the retry writes the line and finalizes it.
    expect(await setup.deps.runs.get('run-1')).toMatchObject({ state: 'planned', settled: 1, exported: 1 });
    expect(setup.archive.objects.has('manifests/2026-11-22/run-1.jsonl')).toBe(false);

    setup.archive.failPutsUnder.length = 0;
    const second = await processExportJobs(messages(jobFor(a)), setup.deps);
    expect(second[0]?.status).toBe('exported');
    expect(setup.ibinder.calls.openDownload).toBe(1);
    const manifest = setup.archive.text('manifests/2026-11-22/run-1.jsonl');
    expect(manifest).toContain('"status":"exported"');
    expect(await setup.deps.runs.get('run-1')).toMatchObject({ state: 'finalized', exported: 1, bytes: 3 });
  });
});

describe('export worker after an attempt that died before the ledger write', () => {
  const keyOf = (version: FakeVersion, fileName = 'A-101 Plan.pdf'): string =>
    `acme/Bx7kQ2mZp/${version.documentId}/${version.id}/${fileName}`;

  /** Keys the worker began to write in the archive (single PutObject or multipart), manifests aside. */
  function archiveWrites(): string[] {
    const puts = setup.archive.mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key ?? '');
    const multipart = setup.archive.mock.commandCalls(CreateMultipartUploadCommand).map((c) => c.args[0].input.Key ?? '');
    return [...puts, ...multipart].filter((k) => !k.startsWith('manifests/'));
  }

  /**
   * What a worker that died leaves in the ledger: its claim, whose lease has run out by the
   * time the job comes back. Every attempt claims before it writes anything to the archive.
   */
  async function leaveDeadClaim(version: FakeVersion, runId = 'run-1'): Promise<void> {
    const past = new Date(setup.clock.now().getTime() - 3_600_000);
    await setup.deps.ledger.claim({ versionId: version.id, owner: 'dead-worker', runId, now: past, leaseSeconds: 60 });
  }

  /** What a dead attempt of `runId` left in the archive: the file, then its sidecar (and its claim in the ledger). */
  async function leaveInArchive(
    version: FakeVersion,
    options: { runId?: string; fileBytes?: string; sidecarSize?: number; sidecarVersionId?: string } = {},
  ): Promise<string> {
    await leaveDeadClaim(version, options.runId);
    const key = keyOf(version);
    const bytes = Buffer.from(options.fileBytes ?? version.content.toString('utf-8'));
    setup.archive.objects.set(key, { body: bytes, contentType: 'application/pdf', checksumAlgorithm: 'SHA256' });
    const sidecar = buildSidecar({
      tenantId: 'acme',
      binderId: 'Bx7kQ2mZp',
      documentId: version.documentId,
      versionId: options.sidecarVersionId ?? version.id,
      fileName: 'A-101 Plan.pdf',
      metadata: [],
      size: options.sidecarSize ?? version.content.length,
      sha256Hex: sha256Hex(version.content),
      sha256Base64: Buffer.from(sha256Hex(version.content), 'hex').toString('base64'),
      exportedAt: new Date('2026-11-22T02:01:00.000Z'),
      runId: options.runId ?? 'run-1',
      archiveKey: key,
      source: 'ibinder',
    });
    setup.archive.objects.set(`${key}.metadata.json`, { body: Buffer.from(JSON.stringify(sidecar)), contentType: 'application/json' });
    return key;
  }

  it('records the version from the sidecar when the file is there with its size: no link, no download, no write, counted once as exported', async () => {
    const version = addPlan();
    await createPlannedRun(1);
    // The first attempt writes the file and the sidecar, then dies at the ledger write.
    const dying: ExportLedger = Object.assign(Object.create(setup.deps.ledger) as ExportLedger, {
      recordExportedUnderClaim: () => Promise.reject(new Error('simulated crash before the ledger write')),
    });
    const first = await processExportJobs(messages(jobFor(version)), { ...setup.deps, ledger: dying });
    expect(first[0]?.status).toBe('retry');
    const key = keyOf(version);
    const sidecar = ExportSidecarSchema.parse(setup.archive.json(`${key}.metadata.json`));
    expect(await setup.deps.ledger.getExported(version.id)).toBeUndefined();
    setup.archive.mock.resetHistory();
    const callsBefore = { ...setup.ibinder.calls };
    setup.clock.advance(20 * 60_000); // the redelivery comes later; the ledger keeps the first attempt's time

    const again = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(again.map((r) => r.status)).toEqual(['exported']);
    expect(setup.ibinder.calls.getDownloadLink).toBe(callsBefore.getDownloadLink);
    expect(setup.ibinder.calls.openDownload).toBe(callsBefore.openDownload);
    expect(archiveWrites()).toEqual([]);
    expect(setup.archive.mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key)).toEqual([key]);
    const item = await setup.doc.send(new GetCommand({ TableName: setup.tableName, Key: { pk: versionKey(version.id) } }));
    expect(item.Item).toMatchObject({
      state: 'exported',
      versionId: version.id,
      documentId: version.documentId,
      binderId: 'Bx7kQ2mZp',
      archiveKey: key,
      sha256: sidecar.sha256,
      sha256Base64: sidecar.sha256Base64,
      size: 18,
      exportedAt: sidecar.exportedAt,
      runId: 'run-1',
    });
    expect(item.Item?.exportedAt).toBe('2026-11-22T02:05:00.000Z');
    expect(await setup.deps.runs.get('run-1')).toMatchObject({ state: 'finalized', settled: 1, exported: 1, bytes: 18 });
    const manifest = setup.archive
      .text(manifestKeyFor('run-1', RUN_STARTED_AT))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(manifest[0]).toMatchObject({ type: 'run', complete: true, versionsExported: 1, alreadyExported: 0, bytes: 18 });
    expect(manifest.find((l) => l.type === 'version')).toMatchObject({
      status: 'exported',
      archiveKey: key,
      size: 18,
      sha256: sidecar.sha256,
    });
  });

  it('acknowledges as already exported, by that run, a version an earlier run archived but never recorded', async () => {
    const version = addPlan();
    const key = await leaveInArchive(version, { runId: 'run-0' });

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('already-exported');
    expect(results[0]?.record).toMatchObject({ runId: 'run-0', archiveKey: key, exportedAt: '2026-11-22T02:01:00.000Z' });
    expect(setup.ibinder.calls.openDownload).toBe(0);
    expect(archiveWrites()).toEqual([]);
    expect(await setup.deps.ledger.getExported(version.id)).toMatchObject({ runId: 'run-0', size: 18 });
  });

  it('copies again when the file beside the sidecar is not the size the sidecar recorded', async () => {
    const version = addPlan();
    const key = await leaveInArchive(version, { fileBytes: 'plan drawing' });

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('exported');
    expect(setup.ibinder.calls.getDownloadLink).toBe(1);
    expect(setup.ibinder.calls.openDownload).toBe(1);
    expect(archiveWrites()).toEqual([key, `${key}.metadata.json`]);
    expect(setup.archive.text(key)).toBe('plan drawing bytes');
    expect(await setup.deps.ledger.getExported(version.id)).toMatchObject({
      runId: 'run-1',
      size: 18,
      exportedAt: '2026-11-22T02:05:00.000Z',
    });
  });

  it('copies again when the sidecar is there but the file is not', async () => {
    const version = addPlan();
    const key = await leaveInArchive(version);
    setup.archive.objects.delete(key);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('exported');
    expect(setup.ibinder.calls.openDownload).toBe(1);
    expect(setup.archive.text(key)).toBe('plan drawing bytes');
  });

  it('copies again when the sidecar describes another version or is not a sidecar', async () => {
    const a = addPlan();
    const keyA = await leaveInArchive(a, { sidecarVersionId: 'someone-else' });
    const b = addPlan('b.pdf');
    await leaveDeadClaim(b);
    const keyB = keyOf(b, 'b.pdf');
    setup.archive.objects.set(keyB, { body: Buffer.from('plan drawing bytes') });
    setup.archive.objects.set(`${keyB}.metadata.json`, { body: Buffer.from('{"size": 18') });

    const results = await processExportJobs(messages(jobFor(a), jobFor(b)), setup.deps);

    expect(results.map((r) => r.status)).toEqual(['exported', 'exported']);
    expect(setup.ibinder.calls.openDownload).toBe(2);
    expect(ExportSidecarSchema.parse(setup.archive.json(`${keyA}.metadata.json`)).versionId).toBe(a.id);
    expect(ExportSidecarSchema.parse(setup.archive.json(`${keyB}.metadata.json`)).versionId).toBe(b.id);
  });

  it('copies without looking in the archive when no earlier attempt left a claim (the normal path: no S3 probe)', async () => {
    const version = addPlan();
    const key = keyOf(version);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('exported');
    expect(setup.archive.mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(setup.archive.mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    expect(setup.ibinder.calls.openDownload).toBe(1);
    expect(archiveWrites()).toEqual([key, `${key}.metadata.json`]);
  });

  it('copies when an earlier attempt left its claim but no sidecar, after looking for it once', async () => {
    const version = addPlan();
    await leaveDeadClaim(version);
    const key = keyOf(version);

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('exported');
    expect(setup.archive.mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual([`${key}.metadata.json`]);
    expect(setup.archive.mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    expect(setup.ibinder.calls.openDownload).toBe(1);
    expect(archiveWrites()).toEqual([key, `${key}.metadata.json`]);
  });

  it('retries, saying which permission is missing, when S3 refuses to read the sidecar; nothing is downloaded and the claim is released', async () => {
    const version = addPlan();
    await leaveDeadClaim(version);
    setup.archive.mock
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));

    const results = await processExportJobs(messages(jobFor(version)), setup.deps);

    expect(results[0]?.status).toBe('retry');
    expect(results[0]?.error?.kind).toBe('transient');
    expect(results[0]?.error?.reason).toContain(`s3://archive-bucket/${keyOf(version)}.metadata.json`);
    expect(results[0]?.error?.reason).toMatch(/s3:GetObject on archive-bucket\/\*.*s3:ListBucket on archive-bucket/);
    expect(setup.ibinder.calls.getDownloadLink).toBe(0);
    expect(archiveWrites()).toEqual([]);
    const claim = await setup.deps.ledger.claim({
      versionId: version.id,
      owner: 'retry',
      runId: 'run-1',
      now: setup.clock.now(),
      leaseSeconds: 60,
    });
    expect(claim.kind).toBe('claimed');
  });
});
