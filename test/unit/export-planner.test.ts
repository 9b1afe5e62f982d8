import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parsePlannerEvent } from '../../functions/export-planner/event.js';
import { planExport, type PlanBudget } from '../../functions/export-planner/plan.js';
import { processExportJobs } from '../../functions/export-worker/process-jobs.js';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { serializeExportJob } from '../../shared/export/job.js';
import {
  FakeExportIBinder,
  TestClock,
  apiError,
  createFakeArchive,
  createQueueRecorder,
  makeExportDeps,
  sampleMetadataElements,
  startLedgerServer,
  type FakeArchive,
  type LedgerServer,
  type QueueRecorder,
} from '../helpers/export-factories.js';

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
  queue: QueueRecorder;
  deps: PlannerDeps;
  doc: DynamoDBDocumentClient;
  clock: TestClock;
}
let setup: Setup;

async function newSetup(settings: Parameters<typeof makeExportDeps>[0]['settings'] = {}): Promise<Setup> {
  const ibinder = new FakeExportIBinder().addBinder('BinderAAA', sampleMetadataElements()).addBinder('BinderBBB', []);
  const archive = createFakeArchive();
  const queue = createQueueRecorder();
  const ledger = await server.newTable();
  const clock = new TestClock();
  const deps = makeExportDeps({ ibinder, archive, ledger, clock, queue: queue.queue, settings });
  return { ibinder, archive, queue, deps, doc: ledger.doc, clock };
}

beforeEach(async () => {
  setup = await newSetup();
});

/** Marks these versions exported in the ledger, as a previous run would have. */
async function markExported(...versionIds: string[]): Promise<void> {
  for (const versionId of versionIds) {
    await setup.deps.ledger.recordExported({
      versionId,
      documentId: 'd',
      binderId: 'b',
      archiveKey: `acme/b/d/${versionId}/f`,
      sha256: '0'.repeat(64),
      sha256Base64: 'x',
      size: 1,
      exportedAt: '2026-11-21T02:00:00.000Z',
      runId: 'earlier-run',
    });
  }
}

function countBatchGets(): () => number {
  const spy = vi.spyOn(setup.doc, 'send');
  return () => spy.mock.calls.filter(([command]) => command instanceof BatchGetCommand).length;
}

