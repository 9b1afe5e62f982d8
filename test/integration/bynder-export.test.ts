/**
 * The nightly export from Bynder on the local stack: the Bynder emulator over HTTP (the real
 * client), the archive bucket in the local S3 server and the export ledger in the local
 * DynamoDB server, driven by the planner's and the worker's own code. Each test works on a
 * brand and an archive portal name of its own (its own bookmark and ledger keys), on one
 * simulated clock shared by the emulator, the client's rate budget and the export.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBlob } from '../../emulator/blobs.js';
import { holdThrottledRetries } from '../../functions/export-worker/throttled-retries.js';
import { planExport } from '../../functions/export-planner/plan.js';
import { runExport } from '../../functions/export-planner/run-export.js';
import { processExportJobs } from '../../functions/export-worker/process-jobs.js';
import type { ReceivedMessageRef } from '../../functions/ingest/message-visibility.js';
import { createLocalBynderClient } from '../../local/local-ingest-dependencies.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import type { BynderClient } from '../../shared/connectors/bynder/index.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { InMemoryExportJobQueue } from '../../shared/export/job-queue.js';
import { serializeExportJob } from '../../shared/export/job.js';
import { ArchiveReader } from '../helpers/export-scenarios.js';
import { type LocalStack, startLocalStack } from '../helpers/local-stack.js';

const START = Date.parse('2026-01-10T02:00:00Z');
let nowMs = START;
const now = () => nowMs;
const DAY = 24 * 3600 * 1000;

let stack: LocalStack;
let archive: ArchiveReader;

beforeAll(async () => {
  stack = await startLocalStack({ services: { bynder: { now, listDeletedAssets: true } } });
  archive = new ArchiveReader(stack.services.s3.client, stack.services.archiveBucket);
});
afterAll(async () => {
  await stack?.stop();
});

interface CallCounts {
  listMedia: number;
  getMedia: number;
  getDownloadUrl: number;
  download: number;
}

interface Portal {
  portal: string;
  brandId: string;
  calls: CallCounts;
  /** Called before each client call (to inject faults). */
  before: { hook?: (method: keyof CallCounts, count: number) => void };
  deps(): ExportDeps;
  addAsset(name: string, versions: { fileName: string; content: string; at: number }[]): string;
}

let portals = 0;

