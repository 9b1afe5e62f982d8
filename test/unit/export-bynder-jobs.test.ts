/**
 * The export's Bynder pieces that need no server: the planner event's connector, the job on
 * the queue (Bynder's block, its round trip to the library's version job), the manifest's
 * `enqueued` and `deleted-asset` lines, Bynder's errors as the export classifies them (a 429
 * carries its pause), an expired storage link told from an API refusal, and the visibility a
 * throttled job is handed back with.
 */
import { describe, expect, it } from 'vitest';
import { parsePlannerEvent } from '../../functions/export-planner/event.js';
import type { JobResult } from '../../functions/export-worker/process-jobs.js';
import { holdThrottledRetries } from '../../functions/export-worker/throttled-retries.js';
import type { ReceivedMessageRef } from '../../functions/ingest/message-visibility.js';
import type { BynderAsset } from '../../shared/connectors/bynder/client/types.js';
import {
  bynderArchiveKey,
  bynderVersionOfJob,
  exportJobOfBynderVersion,
  isExpiredBynderLink,
} from '../../shared/connectors/bynder/export/index.js';
import { versionJobsOf } from '../../shared/connectors/bynder/export/versions.js';
import { silentExportLogger } from '../../shared/export/deps.js';
import { classifyExportError } from '../../shared/export/errors.js';
import { parseExportJob, serializeExportJob } from '../../shared/export/job.js';
import { parsePartLines, reduceVersionLines, type VersionLine } from '../../shared/export/manifest.js';

const asset: BynderAsset = {
  id: 'A1',
  name: 'Site plan',
  brandId: 'B1',
  extension: ['pdf'],
  tags: ['plan'],
  propertyOptions: ['o1'],
  properties: { site: ['Harbour 7'] },
  dateModified: '2026-11-01T10:00:00Z',
  archive: false,
  mediaItems: [
    { id: 'm1', fileName: 'plan.pdf', version: 1, active: false, size: 3 },
    { id: 'm2', fileName: 'plan.pdf', version: 2, active: true, size: 4, dateCreated: '2026-11-01T09:59:00Z' },
  ],
};

describe('the planner event', () => {
  it('takes a connector on schedule and manual events, and refuses an unknown one', () => {
    expect(parsePlannerEvent({ source: 'schedule' })).toEqual({ trigger: 'schedule' });
    expect(parsePlannerEvent({ source: 'schedule', connector: 'bynder' })).toEqual({ trigger: 'schedule', connector: 'bynder' });
    expect(parsePlannerEvent({ source: 'manual', connector: 'bynder', since: '2026-11-01T00:00:00Z' })).toMatchObject({
      trigger: 'manual',
      connector: 'bynder',
      since: '2026-11-01T00:00:00Z',
    });
    expect(() => parsePlannerEvent({ source: 'manual', connector: 'dropbox' })).toThrow(/connector/);
  });
});

describe('a Bynder export job', () => {
  const run = { runId: '2026-11-22T02-00-00Z-3f9a1c', startedAt: '2026-11-22T02:00:00.000Z' };

  it('goes on the queue with its connector and the asset, and comes back as the same version job', () => {
    const versions = versionJobsOf(asset, 'acme');
    const latest = versions[1];
    if (!latest) throw new Error('two versions expected');
    const job = parseExportJob(serializeExportJob(exportJobOfBynderVersion(latest, asset, run)));
    expect(job).toMatchObject({
      connector: 'bynder',
      tenantId: 'acme',
      binderId: 'B1',
      documentId: 'A1',
      versionId: 'bynder:acme:A1:2',
      versionLabel: '2',
      fileName: 'plan.pdf',
      status: 'active',
    });
    const back = bynderVersionOfJob(job);
    expect(back.version).toEqual(latest);
    expect(back.asset).toMatchObject({ id: 'A1', tags: ['plan'], properties: { site: ['Harbour 7'] } });
    // The folder is the version number, not the ledger key.
    expect(bynderArchiveKey(back.version)).toBe('acme/B1/A1/2/plan.pdf');
  });

  it('is refused when it names Bynder without its block, and an iBinder job of an older planner still reads', () => {
    const ibinder = {
      runId: run.runId,
      runStartedAt: run.startedAt,
      tenantId: 't',
      binderId: 'b',
      documentId: 'd',
      versionId: 'v',
      fileName: 'f.pdf',
    };
    expect(parseExportJob(JSON.stringify(ibinder)).connector).toBeUndefined();
    expect(() => parseExportJob(JSON.stringify({ ...ibinder, connector: 'bynder' }))).toThrow(/no "bynder" block/);
  });
});

