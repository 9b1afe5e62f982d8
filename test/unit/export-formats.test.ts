import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { archiveKeyFor, safeKeySegment, sidecarKeyFor } from '../../shared/export/archive-key.js';
import { classifyExportError, ExportError, redactUrls } from '../../shared/export/errors.js';
import { Sha256PassThrough } from '../../shared/export/hashing-stream.js';
import { SqsExportJobQueue } from '../../shared/export/job-queue.js';
import { parseExportJob, type ExportJob } from '../../shared/export/job.js';
import { manifestKeyFor, manifestPartKeyFor, reduceVersionLines, type VersionLine } from '../../shared/export/manifest.js';
import { labelMetadata, MetadataSchemaCache } from '../../shared/export/metadata-labels.js';
import { newRunId, RUN_ID_PATTERN } from '../../shared/export/run-id.js';
import { IBinderNetworkError } from '../../shared/connectors/ibinder/client/errors.js';
import { IBinderSource } from '../../shared/connectors/ibinder/export-source.js';
import { FakeExportIBinder, apiError, sha256Hex } from '../helpers/export-factories.js';

describe('archive keys', () => {
  it('lays a version out as <tenant>/<binder>/<document>/<version>/<fileName> with the sidecar beside it', () => {
    const key = archiveKeyFor({ tenantId: 'acme', binderId: 'Bx7kQ2mZp', documentId: 'd-1', versionId: 'v-1', fileName: 'Plan A.pdf' });
    expect(key).toBe('acme/Bx7kQ2mZp/d-1/v-1/Plan A.pdf');
    expect(sidecarKeyFor(key)).toBe('acme/Bx7kQ2mZp/d-1/v-1/Plan A.pdf.metadata.json');
  });

  it('keeps each part one segment: separators and control characters become _, dot segments are prefixed', () => {
    expect(safeKeySegment('a/b\\c\u0000d', 'x')).toBe('a_b_c_d');
    expect(safeKeySegment('..', 'x')).toBe('_..');
    expect(safeKeySegment('   ', 'fallback')).toBe('fallback');
    expect(archiveKeyFor({ tenantId: 't', binderId: 'b', documentId: 'd', versionId: 'v', fileName: '' })).toBe('t/b/d/v/v');
  });
});

describe('run ids and manifest keys', () => {
  it('names a run by its start time and a random suffix, safe in S3 and DynamoDB keys', () => {
    const id = newRunId(new Date('2026-11-22T02:00:00.123Z'), () => 'ab12cd');
    expect(id).toBe('2026-11-22T02-00-00Z-ab12cd');
    expect(RUN_ID_PATTERN.test(id)).toBe(true);
    expect(RUN_ID_PATTERN.test(newRunId(new Date()))).toBe(true);
  });

  it('files a run under its UTC start date, also for work done after midnight', () => {
    expect(manifestKeyFor('r1', '2026-11-22T23:59:00+01:00')).toBe('manifests/2026-11-22/r1.jsonl');
    expect(manifestPartKeyFor('r1', '2026-11-22T02:00:00Z', 'worker', new Date('2026-11-23T00:10:00.5Z'), 'u1')).toBe(
      'manifests/2026-11-22/r1/parts/2026-11-23T00-10-00-500Z-worker-u1.jsonl',
    );
  });
});

describe('manifest lines', () => {
  const line = (versionId: string, status: VersionLine['status'], at: string, extra: Partial<VersionLine> = {}): VersionLine => ({
    type: 'version',
    status,
    runId: 'r1',
    binderId: 'b',
    documentId: 'd',
    versionId,
    fileName: 'f',
    versionLabel: undefined,
    modifiedAt: undefined,
    archiveKey: undefined,
    size: undefined,
    sha256: undefined,
    exportedAt: undefined,
    exportedByRunId: undefined,
    reason: undefined,
    httpStatus: undefined,
    traceId: undefined,
    attempts: undefined,
    at,
    ...extra,
  });

  it('keeps the most final outcome per version and turns retries-only into unfinished with the last reason', () => {
    const reduced = reduceVersionLines([
      line('v1', 'retrying', '2026-11-22T02:01:00Z', { reason: 'first' }),
      line('v1', 'exported', '2026-11-22T02:03:00Z'),
      line('v2', 'retrying', '2026-11-22T02:01:00Z', { reason: 'first' }),
      line('v2', 'retrying', '2026-11-22T02:02:00Z', { reason: 'last' }),
      line('v3', 'already-exported', '2026-11-22T02:04:00Z', { exportedByRunId: 'r1' }),
      line('v4', 'already-exported', '2026-11-22T02:04:00Z', { exportedByRunId: 'r0' }),
      line('v5', 'failed', '2026-11-22T02:04:00Z'),
    ]);
    expect(reduced.map((l) => [l.versionId, l.status])).toEqual([
      ['v1', 'exported'],
      ['v2', 'unfinished'],
      ['v3', 'exported'],
      ['v4', 'already-exported'],
      ['v5', 'failed'],
    ]);
    expect(reduced[1]).toMatchObject({ reason: 'last', attempts: 2 });
  });
});