/** A brand of its own in the emulator, and the export's dependencies for a portal name of its own. */
function newPortal(): Portal {
  const n = ++portals;
  const { state } = stack.services.bynder;
  const brandId = `0000000${n}-0000-0000-0000000000000000`.slice(-35);
  state.addBrand({ id: brandId, name: `Export brand ${n}`, description: '', image: null, subBrands: [] });
  const portal = `portal-${n}`;
  const config = localPipelineConfig(stack.services, {
    bynder: {
      portalUrl: stack.services.bynder.url,
      credentialsSecretName: 'local/bynder',
      archivePortalName: portal,
      exportBrands: [brandId],
      requestsPerSecond: 1000,
    },
  });
  const sleep = (ms: number) => {
    nowMs += ms;
    return Promise.resolve();
  };
  const http = createLocalBynderClient(stack.services, config.bynder as NonNullable<typeof config.bynder>, {
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep }),
    now,
    sleep,
    baseDelayMs: 1,
    maxDelayMs: 2,
  });
  const calls: CallCounts = { listMedia: 0, getMedia: 0, getDownloadUrl: 0, download: 0 };
  const before: Portal['before'] = {};
  const counted = <K extends keyof CallCounts>(method: K) =>
    ((...args: unknown[]) => {
      calls[method]++;
      before.hook?.(method, calls[method]);
      return (http[method] as (...a: unknown[]) => unknown).apply(http, args);
    }) as BynderClient[K];
  const client: BynderClient = Object.assign(Object.create(http) as BynderClient, {
    listMedia: counted('listMedia'),
    getMedia: counted('getMedia'),
    getDownloadUrl: counted('getDownloadUrl'),
    download: counted('download'),
  });
  return {
    portal,
    brandId,
    calls,
    before,
    deps: () =>
      stack.createExportDeps({
        config,
        bynderClient: client,
        bynderFeed: { pageSize: 2 },
        clock: () => new Date(nowMs),
      }),
    addAsset: (name, versions) => {
      const [first, ...rest] = versions;
      if (!first) throw new Error('an asset needs a version');
      const asset = state.addAsset({
        name,
        brandId,
        fileName: first.fileName,
        blob: new MemoryBlob(first.content),
        at: first.at,
        tags: ['export'],
      });
      for (const v of rest) state.addVersion(asset.id, v.fileName, new MemoryBlob(v.content), v.at);
      return asset.id;
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const noWait = () => Promise.resolve();

describe('nightly export from Bynder', () => {
  const p = { current: undefined as Portal | undefined };
  const ids: Record<string, string> = {};

  it('first run: every version of every asset of the brand, under <portal>/<brandId>/<assetId>/<version>/<fileName>, with its sidecar and a manifest', async () => {
    const portal = newPortal();
    p.current = portal;
    ids.plan = portal.addAsset('Plan', [
      { fileName: 'plan.pdf', content: 'plan v1', at: START - 5 * DAY },
      { fileName: 'plan.pdf', content: 'plan v2', at: START - 4 * DAY },
    ]);
    ids.facade = portal.addAsset('Facade', [{ fileName: 'facade.jpg', content: 'facade v1', at: START - 3 * DAY }]);
    ids.lobby = portal.addAsset('Lobby', [{ fileName: 'lobby.png', content: 'lobby v1', at: START - 3 * DAY }]);

    const summary = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });

    expect(summary).toMatchObject({ connector: 'bynder', versionsEnqueued: 4, versionsExported: 4, failed: [], deletedAssets: 0 });
    const prefix = `${portal.portal}/${portal.brandId}/`;
    expect(await archive.keys(prefix)).toEqual(
      [
        `${prefix}${ids.facade}/1/facade.jpg`,
        `${prefix}${ids.lobby}/1/lobby.png`,
        `${prefix}${ids.plan}/1/plan.pdf`,
        `${prefix}${ids.plan}/2/plan.pdf`,
      ]
        .flatMap((k) => [k, `${k}.metadata.json`])
        .sort(),
    );
    expect((await archive.bytes(`${prefix}${ids.plan}/2/plan.pdf`))?.toString()).toBe('plan v2');
    const sidecar = JSON.parse((await archive.bytes(`${prefix}${ids.plan}/2/plan.pdf.metadata.json`))?.toString() ?? '{}') as Record<
      string,
      unknown
    > & { bynder: unknown };
    expect(sidecar).toMatchObject({ sha256: sha256('plan v2'), size: 7, runId: summary.runId, source: 'bynder' });
    expect(sidecar.bynder).toMatchObject({
      brand: { name: expect.stringMatching(/^Export brand/) },
      tags: ['export'],
      version: { number: 2 },
    });
    // One list call per page of 2, one versions call per asset, one location and one download per version.
    expect(portal.calls).toEqual({ listMedia: 2, getMedia: 3, getDownloadUrl: 4, download: 4 });
    const manifest = await archive.manifest(summary.manifestKey);
    expect(manifest.run).toMatchObject({ source: 'bynder', versionsExported: 4, complete: true, deletedAssets: 0 });
  });

  it('unchanged run: only the list call, nothing enqueued', async () => {
    const portal = p.current as Portal;
    nowMs += DAY;
    const before = { ...portal.calls };
    const summary = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(summary).toMatchObject({ versionsEnqueued: 0, versionsExported: 0, documentsSeen: 0 });
    expect(portal.calls).toEqual({ ...before, listMedia: before.listMedia + 1 });
  });

  it('one new version: exactly that version, one versions call', async () => {
    const portal = p.current as Portal;
    stack.services.bynder.state.addVersion(ids.plan as string, 'plan.pdf', new MemoryBlob('plan v3'), nowMs);
    nowMs += 3600_000;
    const before = { ...portal.calls };
    const summary = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(summary).toMatchObject({ versionsEnqueued: 1, versionsExported: 1 });
    expect(portal.calls.getMedia - before.getMedia).toBe(1);
    expect(portal.calls.download - before.download).toBe(1);
    const key = `${portal.portal}/${portal.brandId}/${ids.plan}/3/plan.pdf`;
    expect((await archive.bytes(key))?.toString()).toBe('plan v3');
  });

  it('a deleted asset: the manifest says deleted, nothing is removed from the archive', async () => {
    const portal = p.current as Portal;
    const { state } = stack.services.bynder;
    state.deleteAsset(ids.facade as string);
    // The portal lists it (modified when deleted) and answers 404 on it.
    (state.anyAsset(ids.facade as string) as { dateModified: number }).dateModified = Math.floor(nowMs / 1000) * 1000;
    nowMs += 3600_000;
    const summary = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(summary).toMatchObject({ versionsEnqueued: 0, deletedAssets: 1 });
    const lines = ((await archive.bytes(summary.manifestKey))?.toString() ?? '')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]).toMatchObject({ type: 'run', source: 'bynder', deletedAssets: 1 });
    expect(lines.filter((l) => l.type === 'deleted-asset')).toEqual([
      expect.objectContaining({
        type: 'deleted-asset',
        assetId: ids.facade,
        brandId: portal.brandId,
        portal: portal.portal,
        name: 'Facade',
      }),
    ]);
    expect(await archive.bytes(`${portal.portal}/${portal.brandId}/${ids.facade}/1/facade.jpg`)).toBeDefined();
  });

  it('an expired download link: a fresh location is asked for, no bearer token goes to storage', async () => {
    const portal = newPortal();
    const id = portal.addAsset('Render', [{ fileName: 'render.png', content: 'render bytes', at: START - DAY }]);
    portal.before.hook = (method, count) => {
      // The first location expires before it is used.
      if (method === 'download' && count === 1) stack.services.bynder.faults.expireDownloadLinks();
    };
    const storageAuthBefore = stack.services.bynder.storageAuthorizationAttempts();
    const summary = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(summary).toMatchObject({ versionsExported: 1, failed: [] });
    expect(portal.calls.getDownloadUrl).toBe(2);
    expect((await archive.bytes(`${portal.portal}/${portal.brandId}/${id}/1/render.png`))?.toString()).toBe('render bytes');
    expect(stack.services.bynder.storageAuthorizationAttempts()).toBe(storageAuthBefore);
  });

  it('a 429 block in the middle of planning: the run pauses with its cursor, the next invocation resumes, nothing is planned twice', async () => {
    const portal = newPortal();
    const assetIds = [1, 2, 3, 4, 5, 6].map((i) =>
      portal.addAsset(`Asset ${i}`, [{ fileName: `asset-${i}.pdf`, content: `asset ${i}`, at: START - 10 * DAY + i * 1000 }]),
    );
    portal.before.hook = (method, count) => {
      if (method === 'listMedia' && count === 2) stack.services.bynder.faults.rateLimitNow();
    };
    const queue = new InMemoryExportJobQueue();
    const deps = { ...portal.deps(), queue };
    const budget = { remainingTimeMs: () => 15 * 60_000 };

    const first = await planExport({ trigger: 'schedule', connector: 'bynder' }, deps, budget);
    expect(first).toMatchObject({ connector: 'bynder', planningComplete: false, paused: 'throttled' });
    expect(first.retryAfterMs).toBeGreaterThanOrEqual(300_000);
    expect(queue.jobs).toHaveLength(2);

    // During the block the client sends nothing: the run pauses again at once.
    const rejectedBefore = stack.services.bynder.rateLimiter.rejectedCount;
    const during = await planExport({ trigger: 'schedule', connector: 'bynder' }, deps, budget);
    expect(during).toMatchObject({ runId: first.runId, paused: 'throttled', resumed: true });
    expect(stack.services.bynder.rateLimiter.rejectedCount).toBe(rejectedBefore);

    nowMs += 331_000;
    const resumed = await planExport({ trigger: 'schedule', connector: 'bynder' }, deps, budget);
    expect(resumed).toMatchObject({ runId: first.runId, resumed: true, planningComplete: true, versionsEnqueued: 6 });
    expect(new Set(queue.jobs.map((j) => j.documentId))).toEqual(new Set(assetIds));
    expect(queue.jobs).toHaveLength(6);
    expect(portal.calls.getMedia).toBe(6);
  });

  it('a 429 block in the worker: jobs go back to the queue for at least the pause, then export once', async () => {
    const portal = newPortal();
    portal.addAsset('Brochure', [{ fileName: 'brochure.pdf', content: 'brochure', at: START - DAY }]);
    portal.addAsset('Poster', [{ fileName: 'poster.pdf', content: 'poster', at: START - DAY }]);
    const queue = new InMemoryExportJobQueue();
    const deps = { ...portal.deps(), queue };
    await planExport({ trigger: 'manual', connector: 'bynder' }, deps, { remainingTimeMs: () => 15 * 60_000 });
    const messages = queue.jobs.map((job, i) => ({ messageId: `m${i}`, body: serializeExportJob(job) }));
    expect(messages).toHaveLength(2);

    stack.services.bynder.faults.rateLimitNow();
    const blocked = await processExportJobs(messages, deps);
    expect(blocked.map((r) => r.status)).toEqual(['retry', 'retry']);
    const held: number[] = [];
    const refs = new Map<string, ReceivedMessageRef>(
      messages.map((m) => [
        m.messageId,
        { messageId: m.messageId, receiptHandle: `rh-${m.messageId}`, eventSourceARN: 'arn:aws:sqs:eu-north-1:123456789012:export' },
      ]),
    );
    await holdThrottledRetries(blocked, refs, { change: async (_m, seconds) => void held.push(seconds) }, deps.logger);
    expect(held).toHaveLength(2);
    for (const seconds of held) expect(seconds).toBeGreaterThanOrEqual(300);

    nowMs += 331_000;
    const after = await processExportJobs(messages, deps);
    expect(after.map((r) => r.status)).toEqual(['exported', 'exported']);
    expect(portal.calls.download).toBe(2);
  });

  it('the planner resumes from its cursor after running out of time, planning no asset twice', async () => {
    const portal = newPortal();
    for (let i = 1; i <= 5; i++)
      portal.addAsset(`Sheet ${i}`, [{ fileName: `sheet-${i}.pdf`, content: `sheet ${i}`, at: START - 9 * DAY + i * 1000 }]);
    const queue = new InMemoryExportJobQueue();
    const deps = { ...portal.deps(), queue };
    // Time for the first page only.
    const short = { remainingTimeMs: () => (queue.jobs.length === 0 ? 15 * 60_000 : 1_000) };
    const first = await planExport({ trigger: 'schedule', connector: 'bynder' }, deps, short);
    expect(first).toMatchObject({ planningComplete: false, paused: 'time' });
    const planned = queue.jobs.length;
    expect(planned).toBeGreaterThan(0);
    expect(planned).toBeLessThan(5);

    const second = await planExport({ trigger: 'schedule', connector: 'bynder' }, deps, { remainingTimeMs: () => 15 * 60_000 });
    expect(second).toMatchObject({ runId: first.runId, resumed: true, planningComplete: true, versionsEnqueued: 5 });
    expect(queue.jobs).toHaveLength(5);
    expect(portal.calls.getMedia).toBe(5);
  });

  it('a version that failed is planned again by id on the next run, although its asset did not change', async () => {
    const portal = newPortal();
    const id = portal.addAsset('Elevation', [{ fileName: 'elevation.pdf', content: 'elevation', at: START - DAY }]);
    portal.before.hook = (method, count) => {
      if (method === 'getDownloadUrl' && count === 1) {
        throw Object.assign(new Error('Bynder refused the download (404)'), { name: 'BynderApiError', kind: 'permanent', status: 404 });
      }
    };
    const first = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(first).toMatchObject({ versionsExported: 0 });
    expect(first.failed).toHaveLength(1);

    nowMs += DAY;
    const second = await runExport(portal.deps(), { connector: 'bynder', retryDelay: noWait, waitFor: noWait });
    expect(second).toMatchObject({ versionsEnqueued: 1, versionsExported: 1, failed: [] });
    expect((await archive.bytes(`${portal.portal}/${portal.brandId}/${id}/1/elevation.pdf`))?.toString()).toBe('elevation');
  });

  it('an asset planned again by id that cannot be planned that time either is kept for the run after', async () => {
    const portal = newPortal();
    const id = portal.addAsset('Detail', [{ fileName: 'detail.pdf', content: 'detail', at: START - DAY }]);
    portal.before.hook = (method, count) => {
      if (method === 'getDownloadUrl' && count === 1) {
        throw Object.assign(new Error('Bynder refused the download (404)'), { name: 'BynderApiError', kind: 'permanent', status: 404 });
      }
      if (method === 'getMedia' && count === 2) {
        throw Object.assign(new Error('Bynder refused the asset (400)'), { name: 'BynderApiError', kind: 'permanent', status: 400 });
      }
    };
    const options = { connector: 'bynder' as const, retryDelay: noWait, waitFor: noWait };
    expect((await runExport(portal.deps(), options)).failed).toHaveLength(1);
    nowMs += DAY;
    expect(await runExport(portal.deps(), options)).toMatchObject({ versionsEnqueued: 0, documentsSeen: 1 });
    nowMs += DAY;
    expect(await runExport(portal.deps(), options)).toMatchObject({ versionsEnqueued: 1, versionsExported: 1 });
    expect((await archive.bytes(`${portal.portal}/${portal.brandId}/${id}/1/detail.pdf`))?.toString()).toBe('detail');
  });

  it('a crash in the worker after the archive write: the retry records the version from the archive, copying nothing twice', async () => {
    const portal = newPortal();
    const id = portal.addAsset('Section', [{ fileName: 'section.pdf', content: 'section drawing', at: START - DAY }]);
    const queue = new InMemoryExportJobQueue();
    const deps = { ...portal.deps(), queue };
    await planExport({ trigger: 'manual', connector: 'bynder' }, deps, { remainingTimeMs: () => 15 * 60_000 });
    const messages = queue.jobs.map((job, i) => ({ messageId: `c${i}`, body: serializeExportJob(job) }));

    let crashes = 0;
    const crashingLedger = Object.assign(Object.create(deps.ledger), {
      recordExportedUnderClaim: async () => {
        crashes++;
        throw Object.assign(new Error('the worker died before the ledger write'), { name: 'SimulatedCrash' });
      },
    });
    const crashed = await processExportJobs(messages, { ...deps, ledger: crashingLedger });
    expect(crashed.map((r) => r.status)).toEqual(['retry']);
    expect(crashes).toBe(1);

    const retried = await processExportJobs(messages, deps);
    expect(retried.map((r) => r.status)).toEqual(['exported']);
    const again = await processExportJobs(messages, deps);
    expect(again.map((r) => r.status)).toEqual(['exported']);
    expect(portal.calls.download).toBe(1);
    const record = await deps.ledger.getExported(queue.jobs[0]?.versionId as string);
    expect(record).toMatchObject({
      archiveKey: `${portal.portal}/${portal.brandId}/${id}/1/section.pdf`,
      sha256: sha256('section drawing'),
    });
  });
});
