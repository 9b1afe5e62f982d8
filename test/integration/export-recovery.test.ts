/**
 * The export when things go wrong, on the local stack: a planner out of time, a worker that
 * dies between the upload and the ledger write, an expired download link, a flaky and a
 * missing version, jobs that end in the dead-letter queue. Runs go the way they go in AWS where
 * it matters: the planner handler's body sends jobs with the real SqsExportJobQueue to the
 * export queue (an SqsSimulator with the stack's visibility timeout and redrive policy), which
 * is drained into the worker handler's body.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../functions/export-planner/run-export.js';
import { createLambdaContext } from '../../local/lambda-context.js';
import { createLocalIBinderClient } from '../../local/local-ingest-dependencies.js';
import type { SimulatedClock } from '../../local/simulated-clock.js';
import type { SqsSimulator } from '../../local/sqs-simulator.js';
import { createExportDeps, type ExportDeps } from '../../shared/export/deps.js';
import { SqsExportJobQueue } from '../../shared/export/job-queue.js';
import { exportSettingsFrom, type ExportSettings } from '../../shared/export/settings.js';
import type { IBinderClient } from '../../shared/connectors/ibinder/client/types.js';
import { logger } from '../../shared/observability/logger.js';
import { IBinderSource } from '../../shared/connectors/ibinder/export-source.js';
import {
  ArchiveReader,
  ArchiveWrites,
  CallDelta,
  CrashingClients,
  EXPORT_ROUTE,
  FAST_IBINDER_RETRIES,
  addProjectBinder,
  expectedArchiveKey,
  exportLedgerItem,
  noRetryDelay,
  plannerLambda,
  routeSqsToSimulators,
  sha256Hex,
  simpleDocuments,
  withOverrides,
  workerLambda,
  type PlannerLambda,
  type ProjectBinder,
} from '../helpers/export-scenarios.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

/** The stack's export queue: visibility 6 x the worker's 900 s timeout, five receives before the dead-letter queue. */
const EXPORT_QUEUE = { visibilityTimeoutSeconds: 6 * 900, maxReceiveCount: 5 } as const;
const DOWNLOAD_LINK_TTL_SECONDS = 300;
const DAY_MS = 24 * 3600 * 1000;

let stack: LocalStack;
let archive: ArchiveReader;
let tenantId: string;
/** How far the emulator's clock runs ahead of the real one (link and token expiry). */
let emulatorAheadMs = 0;
const exportQueues: SqsSimulator[] = [];
let sqsRouting: { restore(): void } | undefined;
let savedLogLevel: string | undefined;

beforeAll(async () => {
  // The iBinder client warns on every retry; these tests make it retry on purpose.
  savedLogLevel = logger.getLevelName();
  logger.setLogLevel('SILENT');
  stack = await startLocalStack({
    services: { emulator: { now: () => Date.now() + emulatorAheadMs, downloadLinkTtlSeconds: DOWNLOAD_LINK_TTL_SECONDS } },
  });
  archive = new ArchiveReader(stack.services.s3.client, stack.services.archiveBucket);
  tenantId = stack.config.tenantId;
  sqsRouting = routeSqsToSimulators(exportQueues);
});

afterEach(() => {
  stack.services.emulator.faults.clear();
  emulatorAheadMs = 0;
});

afterAll(async () => {
  sqsRouting?.restore();
  if (savedLogLevel) logger.setLogLevel(savedLogLevel as Parameters<typeof logger.setLogLevel>[0]);
  await stack?.stop();
});

function newExportQueue(): SqsSimulator {
  const queue = stack.createExportQueue({ queueName: `ibinder-export-test-${exportQueues.length + 1}`, ...EXPORT_QUEUE });
  exportQueues.push(queue);
  return queue;
}

function iBinderClient(options: Parameters<typeof createLocalIBinderClient>[1] = {}): IBinderClient {
  return createLocalIBinderClient(stack.services, { ...FAST_IBINDER_RETRIES, ...options });
}