describe('metadata labels', () => {
  const schema = [
    { id: 'discipline', label: 'Discipline', allowedValues: [{ id: 'arch', label: 'Architecture' }] },
    { id: 'note', label: 'Note', allowedValues: [] },
  ];

  it('labels elements and values, free values label themselves, unknown ones are null', () => {
    expect(
      labelMetadata(
        [
          { metadataElementId: 'discipline', valueId: 'arch' },
          { metadataElementId: 'discipline', valueId: 'removed' },
          { metadataElementId: 'note', valueId: 'hello' },
          { metadataElementId: 'gone', valueId: 'x' },
        ],
        schema,
      ),
    ).toEqual([
      { metadataElementId: 'discipline', label: 'Discipline', valueId: 'arch', valueLabel: 'Architecture' },
      { metadataElementId: 'discipline', label: 'Discipline', valueId: 'removed', valueLabel: null },
      { metadataElementId: 'note', label: 'Note', valueId: 'hello', valueLabel: 'hello' },
      { metadataElementId: 'gone', label: null, valueId: 'x', valueLabel: null },
    ]);
  });

  it('caches a binder schema for its TTL and does not cache a failure', async () => {
    let now = 0;
    let loads = 0;
    let fail = true;
    const cache = new MetadataSchemaCache(
      async () => {
        loads++;
        if (fail) throw new Error('boom');
        return schema;
      },
      1_000,
      () => now,
    );
    await expect(cache.get('b')).rejects.toThrow('boom');
    fail = false;
    await cache.get('b');
    await cache.get('b');
    expect(loads).toBe(2);
    now = 1_500;
    await cache.get('b');
    expect(loads).toBe(3);
  });
});

describe('error classification', () => {
  it('treats 404/403/400 as permanent and 429/5xx/network/auth/unknown as transient, keeping status and traceId', () => {
    expect(classifyExportError(apiError(404, 'GET', '/x', 't-1'))).toMatchObject({ kind: 'permanent', httpStatus: 404, traceId: 't-1' });
    expect(classifyExportError(apiError(403, 'GET', '/x'))).toMatchObject({ kind: 'permanent' });
    expect(classifyExportError(apiError(429, 'GET', '/x'))).toMatchObject({ kind: 'transient', httpStatus: 429 });
    expect(classifyExportError(apiError(502, 'GET', '/x'))).toMatchObject({ kind: 'transient' });
    expect(classifyExportError(apiError(401, 'GET', '/x'))).toMatchObject({ kind: 'transient' });
    expect(classifyExportError(new IBinderNetworkError('timed out', { method: 'GET', path: '/x' }, true))).toMatchObject({
      kind: 'transient',
    });
    expect(classifyExportError(new ExportError('nope', 'permanent'))).toMatchObject({ kind: 'permanent' });
    expect(classifyExportError(Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }))).toEqual({
      kind: 'transient',
      reason: 'SlowDown: Slow Down',
      httpStatus: 503,
    });
  });

  it('never lets a presigned signature into a reason', () => {
    const reason = classifyExportError(
      new Error('failed GET https://bucket.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=def'),
    ).reason;
    expect(reason).not.toContain('abc');
    expect(reason).toContain('https://bucket.s3.amazonaws.com/k?<redacted>');
    expect(redactUrls('no url here')).toBe('no url here');
  });
});

describe('job messages', () => {
  const job: ExportJob = {
    runId: 'r1',
    runStartedAt: '2026-11-22T02:00:00.000Z',
    tenantId: 'acme',
    binderId: 'b',
    documentId: 'd',
    versionId: 'v',
    fileName: 'f.pdf',
    metadata: [],
  };

  it('parses what the planner writes and lists every wrong field otherwise', () => {
    expect(parseExportJob(JSON.stringify(job))).toEqual(job);
    expect(() => parseExportJob('not json')).toThrow(/not JSON/);
    expect(() => parseExportJob(JSON.stringify({ ...job, runId: 'a#b', versionId: '' }))).toThrow(/runId.*versionId/s);
  });

  it('sends jobs 10 a call and sends again the entries SQS could not take', async () => {
    const sqs = new SQSClient({ region: 'eu-north-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const calls: number[] = [];
    let failOnce = true;
    mockClient(sqs)
      .on(SendMessageBatchCommand)
      .callsFake(async (input: { Entries: { Id: string }[] }) => {
        calls.push(input.Entries.length);
        if (failOnce) {
          failOnce = false;
          return {
            Successful: input.Entries.slice(1).map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
            Failed: [{ Id: input.Entries[0]!.Id, Code: 'InternalError', SenderFault: false }],
          };
        }
        return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] };
      });
    const queue = new SqsExportJobQueue(sqs, 'https://queue', { sleep: () => Promise.resolve() });
    await queue.send(Array.from({ length: 23 }, (_, i) => ({ ...job, versionId: `v${i}` })));
    expect(calls).toEqual([10, 1, 10, 3]);
  });

  it("gives up with the version ids when SQS refuses an entry as the sender's fault", async () => {
    const sqs = new SQSClient({ region: 'eu-north-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    mockClient(sqs)
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '0', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }] });
    const queue = new SqsExportJobQueue(sqs, 'https://queue', { sleep: () => Promise.resolve() });
    await expect(queue.send([job])).rejects.toThrow(/refused 1 of 1 job\(s\).*v: InvalidMessageContents bad/);
  });
});