describe('export planner', () => {
  it('enqueues every version of every document on the first run, one job per version', async () => {
    const a = setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['a1', 'a2']);
    const b = setup.ibinder.addDocument('BinderBBB', 'b.pdf', ['b1']);

    const result = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(result).toMatchObject({ state: 'planned', planningComplete: true, documentsSeen: 2, skippedUnchanged: 0, versionsEnqueued: 3 });
    const jobs = setup.queue.jobs();
    expect(jobs.map((j) => j.versionId).sort()).toEqual([a.versions[0]?.id, a.versions[1]?.id, b.versions[0]?.id].sort());
    expect(jobs[0]).toMatchObject({
      runId: result.runId,
      runStartedAt: '2026-11-22T02:00:00.000Z',
      tenantId: 'acme',
      binderId: 'BinderAAA',
      documentId: a.id,
      fileName: 'a.pdf',
      versionLabel: 'A',
      status: 'Published',
    });
    expect(setup.ibinder.calls.listBinders).toBe(1); // no binders configured: every binder
  });

  it('skips a document whose latest version is in the ledger without a versions call: one DynamoDB call per unchanged page', async () => {
    const docs = Array.from({ length: 30 }, (_, i) => setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['v1', 'v2']));
    await markExported(...docs.flatMap((d) => d.versions.map((v) => v.id)));
    const batchGets = countBatchGets();

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(result).toMatchObject({ documentsSeen: 30, skippedUnchanged: 30, versionsEnqueued: 0 });
    expect(setup.ibinder.calls.listVersions).toBe(0);
    expect(setup.ibinder.calls.searchDocuments).toBe(1);
    expect(batchGets()).toBe(1);
    expect(setup.queue.batches).toEqual([]);
  });

  it('enqueues only the versions not yet exported of a changed document', async () => {
    const changed = setup.ibinder.addDocument('BinderAAA', 'changed.pdf', ['v1', 'v2']);
    const unchanged = setup.ibinder.addDocument('BinderAAA', 'same.pdf', ['v1']);
    await markExported(changed.versions[0]?.id as string, unchanged.versions[0]?.id as string);
    setup.ibinder.addVersion(changed.id, { content: 'v3' });

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(result).toMatchObject({ documentsSeen: 2, skippedUnchanged: 1, versionsEnqueued: 2 });
    expect(setup.ibinder.calls.listVersions).toBe(1);
    expect(setup.queue.jobs().map((j) => j.versionId)).toEqual([changed.versions[1]?.id, changed.versions[2]?.id]);
  });

  it('pages through POST /documents until totalCount is reached, filtered by binder', async () => {
    for (let i = 0; i < 250; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);
    setup.ibinder.addDocument('BinderBBB', 'other.pdf', ['x']);

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(setup.ibinder.searches).toEqual([
      { pageNumber: 1, pageSize: 100, binderId: 'BinderAAA' },
      { pageNumber: 2, pageSize: 100, binderId: 'BinderAAA' },
      { pageNumber: 3, pageSize: 100, binderId: 'BinderAAA' },
    ]);
    expect(result).toMatchObject({ documentsSeen: 250, versionsEnqueued: 250 });
    expect(setup.queue.batches.every((b) => b.length <= 10)).toBe(true);
    expect(new Set(setup.queue.jobs().map((j) => j.versionId)).size).toBe(250);
  });

  it('fetches a few pages ahead once the total is known, and plans them in order, one cursor save after another', async () => {
    setup = await newSetup({ pagesAhead: 3 });
    for (let i = 0; i < 1000; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);
    await markExported(...setup.ibinder.documents.map((d) => d.versions[0]?.id ?? ''));
    // Each search answers only when the test lets it: the planner's requests in flight can be counted.
    const source = setup.deps.source;
    const waiting: (() => void)[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const gatedSource = Object.assign(Object.create(source) as typeof source, {
      listDocuments: async (...args: Parameters<typeof source.listDocuments>) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise<void>((resolve) => waiting.push(resolve));
        inFlight--;
        return source.listDocuments(...args);
      },
    });
    const saved: number[] = [];
    const saveProgress = setup.deps.runs.saveProgress.bind(setup.deps.runs);
    const runs = Object.assign(Object.create(setup.deps.runs) as typeof setup.deps.runs, {
      saveProgress: async (...args: Parameters<typeof saveProgress>) => {
        saved.push(args[2].binderIndex === 0 ? args[2].nextPage : -1);
        return saveProgress(...args);
      },
    });
    let done = false;
    const planning = planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, { ...setup.deps, source: gatedSource, runs }).finally(
      () => {
        done = true;
      },
    );
    while (!done) {
      waiting.shift()?.();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const result = await planning;

    expect(result).toMatchObject({ planningComplete: true, documentsSeen: 1000, skippedUnchanged: 1000, versionsEnqueued: 0 });
    expect(mostInFlight).toBe(3);
    expect(setup.ibinder.searches.map((s) => s.pageNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Pages 1 to 9 saved the cursor at the next page, in order; the last one ended the binder.
    expect(saved).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, -1]);
  });

  it('follows the page size the server reports when it caps the one asked for', async () => {
    setup.ibinder.maxPageSize = 40;
    for (let i = 0; i < 100; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(setup.ibinder.searches.map((s) => s.pageNumber)).toEqual([1, 2, 3]);
    expect(result.documentsSeen).toBe(100);
  });

  it('stops at the time budget, saves the cursor and resumes from it on the next scheduled invocation', async () => {
    // Search calls stand in for the passing time here: one at a time, no pages fetched ahead.
    setup = await newSetup({ pagesAhead: 0 });
    for (let i = 0; i < 250; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);
    for (let i = 0; i < 20; i++) setup.ibinder.addDocument('BinderBBB', `e${i}.pdf`, ['y']);
    // Plenty of time for two pages, then less than the margin.
    const budget: PlanBudget = { remainingTimeMs: () => (setup.ibinder.calls.searchDocuments >= 2 ? 30_000 : 600_000) };

    const first = await planExport({ trigger: 'schedule' }, setup.deps, budget);

    expect(first).toMatchObject({
      state: 'planning',
      planningComplete: false,
      documentsSeen: 200,
      versionsEnqueued: 200,
      bindersPlanned: 0,
    });
    expect(first.message).toMatch(/paused at binder 1 of 2, page 3/);
    const state = await setup.deps.runs.get(first.runId);
    expect(state).toMatchObject({ state: 'planning', binderIndex: 0, nextPage: 3, versionsEnqueued: 200 });

    setup.clock.advance(24 * 3600 * 1000);
    const second = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(second).toMatchObject({ runId: first.runId, resumed: true, state: 'planned', documentsSeen: 270, versionsEnqueued: 270 });
    expect(setup.ibinder.searches.slice(2).map((s) => [s.binderId, s.pageNumber])).toEqual([
      ['BinderAAA', 3],
      ['BinderBBB', 1],
    ]);
    const versionIds = setup.queue.jobs().map((j) => j.versionId);
    expect(versionIds).toHaveLength(270);
    expect(new Set(versionIds).size).toBe(270);
  });

  it('plans under a short function timeout: the margin is at most a quarter of it', async () => {
    setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps, { remainingTimeMs: () => 20_000 });
    expect(result).toMatchObject({ planningComplete: true, versionsEnqueued: 1 });
  });

  it('resumes a paused manual run when invoked with its runId', async () => {
    setup = await newSetup({ pagesAhead: 0 });
    for (let i = 0; i < 150; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);
    const paused = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps, {
      remainingTimeMs: () => (setup.ibinder.calls.searchDocuments >= 1 ? 0 : 600_000),
    });
    expect(paused.planningComplete).toBe(false);

    const resumed = await planExport({ trigger: 'manual', runId: paused.runId }, setup.deps);

    expect(resumed).toMatchObject({ runId: paused.runId, resumed: true, planningComplete: true, versionsEnqueued: 150 });
    expect(setup.ibinder.searches.map((s) => s.pageNumber)).toEqual([1, 2]);
  });

  it('does not page a run another invocation is planning', async () => {
    setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    await setup.deps.runs.create({
      runId: 'busy',
      tenantId: 'acme',
      trigger: 'manual',
      startedAt: setup.clock.now(),
      binderIds: ['BinderAAA'],
    });
    await setup.deps.runs.acquirePlanningLease('busy', 'someone-else', setup.clock.now(), 600_000);

    const result = await planExport({ trigger: 'manual', runId: 'busy' }, setup.deps);

    expect(result).toMatchObject({ state: 'planning', planningComplete: false });
    expect(result.message).toMatch(/being planned by another invocation/);
    expect(setup.ibinder.calls.searchDocuments).toBe(0);
  });

  it('with since, enqueues only versions modified at or after it', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', [
      { content: 'old', modifiedAt: '2025-12-31T23:59:59Z' },
      { content: 'edge', modifiedAt: '2026-01-01T00:00:00Z' },
      { content: 'new', modifiedAt: '2026-03-01T10:00:00Z' },
    ]);

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'], since: '2026-01-01T00:00:00Z' }, setup.deps);

    expect(result.versionsEnqueued).toBe(2);
    expect(setup.queue.jobs().map((j) => j.versionId)).toEqual([document.versions[1]?.id, document.versions[2]?.id]);
    expect((await setup.deps.runs.get(result.runId))?.since).toBe('2026-01-01T00:00:00Z');
  });

  it('uses the configured binders when the run names none', async () => {
    setup = await newSetup({ exportBinders: ['BinderBBB'] });
    setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    setup.ibinder.addDocument('BinderBBB', 'b.pdf', ['x']);

    const result = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(result).toMatchObject({ binders: 1, documentsSeen: 1 });
    expect(setup.ibinder.calls.listBinders).toBe(0);
  });

  it('records a binder it may not read and goes on with the next one', async () => {
    setup.ibinder.addDocument('BinderBBB', 'b.pdf', ['x']);

    const result = await planExport({ trigger: 'manual', binderIds: ['NoSuchBin', 'BinderBBB'] }, setup.deps);

    expect(result).toMatchObject({ state: 'planned', versionsEnqueued: 1 });
    expect(await setup.deps.runs.get(result.runId)).toMatchObject({ binderErrors: 1 });
    const part = setup.archive.keys().find((k) => k.includes(`/${result.runId}/parts/`) && k.includes('planner'));
    const lines = setup.archive
      .text(part as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'binder', binderId: 'NoSuchBin', documentsSeen: 0 });
    expect(String(lines[0]?.error)).toMatch(/403/);
    expect(lines[1]).toMatchObject({ type: 'binder', binderId: 'BinderBBB', documentsSeen: 1, versionsEnqueued: 1 });
  });

  it('skips a document that disappeared between search and versions listing', async () => {
    const gone = setup.ibinder.addDocument('BinderAAA', 'gone.pdf', ['x']);
    setup.ibinder.addDocument('BinderAAA', 'here.pdf', ['y']);
    setup.ibinder.failNext('listVersions', gone.id, apiError(404, 'GET', `/documents/${gone.id}/versions`));

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(result).toMatchObject({ documentsSeen: 2, versionsEnqueued: 1 });
    expect(await setup.deps.runs.get(result.runId)).toMatchObject({ documentErrors: 1 });
  });

  it('throws on a transient failure after saving the cursor, and the retry resumes without re-reading done pages', async () => {
    for (let i = 0; i < 150; i++) setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, ['x']);
    setup.ibinder.failNext('searchDocuments', 'BinderBBB', apiError(503, 'POST', '/documents'));

    await expect(planExport({ trigger: 'schedule' }, setup.deps)).rejects.toThrow(/503/);
    const retried = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(retried).toMatchObject({ resumed: true, state: 'planned', versionsEnqueued: 150 });
    expect(setup.ibinder.searches.map((s) => [s.binderId, s.pageNumber])).toEqual([
      ['BinderAAA', 1],
      ['BinderAAA', 2],
      ['BinderBBB', 1],
      ['BinderBBB', 1],
    ]);
  });

  it('survives a planner crash between enqueueing a page and saving it: no version is exported twice, and the manifest has each once', async () => {
    const documents = Array.from({ length: 4 }, (_, i) => setup.ibinder.addDocument('BinderAAA', `d${i}.pdf`, [`content ${i}`]));
    const save = vi.spyOn(setup.deps.runs, 'saveProgress').mockRejectedValueOnce(new Error('Lambda timed out'));
    await expect(planExport({ trigger: 'schedule' }, setup.deps)).rejects.toThrow(/timed out/);
    save.mockRestore();
    const firstSend = setup.queue.jobs();
    expect(firstSend).toHaveLength(4);
    // Workers pick up half of the first send before the planner is retried.
    const toMessages = (jobs: typeof firstSend, from: number): Parameters<typeof processExportJobs>[0] =>
      jobs.map((job, i) => ({ messageId: String(from + i), body: serializeExportJob(job) }));
    await processExportJobs(toMessages(firstSend.slice(0, 2), 0), setup.deps);

    const retried = await planExport({ trigger: 'schedule' }, setup.deps);
    // The re-planned page re-sends the two unfinished jobs but counts no version twice.
    expect(retried).toMatchObject({ resumed: true, state: 'planned', versionsEnqueued: 4 });
    const all = setup.queue.jobs();
    await processExportJobs(toMessages(all.slice(2), 2), setup.deps);
    await processExportJobs(toMessages(all.slice(4), 4), setup.deps);

    expect(setup.ibinder.calls.openDownload).toBe(4);
    const manifest = setup.archive
      .text(`manifests/2026-11-22/${retried.runId}.jsonl`)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const versionLines = manifest.filter((l) => l.type === 'version');
    expect(versionLines.map((l) => l.versionId).sort()).toEqual(documents.map((d) => d.versions[0]?.id).sort());
    expect(versionLines.every((l) => l.status === 'exported')).toBe(true);
  });

  it('writes the manifest at once for a run with nothing to export', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    await markExported(document.versions[0]?.id as string);

    const result = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(result.state).toBe('finalized');
    expect(result.manifestKey).toBe(`manifests/2026-11-22/${result.runId}.jsonl`);
    const [runLine, binderLine] = setup.archive
      .text(result.manifestKey as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(runLine).toMatchObject({
      type: 'run',
      complete: true,
      documentsSeen: 1,
      skippedUnchanged: 1,
      versionsEnqueued: 0,
      trigger: 'manual',
    });
    expect(binderLine).toMatchObject({ type: 'binder', binderId: 'BinderAAA', pages: 1 });
  });

  it('on the next schedule, writes the manifest of the previous run that never completed, listing what did not finish', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x', 'y']);
    const first = await planExport({ trigger: 'schedule' }, setup.deps);
    expect(first.state).toBe('planned');
    // One job finishes; the other keeps failing (it ends in the dead-letter queue).
    const [done, stuck] = setup.queue.jobs();
    setup.ibinder.failNext('getDownloadLink', stuck?.versionId as string, apiError(500, 'GET', '/raw'));
    await processExportJobs(
      [done, stuck].map((job, i) => ({ messageId: String(i), body: serializeExportJob(job!), receiveCount: 5 })),
      setup.deps,
    );

    setup.clock.advance(24 * 3600 * 1000);
    const second = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(second.finalizedPreviousRunId).toBe(first.runId);
    expect(second.runId).not.toBe(first.runId);
    const lines = setup.archive
      .text(`manifests/2026-11-22/${first.runId}.jsonl`)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'run', complete: false, versionsEnqueued: 2, versionsExported: 1, unfinished: 1 });
    expect(lines.find((l) => l.versionId === stuck?.versionId)).toMatchObject({ status: 'unfinished', attempts: 1, httpStatus: 500 });
    // The stuck version is enqueued again by the new run (it is not in the ledger).
    expect(
      setup.queue
        .jobs()
        .filter((j) => j.runId === second.runId)
        .map((j) => j.versionId),
    ).toEqual([document.versions[1]?.id]);
  });
});