describe('manifest lines', () => {
  const base = { type: 'version' as const, runId: 'r', binderId: 'B1', documentId: 'A1', fileName: 'plan.pdf' };
  const line = (versionId: string, status: VersionLine['status'], at: string): VersionLine =>
    ({ ...base, versionId, status, at }) as VersionLine;

  it('an enqueued version no worker reached is unfinished; one a worker finished takes its outcome', () => {
    const reduced = reduceVersionLines([
      line('v1', 'enqueued', '2026-11-22T02:00:01Z'),
      line('v2', 'enqueued', '2026-11-22T02:00:01Z'),
      line('v2', 'exported', '2026-11-22T02:01:00Z'),
      line('v3', 'enqueued', '2026-11-22T02:00:01Z'),
      line('v3', 'retrying', '2026-11-22T02:01:00Z'),
    ]);
    expect(reduced.map((l) => [l.versionId, l.status, l.attempts])).toEqual([
      ['v1', 'unfinished', 0],
      ['v2', 'exported', undefined],
      ['v3', 'unfinished', 1],
    ]);
  });

  it('a deleted-asset line is a manifest line, not an unreadable one', () => {
    const deleted = {
      type: 'deleted-asset',
      runId: 'r',
      source: 'bynder',
      portal: 'acme',
      brandId: 'B1',
      assetId: 'A9',
      name: 'Old logo',
      lastModified: null,
      at: '2026-11-22T02:00:05.000Z',
    };
    expect(parsePartLines(`${JSON.stringify(deleted)}\n`)).toEqual({ lines: [deleted], unreadable: 0 });
  });
});

describe("Bynder's errors in the export", () => {
  it('a 429 block is transient with its pause, at least five minutes', () => {
    const throttled = Object.assign(new Error('blocked'), {
      name: 'BynderThrottledError',
      kind: 'throttled',
      status: 429,
      retryAfterMs: 330_000,
    });
    expect(classifyExportError(throttled)).toMatchObject({ kind: 'transient', retryAfterMs: 330_000, httpStatus: 429 });
    const short = Object.assign(new Error('blocked'), { name: 'BynderThrottledError', kind: 'throttled', retryAfterMs: 10 });
    expect(classifyExportError(short).retryAfterMs).toBe(300_000);
  });

  it('a refused request is permanent, a refused credential transient (an operator fixes it), and no query string is kept', () => {
    const notFound = Object.assign(new Error('GET https://acme.bynder.com/x?token=SECRET answered 404'), {
      name: 'BynderApiError',
      kind: 'permanent',
      status: 404,
      correlationId: 'c-1',
    });
    const classified = classifyExportError(notFound);
    expect(classified).toMatchObject({ kind: 'permanent', httpStatus: 404, traceId: 'c-1' });
    expect(classified.reason).not.toContain('SECRET');
    expect(classifyExportError(Object.assign(new Error('401'), { name: 'BynderApiError', kind: 'auth', status: 401 })).kind).toBe(
      'transient',
    );
  });

  it("an expired storage link is storage's 403, not the API refusing the integration", () => {
    expect(isExpiredBynderLink(Object.assign(new Error('expired'), { status: 403, kind: 'permanent' }))).toBe(true);
    expect(isExpiredBynderLink(Object.assign(new Error('scopes'), { status: 403, kind: 'auth' }))).toBe(false);
    expect(isExpiredBynderLink(Object.assign(new Error('gone'), { status: 404 }))).toBe(false);
  });
});

describe('throttled jobs handed back', () => {
  const ref = (messageId: string): ReceivedMessageRef => ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    eventSourceARN: 'arn:aws:sqs:eu-north-1:123456789012:export',
  });

  it("stay invisible for the block's pause (capped at 12 hours); other retries keep the queue's timeout", async () => {
    const results: JobResult[] = [
      { messageId: 'a', status: 'retry', error: { kind: 'transient', reason: '429', retryAfterMs: 330_000 } },
      { messageId: 'b', status: 'retry', error: { kind: 'transient', reason: '503' } },
      { messageId: 'c', status: 'exported' },
      { messageId: 'd', status: 'retry', error: { kind: 'transient', reason: '429', retryAfterMs: 100 * 3600_000 } },
    ];
    const changed: [string, number][] = [];
    const held = await holdThrottledRetries(
      results,
      new Map(['a', 'b', 'c', 'd'].map((id) => [id, ref(id)])),
      { change: async (m, seconds) => void changed.push([m.messageId, seconds]) },
      silentExportLogger,
    );
    expect(held).toBe(2);
    expect(changed).toEqual([
      ['a', 330],
      ['d', 43_200],
    ]);
  });

  it('a visibility that cannot be changed is logged, and the job is still handed back', async () => {
    const warnings: string[] = [];
    const held = await holdThrottledRetries(
      [{ messageId: 'a', status: 'retry', error: { kind: 'transient', reason: '429', retryAfterMs: 330_000 } }],
      new Map([['a', ref('a')]]),
      { change: () => Promise.reject(new Error('ReceiptHandleIsInvalid')) },
      { ...silentExportLogger, warn: (message) => void warnings.push(message) },
    );
    expect(held).toBe(0);
    expect(warnings).toHaveLength(1);
  });
});