describe('hashing pass-through', () => {
  it('hashes and counts exactly the bytes that pass', async () => {
    const hasher = new Sha256PassThrough(11);
    const out: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from('hello '), Buffer.from('world')]), hasher, async (source) => {
      for await (const chunk of source) out.push(chunk as Buffer);
    });
    expect(Buffer.concat(out).toString()).toBe('hello world');
    expect(hasher.digest()).toEqual({
      size: 11,
      sha256Hex: sha256Hex('hello world'),
      sha256Base64: Buffer.from(sha256Hex('hello world'), 'hex').toString('base64'),
    });
  });

  it('fails a stream shorter than its Content-Length', async () => {
    const hasher = new Sha256PassThrough(20, 'download of v1');
    await expect(
      pipeline(Readable.from([Buffer.from('short')]), hasher, async (source) => {
        for await (const _ of source) void _;
      }),
    ).rejects.toThrow(/download of v1 ended after 5 of 20 bytes/);
  });
});

describe('iBinder source', () => {
  it('filters the search by GLOBAL_BinderId and stops at totalCount', async () => {
    const ibinder = new FakeExportIBinder().addBinder('BinderAAA');
    for (let i = 0; i < 5; i++) ibinder.addDocument('BinderAAA', `d${i}`, ['x']);
    const source = new IBinderSource(ibinder);
    const first = await source.listDocuments('BinderAAA', { pageNumber: 1, pageSize: 2 });
    const last = await source.listDocuments('BinderAAA', { pageNumber: 3, pageSize: 2 });
    expect(first).toMatchObject({ pageNumber: 1, totalCount: 5, isLastPage: false });
    expect(first.documents[0]).toMatchObject({ binderId: 'BinderAAA', fileName: 'd0', latestVersionId: 'doc-0001-v1' });
    expect(last).toMatchObject({ isLastPage: true });
    expect(last.documents).toHaveLength(1);
    expect(ibinder.searches[0]).toEqual({ pageNumber: 1, pageSize: 2, binderId: 'BinderAAA' });
  });

  it("describes a version with its document's metadata when it has none of its own", async () => {
    const ibinder = new FakeExportIBinder().addBinder('BinderAAA');
    const doc = ibinder.addDocument(
      'BinderAAA',
      'a.pdf',
      ['x', { content: 'y', metadata: [{ metadataElementId: 'm', valueId: 'own' }] }],
      [{ metadataElementId: 'm', valueId: 'doc' }],
    );
    const source = new IBinderSource(ibinder);
    const [page] = [(await source.listDocuments('BinderAAA', { pageNumber: 1, pageSize: 10 })).documents[0]!];
    const versions = await source.listVersions(page);
    expect(versions.map((v) => v.metadata[0]?.valueId)).toEqual(['doc', 'own']);
    expect(versions[0]).toMatchObject({ documentId: doc.id, fileName: 'a.pdf', versionLabel: 'A', status: 'Published' });
  });

  it('opens a version through a fresh link and recognises an expired one', async () => {
    const ibinder = new FakeExportIBinder().addBinder('BinderAAA');
    const version = ibinder.addDocument('BinderAAA', 'a.pdf', ['bytes']).versions[0]!;
    const source = new IBinderSource(ibinder);
    ibinder.expiredOpens = 1;
    const expired = await source.openVersion({ documentId: version.documentId, versionId: version.id }).catch((e: unknown) => e);
    expect(source.isExpiredLinkError(expired)).toBe(true);
    expect(source.isExpiredLinkError(apiError(403, 'GET', '/documents/x'))).toBe(false);
    const opened = await source.openVersion({ documentId: version.documentId, versionId: version.id });
    expect(opened.contentLength).toBe(5);
    expect(ibinder.calls.getDownloadLink).toBe(2);
  });
});