describe('export planner: what did not finish is tried again', () => {
  it('re-enqueues an older version whose job failed although a later version of the document was exported', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['one', 'two']);
    const [older, latest] = document.versions.map((v) => v.id) as [string, string];
    const first = await planExport({ trigger: 'schedule' }, setup.deps);
    expect(first.versionsEnqueued).toBe(2);
    // The latest version's job exports it; the older one's ends in the dead-letter queue.
    const latestJob = setup.queue.jobs().find((j) => j.versionId === latest);
    await processExportJobs([{ messageId: '1', body: serializeExportJob(latestJob!) }], setup.deps);
    expect(await setup.deps.ledger.exportedAmong([older, latest])).toEqual(new Set([latest]));

    setup.clock.advance(24 * 3600 * 1000);
    const second = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(second).toMatchObject({ skippedUnchanged: 0, versionsEnqueued: 1 });
    expect(
      setup.queue
        .jobs()
        .filter((j) => j.runId === second.runId)
        .map((j) => j.versionId),
    ).toEqual([older]);
  });

  it('skips the document again, with no versions call, once every version is exported', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['one', 'two']);
    await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);
    const jobs = setup.queue.jobs();
    await processExportJobs(
      jobs.map((job, i) => ({ messageId: String(i), body: serializeExportJob(job) })),
      setup.deps,
    );
    const versionsCalls = setup.ibinder.calls.listVersions;

    const again = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(again).toMatchObject({ skippedUnchanged: 1, versionsEnqueued: 0 });
    expect(setup.ibinder.calls.listVersions).toBe(versionsCalls);
    expect(document.versions).toHaveLength(2);
  });

  it('a backfill with since does not hide the versions before it from the next run without since', async () => {
    const document = setup.ibinder.addDocument('BinderAAA', 'a.pdf', [
      { content: 'old', modifiedAt: '2025-12-31T23:59:59Z' },
      { content: 'new', modifiedAt: '2026-03-01T10:00:00Z' },
    ]);
    const [old, recent] = document.versions.map((v) => v.id) as [string, string];
    await planExport({ trigger: 'manual', binderIds: ['BinderAAA'], since: '2026-01-01T00:00:00Z' }, setup.deps);
    expect(setup.queue.jobs().map((j) => j.versionId)).toEqual([recent]);
    await processExportJobs([{ messageId: '1', body: serializeExportJob(setup.queue.jobs()[0]!) }], setup.deps);

    const full = await planExport({ trigger: 'manual', binderIds: ['BinderAAA'] }, setup.deps);

    expect(full).toMatchObject({ skippedUnchanged: 0, versionsEnqueued: 1 });
    expect(
      setup.queue
        .jobs()
        .filter((j) => j.runId === full.runId)
        .map((j) => j.versionId),
    ).toEqual([old]);
  });

  it('gives up on a document whose versions keep failing transiently after 3 attempts: a document error, and the run goes on', async () => {
    const stuck = setup.ibinder.addDocument('BinderAAA', 'stuck.pdf', ['x']);
    setup.ibinder.addDocument('BinderAAA', 'fine.pdf', ['y']);
    const unavailable = (): Error => apiError(503, 'GET', `/documents/${stuck.id}/versions`);
    setup.ibinder.failNext('listVersions', stuck.id, unavailable(), unavailable(), unavailable());

    await expect(planExport({ trigger: 'schedule' }, setup.deps)).rejects.toThrow(/503/);
    await expect(planExport({ trigger: 'schedule' }, setup.deps)).rejects.toThrow(/503/);
    const third = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(third).toMatchObject({ resumed: true, state: 'planned', versionsEnqueued: 1 });
    const run = await setup.deps.runs.get(third.runId);
    expect(run).toMatchObject({ documentErrors: 1, binderErrors: 0 });
    expect(run?.failedPage).toBeUndefined();
    const part = setup.archive.keys().find((k) => k.includes(`/${third.runId}/parts/`) && k.includes('planner'));
    expect(setup.archive.text(part as string)).toContain('"documentErrors":1');

    // The document is not in the ledger: the next night tries it again.
    setup.clock.advance(24 * 3600 * 1000);
    const next = await planExport({ trigger: 'schedule' }, setup.deps);
    expect(
      setup.queue
        .jobs()
        .filter((j) => j.runId === next.runId)
        .map((j) => j.documentId),
    ).toContain(stuck.id);
  });

  it('gives up on a binder that keeps failing transiently after 3 attempts: a binder error, and the next binder is planned', async () => {
    setup.ibinder.addDocument('BinderBBB', 'b.pdf', ['x']);
    const unavailable = (): Error => apiError(503, 'POST', '/documents');
    setup.ibinder.failNext('searchDocuments', 'BinderAAA', unavailable(), unavailable(), unavailable());

    await expect(
      planExport({ trigger: 'manual', runId: 'flaky-binder', binderIds: ['BinderAAA', 'BinderBBB'] }, setup.deps),
    ).rejects.toThrow(/503/);
    await expect(planExport({ trigger: 'manual', runId: 'flaky-binder' }, setup.deps)).rejects.toThrow(/503/);
    const third = await planExport({ trigger: 'manual', runId: 'flaky-binder' }, setup.deps);

    expect(third).toMatchObject({ state: 'planned', versionsEnqueued: 1 });
    expect(await setup.deps.runs.get('flaky-binder')).toMatchObject({ binderErrors: 1 });
    const part = setup.archive.keys().find((k) => k.includes('/flaky-binder/parts/') && k.includes('planner'));
    const lines = setup.archive
      .text(part as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'binder', binderId: 'BinderAAA', error: expect.stringContaining('503') });
  });

  it('starts the new scheduled run even when the manifest of the previous one cannot be written', async () => {
    setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    const first = await planExport({ trigger: 'schedule' }, setup.deps);
    expect(first.state).toBe('planned');
    const planningFailed = vi.spyOn(setup.deps.metrics, 'planningFailed');
    vi.spyOn(setup.deps.manifests, 'readParts').mockRejectedValueOnce(new Error('SlowDown: reduce your request rate'));

    setup.clock.advance(24 * 3600 * 1000);
    const second = await planExport({ trigger: 'schedule' }, setup.deps);

    expect(second).toMatchObject({ resumed: false, state: 'planned' });
    expect(second.runId).not.toBe(first.runId);
    expect(second.finalizedPreviousRunId).toBeUndefined();
    expect(planningFailed).toHaveBeenCalledWith('schedule');
    expect((await setup.deps.runs.get(first.runId))?.state).toBe('planned');
  });

  it("does not write the previous run's manifest when the invocation has little time left", async () => {
    setup.ibinder.addDocument('BinderAAA', 'a.pdf', ['x']);
    const first = await planExport({ trigger: 'schedule' }, setup.deps);
    const readParts = vi.spyOn(setup.deps.manifests, 'readParts');
    const budget: PlanBudget = { remainingTimeMs: () => setup.deps.settings.planningMarginMs };

    setup.clock.advance(24 * 3600 * 1000);
    const second = await planExport({ trigger: 'schedule' }, setup.deps, budget);

    expect(second.runId).not.toBe(first.runId);
    expect(second.finalizedPreviousRunId).toBeUndefined();
    expect(readParts).not.toHaveBeenCalled();
  });
});

describe('planner event', () => {
  it('reads the schedule and manual events', () => {
    expect(parsePlannerEvent({ source: 'schedule' })).toEqual({ trigger: 'schedule' });
    expect(parsePlannerEvent({ source: 'manual', binderIds: ['BinderAAA'], since: '2026-01-01T00:00:00Z', runId: 'backfill-1' })).toEqual({
      trigger: 'manual',
      binderIds: ['BinderAAA'],
      since: '2026-01-01T00:00:00Z',
      runId: 'backfill-1',
    });
  });

  it('explains what it expected when the event is wrong', () => {
    expect(() => parsePlannerEvent({ source: 'manual', since: 'yesterday' })).toThrow(/since.*send \{"source":"schedule"\}/s);
    expect(() => parsePlannerEvent({ source: 'manual', runId: 'a/b' })).toThrow(/runId/);
    expect(() => parsePlannerEvent({})).toThrow(/source/);
  });
});