/** The export's dependencies on the local stack; time is the export queue's simulated clock when one is given. */
function exportDeps(options: { settings?: Partial<ExportSettings>; clock?: SimulatedClock; client?: IBinderClient } = {}): ExportDeps {
  const { clock } = options;
  return stack.createExportDeps({
    ibinderClient: options.client ?? iBinderClient(),
    ...(options.settings ? { settings: options.settings } : {}),
    ...(clock ? { clock: () => new Date(clock.now()) } : {}),
  });
}

/** The planner function, sending its jobs to `queue` through the SQS client as in AWS. */
function plannerOn(queue: SqsSimulator, deps: ExportDeps): PlannerLambda {
  return plannerLambda({
    ...deps,
    queue: new SqsExportJobQueue(new SQSClient({ region: stack.services.region }), queue.url, { sleep: noRetryDelay }),
  });
}

function filesOf(binder: ProjectBinder): Array<{ documentId: string; fileName: string; versionId: string; key: string }> {
  return binder.documents.flatMap((d) =>
    d.versionIds.map((versionId) => ({ ...d, versionId, key: expectedArchiveKey(tenantId, binder.binderId, d, versionId) })),
  );
}

/** Every version's file is in the archive with the emulator's bytes, and the ledger records it for `runId`. */
async function expectArchived(binder: ProjectBinder, runId: string): Promise<void> {
  for (const file of filesOf(binder)) {
    const bytes = await archive.bytes(file.key);
    const content = await stack.services.emulator.state.versionContent(file.versionId);
    expect({ key: file.key, sha256: bytes && sha256Hex(bytes), size: bytes?.length }).toEqual({ key: file.key, ...content });
    expect((await archive.sidecar(file.key)).sha256).toBe(content.sha256);
    expect(await exportLedgerItem(stack.services, file.versionId)).toMatchObject({
      state: 'exported',
      archiveKey: file.key,
      sha256: content.sha256,
      runId,
    });
  }
}

describe('export recovery on the local stack', () => {
  it('a planner out of time after a page pauses with its cursor saved; the next invocations resume it, and every version is exported once', async () => {
    const { services } = stack;
    const binder = addProjectBinder(services.emulator.state, 'BUDGET001', [
      ...simpleDocuments('budget', 4),
      { fileName: 'budget-revised.pdf', versions: [{ content: 'revision A' }, { content: 'revision B' }] },
    ]);
    const queue = newExportQueue();
    // Pages one after another (none fetched ahead): each search page takes 14.5 minutes of the planner's 15-minute timeout.
    const deps = exportDeps({ settings: { pageSize: 2, pagesAhead: 0 }, clock: queue.clock });
    let plannerNow = Date.now();
    const slowPages = withOverrides(deps.source, {
      listDocuments: async (binderId, page) => {
        const result = await deps.source.listDocuments(binderId, page);
        plannerNow += 14.5 * 60_000;
        return result;
      },
    });
    const planner = plannerOn(queue, { ...deps, source: slowPages });
    const invokePlanner = (event: unknown) =>
      planner(event, createLambdaContext({ functionName: 'export-planner', timeoutMs: 15 * 60_000, now: () => plannerNow }));
    const worker = workerLambda(deps);
    const writes = new ArchiveWrites(services);
    const calls = new CallDelta(services.emulator);

    const first = await invokePlanner({ source: 'manual', binderIds: [binder.binderId] });
    expect(first).toMatchObject({ state: 'planning', planningComplete: false, resumed: false, documentsSeen: 2, versionsEnqueued: 2 });
    expect(calls.count(EXPORT_ROUTE.search)).toBe(1);
    const firstDrain = await queue.drainWithLambda(worker, { batchSize: 1 });
    expect(firstDrain).toMatchObject({ drained: true, deleted: 2, deadLetters: [] });

    const second = await invokePlanner({ source: 'manual', runId: first.runId });
    expect(second).toMatchObject({
      runId: first.runId,
      state: 'planning',
      planningComplete: false,
      resumed: true,
      documentsSeen: 4,
      versionsEnqueued: 4,
    });
    const secondDrain = await queue.drainWithLambda(worker, { batchSize: 1 });
    expect(secondDrain).toMatchObject({ drained: true, deleted: 2, deadLetters: [] });

    const third = await invokePlanner({ source: 'manual', runId: first.runId });
    expect(third).toMatchObject({
      runId: first.runId,
      state: 'planned',
      planningComplete: true,
      resumed: true,
      documentsSeen: 5,
      versionsEnqueued: 6,
    });
    const thirdDrain = await queue.drainWithLambda(worker, { batchSize: 1 });
    expect(thirdDrain).toMatchObject({ drained: true, deleted: 2, deadLetters: [] });
    writes.stop();

    // Every page read once, every document listed once, every version fetched and written once.
    expect(calls.byRoute()).toEqual({
      [EXPORT_ROUTE.search]: 3,
      [EXPORT_ROUTE.versions]: 5,
      [EXPORT_ROUTE.metadata]: 1,
      [EXPORT_ROUTE.raw]: 6,
      [EXPORT_ROUTE.storageGet]: 6,
    });
    expect(writes.duplicates()).toEqual([]);
    for (const file of filesOf(binder)) expect(writes.of(file.key)).toBe(1);
    await expectArchived(binder, first.runId);

    const run = await deps.runs.get(first.runId);
    expect(run).toMatchObject({ state: 'finalized', versionsEnqueued: 6, exported: 6, settled: 6 });
    const manifest = await archive.manifest(`manifests/${run?.startedAt.slice(0, 10)}/${first.runId}.jsonl`);
    expect(manifest.run).toMatchObject({ complete: true, documentsSeen: 5, versionsEnqueued: 6, versionsExported: 6, unfinished: 0 });
    expect(manifest.binders).toEqual([
      expect.objectContaining({ binderId: binder.binderId, pages: 3, documentsSeen: 5, versionsEnqueued: 6 }),
    ]);
    expect(manifest.versions.map((l) => l.versionId).sort()).toEqual(
      filesOf(binder)
        .map((f) => f.versionId)
        .sort(),
    );
    expect(manifest.versions.every((l) => l.status === 'exported')).toBe(true);
  });

  it('a worker that dies after uploading the file but before the ledger write: the redelivered job leaves one archived object version and one ledger entry', async () => {
    const { services } = stack;
    const binder = addProjectBinder(services.emulator.state, 'CRASH0001', simpleDocuments('crash', 2));
    const [crashed, other] = filesOf(binder) as [ReturnType<typeof filesOf>[number], ReturnType<typeof filesOf>[number]];
    const queue = newExportQueue();
    const planned = await plannerOn(queue, exportDeps({ clock: queue.clock }))(
      { source: 'manual', binderIds: [binder.binderId] },
      createLambdaContext(),
    );
    expect(planned).toMatchObject({ state: 'planned', versionsEnqueued: 2 });

    // The worker's DynamoDB and S3 clients die at the first ledger write of an exported version.
    const dying = new CrashingClients(
      services.dynamodb.client,
      services.s3.endpoint,
      (command) => command instanceof PutCommand && (command.input as { Item?: { state?: unknown } }).Item?.state === 'exported',
    );
    const workerDeps = createExportDeps({
      settings: exportSettingsFrom(stack.config),
      source: new IBinderSource(iBinderClient()),
      s3: dying.s3,
      bucket: services.archiveBucket,
      dynamo: dying.documentClient,
      ledgerTableName: services.exportLedgerTable,
      clock: () => new Date(queue.clock.now()),
    });
    const writes = new ArchiveWrites(services);
    const ledgerBeforeRedelivery: Array<Record<string, unknown> | undefined> = [];
    const report = await queue.drainWithLambda(workerLambda(workerDeps), {
      batchSize: 1,
      beforeRound: async (round, event) => {
        // Each invocation is a fresh function instance.
        dying.revive();
        if (round > 1 && event.Records[0]?.attributes.ApproximateReceiveCount === '2') {
          ledgerBeforeRedelivery.push(await exportLedgerItem(services, crashed.versionId));
        }
      },
    });
    writes.stop();

    expect(dying.crashes).toBe(1);
    expect(report.invocations.map((i) => i.failedMessageIds.length)).toEqual([1, 0, 0]);
    expect(report).toMatchObject({ drained: true, deadLetters: [] });
    // The dead worker could not release its claim; the redelivery came after the claim's lease ran out.
    expect(ledgerBeforeRedelivery).toEqual([expect.objectContaining({ state: 'claimed', runId: planned.runId })]);
    await expectArchived(binder, planned.runId);
    // The manifest is filed under the run's start date: the simulated clock has moved on by
    // hours of visibility timeouts since, possibly past midnight.
    const run = await workerDeps.runs.get(planned.runId);
    const manifest = await archive.manifest(`manifests/${run?.startedAt.slice(0, 10)}/${planned.runId}.jsonl`);
    expect(manifest.run).toMatchObject({ complete: true, versionsEnqueued: 2, versionsExported: 2, failed: 0, unfinished: 0 });
    expect(manifest.versions.map((l) => [l.versionId, l.status]).sort()).toEqual(
      [
        [crashed.versionId, 'exported'],
        [other.versionId, 'exported'],
      ].sort(),
    );
    expect(writes.of(other.key)).toBe(1);
    // The archive bucket is versioned: a second write of the same bytes is a second object version.
    expect(writes.of(crashed.key)).toBe(1);
  });

  it('an expired download link is renewed: a second link call, and a correct archive', async () => {
    const { services } = stack;
    const { emulator } = services;
    const binder = addProjectBinder(emulator.state, 'EXPIRED01', [
      { fileName: 'Late worker.pdf', versions: [{ content: `%PDF-1.4\n${'slow queue '.repeat(2000)}\n%%EOF\n` }] },
      ...simpleDocuments('on-time', 1),
    ]);
    const [late] = filesOf(binder);
    if (!late) throw new Error('unreachable');
    const client = iBinderClient();
    // The worker gets its link, then waits longer than the link lives before fetching it.
    const waitingClient = withOverrides(client, {
      getDownloadLink: async (documentId, versionId) => {
        const link = await client.getDownloadLink(documentId, versionId);
        if (versionId === late.versionId && emulatorAheadMs === 0) emulatorAheadMs += (DOWNLOAD_LINK_TTL_SECONDS + 1) * 1000;
        return link;
      },
    });
    const expiredBefore = emulator.calls.count(EXPORT_ROUTE.storageGet, 403);
    const calls = new CallDelta(emulator);

    const summary = await runExport(exportDeps({ client: waitingClient }), {
      binderIds: [binder.binderId],
      concurrency: 1,
      retryDelay: noRetryDelay,
    });

    expect(emulatorAheadMs).toBe((DOWNLOAD_LINK_TTL_SECONDS + 1) * 1000);
    expect(summary).toMatchObject({ versionsExported: 2, failed: [] });
    expect(calls.count(EXPORT_ROUTE.raw)).toBe(3);
    expect(calls.count(EXPORT_ROUTE.storageGet)).toBe(3);
    expect(emulator.calls.count(EXPORT_ROUTE.storageGet, 403) - expiredBefore).toBe(1);
    await expectArchived(binder, summary.runId);
    const manifest = await archive.manifest(summary.manifestKey);
    expect(manifest.run).toMatchObject({ complete: true, versionsExported: 2, failed: 0 });
    expect(manifest.versions.find((l) => l.versionId === late.versionId)).toMatchObject({
      status: 'exported',
      sha256: (await emulator.state.versionContent(late.versionId)).sha256,
    });
  });

  it('a transient 500 on a versions call is retried and the run exports everything', async () => {
    const { emulator } = stack.services;
    const binder = addProjectBinder(emulator.state, 'FLAKY0001', simpleDocuments('flaky', 3));
    const failedBefore = emulator.calls.count(EXPORT_ROUTE.versions, 500);
    const calls = new CallDelta(emulator);
    emulator.faults.add({ route: EXPORT_ROUTE.versions, status: 500, times: 1 });

    const summary = await runExport(exportDeps(), { binderIds: [binder.binderId], retryDelay: noRetryDelay });

    expect(emulator.calls.count(EXPORT_ROUTE.versions, 500) - failedBefore).toBe(1);
    expect(calls.count(EXPORT_ROUTE.versions)).toBe(4);
    expect(summary).toMatchObject({ versionsEnqueued: 3, versionsExported: 3, failed: [] });
    await expectArchived(binder, summary.runId);
    expect((await archive.manifest(summary.manifestKey)).run).toMatchObject({
      complete: true,
      versionsExported: 3,
      failed: 0,
      documentErrors: 0,
    });
  });

  it('versions calls failing past the client retries fail the scheduled planner invocation; its retry resumes the run and exports everything', async () => {
    const { services } = stack;
    const { emulator } = services;
    const binder = addProjectBinder(emulator.state, 'FLAKY0002', simpleDocuments('flakier', 3));
    const queue = newExportQueue();
    const deps = exportDeps({
      settings: { exportBinders: [binder.binderId], pageSize: 2 },
      clock: queue.clock,
      client: iBinderClient({ maxAttempts: 2 }),
    });
    const planner = plannerOn(queue, deps);
    // The second page's versions calls fail twice: all the client's attempts.
    emulator.faults.add({ route: EXPORT_ROUTE.versions, status: 503, after: 2, times: 2 });

    await expect(planner({ source: 'schedule' }, createLambdaContext())).rejects.toMatchObject({ status: 503 });
    expect(queue.depth().visible).toBe(2);
    // Lambda retries the failed asynchronous invocation with the same event.
    const retried = await planner({ source: 'schedule' }, createLambdaContext());
    expect(retried).toMatchObject({ resumed: true, state: 'planned', documentsSeen: 3, versionsEnqueued: 3 });
    const report = await queue.drainWithLambda(workerLambda(deps), { batchSize: 1 });

    expect(report).toMatchObject({ drained: true, deleted: 3, deadLetters: [] });
    await expectArchived(binder, retried.runId);
    const run = await deps.runs.get(retried.runId);
    expect(run).toMatchObject({ state: 'finalized', versionsEnqueued: 3, exported: 3 });
    const manifest = await archive.manifest(`manifests/${run?.startedAt.slice(0, 10)}/${retried.runId}.jsonl`);
    expect(manifest.run).toMatchObject({ trigger: 'schedule', complete: true, versionsExported: 3 });
    expect(manifest.binders).toEqual([expect.objectContaining({ binderId: binder.binderId, pages: 2, documentsSeen: 3 })]);
  });

  it('a version that answers 404 is recorded as failed in the manifest, not archived, not in the ledger; the others are exported', async () => {
    const { emulator } = stack.services;
    const binder = addProjectBinder(emulator.state, 'GONE00001', [
      { fileName: 'Withdrawn drawing.pdf', versions: [{ content: 'withdrawn' }] },
      { fileName: 'Current drawing.pdf', versions: [{ content: 'current' }] },
    ]);
    const [gone, kept] = filesOf(binder) as [ReturnType<typeof filesOf>[number], ReturnType<typeof filesOf>[number]];
    // The first version's link: 404 on /raw and on /downloadlink (the version is gone).
    emulator.faults.add({ route: EXPORT_ROUTE.raw, status: 404, times: 1 });
    emulator.faults.add({ route: EXPORT_ROUTE.downloadLink, status: 404, times: 1 });
    const client = iBinderClient({ downloadLinkRoutes: new Map() });

    const summary = await runExport(exportDeps({ client }), { binderIds: [binder.binderId], concurrency: 1, retryDelay: noRetryDelay });

    expect(emulator.faults.list()).toEqual([]);
    expect(summary).toMatchObject({ versionsEnqueued: 2, versionsExported: 1 });
    expect(summary.failed).toEqual([
      expect.objectContaining({ versionId: gone.versionId, documentId: gone.documentId, kind: 'permanent' }),
    ]);
    expect(await archive.keys(`${tenantId}/${binder.binderId}/${gone.documentId}/`)).toEqual([]);
    expect(await exportLedgerItem(stack.services, gone.versionId)).toBeUndefined();
    expect((await archive.bytes(kept.key))?.toString('utf8')).toBe('current');
    expect(await exportLedgerItem(stack.services, kept.versionId)).toMatchObject({ state: 'exported' });
    const manifest = await archive.manifest(summary.manifestKey);
    expect(manifest.run).toMatchObject({ complete: true, versionsEnqueued: 2, versionsExported: 1, failed: 1, unfinished: 0 });
    expect(manifest.versions.find((l) => l.versionId === gone.versionId)).toMatchObject({
      status: 'failed',
      httpStatus: 404,
      fileName: 'Withdrawn drawing.pdf',
      reason: expect.stringContaining('404'),
    });
    expect(manifest.versions.find((l) => l.versionId === kept.versionId)).toMatchObject({ status: 'exported' });
  });

  it('jobs that keep failing end in the dead-letter queue; the next night lists them as unfinished and exports them', async () => {
    const { services } = stack;
    const { emulator } = services;
    const binder = addProjectBinder(emulator.state, 'DLQNIGHT1', simpleDocuments('dead-lettered', 2));
    const queue = newExportQueue();
    const deps = exportDeps({
      settings: { exportBinders: [binder.binderId] },
      clock: queue.clock,
      client: iBinderClient({ maxAttempts: 2 }),
    });
    const planner = plannerOn(queue, deps);
    const worker = workerLambda(deps);

    emulator.faults.add({ route: EXPORT_ROUTE.storageGet, status: 500, times: Infinity });
    const night1 = await planner({ source: 'schedule' }, createLambdaContext());
    expect(night1).toMatchObject({ state: 'planned', versionsEnqueued: 2 });
    const drain1 = await queue.drainWithLambda(worker, { batchSize: 1 });
    emulator.faults.clear();

    expect(drain1.drained).toBe(true);
    expect(drain1.invocations).toHaveLength(2 * EXPORT_QUEUE.maxReceiveCount);
    expect(drain1.deadLetters).toHaveLength(2);
    expect(
      drain1.deadLetters
        .map((d) => JSON.parse(d.body) as { versionId: string })
        .map((j) => j.versionId)
        .sort(),
    ).toEqual(
      filesOf(binder)
        .map((f) => f.versionId)
        .sort(),
    );
    for (const file of filesOf(binder)) expect(await exportLedgerItem(services, file.versionId)).toBeUndefined();

    queue.clock.advance(DAY_MS);
    const night2 = await planner({ source: 'schedule' }, createLambdaContext());
    expect(night2).toMatchObject({ finalizedPreviousRunId: night1.runId, state: 'planned', resumed: false, versionsEnqueued: 2 });
    const drain2 = await queue.drainWithLambda(worker, { batchSize: 1 });

    expect(drain2).toMatchObject({ drained: true, deleted: 2, deadLetters: [] });
    // A drain's report keeps its own dead letters: the second drain did not change the first's.
    expect(drain1.deadLetters).toHaveLength(2);
    expect(queue.deadLetters).toHaveLength(2);
    await expectArchived(binder, night2.runId);

    const run1 = await deps.runs.get(night1.runId);
    const manifest1 = await archive.manifest(`manifests/${run1?.startedAt.slice(0, 10)}/${night1.runId}.jsonl`);
    expect(manifest1.run).toMatchObject({ complete: false, versionsEnqueued: 2, versionsExported: 0, unfinished: 2 });
    expect(manifest1.versions).toHaveLength(2);
    for (const line of manifest1.versions) {
      expect(line).toMatchObject({ status: 'unfinished', attempts: EXPORT_QUEUE.maxReceiveCount, reason: expect.stringContaining('500') });
    }
    const run2 = await deps.runs.get(night2.runId);
    const manifest2 = await archive.manifest(`manifests/${run2?.startedAt.slice(0, 10)}/${night2.runId}.jsonl`);
    expect(manifest2.run).toMatchObject({ complete: true, versionsEnqueued: 2, versionsExported: 2, unfinished: 0 });
  });
  it('an older version left in the dead-letter queue is exported the next night although a later version of its document was exported; its late job rewrites the first manifest', async () => {
    const { services } = stack;
    const { emulator } = services;
    const binder = addProjectBinder(emulator.state, 'DLQOLDER1', [
      { fileName: 'Section A-A.pdf', versions: [{ content: 'rev A' }, { content: 'rev B' }] },
    ]);
    const [older, latest] = filesOf(binder) as [ReturnType<typeof filesOf>[number], ReturnType<typeof filesOf>[number]];
    const queue = newExportQueue();
    const deps = exportDeps({
      settings: { exportBinders: [binder.binderId] },
      clock: queue.clock,
      client: iBinderClient({ maxAttempts: 2 }),
    });
    const planner = plannerOn(queue, deps);
    const worker = workerLambda(deps);

    emulator.faults.add({ route: EXPORT_ROUTE.storageGet, status: 500, times: Infinity });
    const night1 = await planner({ source: 'schedule' }, createLambdaContext());
    const drain1 = await queue.drainWithLambda(worker, { batchSize: 1 });
    emulator.faults.clear();
    expect(drain1.deadLetters).toHaveLength(2);
    const deadLetterOf = (versionId: string): string => {
      const letter = drain1.deadLetters.find((d) => (JSON.parse(d.body) as { versionId: string }).versionId === versionId);
      if (!letter) throw new Error(`no dead letter for version ${versionId}`);
      return letter.body;
    };
    // Someone redrives only the latest version's job: the document's latest version is exported, the older one is not.
    queue.send(deadLetterOf(latest.versionId));
    expect(await queue.drainWithLambda(worker, { batchSize: 1 })).toMatchObject({ deleted: 1, deadLetters: [] });
    expect(await exportLedgerItem(services, latest.versionId)).toMatchObject({ state: 'exported' });
    expect(await exportLedgerItem(services, older.versionId)).toBeUndefined();

    queue.clock.advance(DAY_MS);
    const night2 = await planner({ source: 'schedule' }, createLambdaContext());
    expect(night2).toMatchObject({ finalizedPreviousRunId: night1.runId, state: 'planned', skippedUnchanged: 0, versionsEnqueued: 1 });
    expect(await queue.drainWithLambda(worker, { batchSize: 1 })).toMatchObject({ drained: true, deleted: 1, deadLetters: [] });
    expect(await exportLedgerItem(services, older.versionId)).toMatchObject({ state: 'exported', runId: night2.runId });

    // With every version exported the document is skipped again, without a versions call.
    queue.clock.advance(DAY_MS);
    const night3 = await planner({ source: 'schedule' }, createLambdaContext());
    expect(night3).toMatchObject({ state: 'finalized', skippedUnchanged: 1, versionsEnqueued: 0 });

    const run1 = await deps.runs.get(night1.runId);
    const manifest1Key = `manifests/${run1?.startedAt.slice(0, 10)}/${night1.runId}.jsonl`;
    expect((await archive.manifest(manifest1Key)).run).toMatchObject({ versionsExported: 1, unfinished: 1 });
    // The older version's first job, redriven after night 2 wrote night 1's manifest, settles late: the manifest is rewritten with it.
    queue.send(deadLetterOf(older.versionId));
    expect(await queue.drainWithLambda(worker, { batchSize: 1 })).toMatchObject({ deleted: 1, deadLetters: [] });
    const manifest1 = await archive.manifest(manifest1Key);
    expect(manifest1.run).toMatchObject({ versionsExported: 1, alreadyExported: 1, unfinished: 0 });
    expect(manifest1.versions.find((l) => l.versionId === older.versionId)).toMatchObject({
      status: 'already-exported',
      exportedByRunId: night2.runId,
    });
  });
});
