/**
 * A whole export run in one process, for the local demo, the bench and a command line: plan
 * everything, then push every job through the worker's own code (`processExportJobs`) with a
 * bounded concurrency, instead of SQS and Lambda. Same ledger, same archive layout, same
 * manifest; only the queue is an array, and transient failures are retried here a bounded
 * number of times (SQS's redelivery stands in for that in AWS).
 *
 * One connector's run per call (`connector`, default iBinder). A Bynder 429 block pauses the
 * run: the planner saves its cursor and stops, and this waits the pause out (`waitFor`) and
 * resumes it; jobs refused during a block wait at least the pause before their next round.
 */
import pLimit from 'p-limit';
import type { ExportDeps } from '../../shared/export/deps.js';
import { InMemoryExportJobQueue } from '../../shared/export/job-queue.js';
import { serializeExportJob } from '../../shared/export/job.js';
import { manifestKeyFor } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import type { ExportConnector } from '../../shared/export/job.js';
import { processExportJobs, type ExportJobMessage, type JobResult } from '../export-worker/process-jobs.js';
import { planExport, type PlanResult, UNLIMITED_BUDGET } from './plan.js';

export interface RunExportOptions {
  /** Whose run: `ibinder` (default) or `bynder` (needs deps.bynder). */
  connector?: ExportConnector;
  binderIds?: string[];
  /** Backfill: only versions modified at or after this ISO 8601 time (Bynder: the feed starts there instead of at its bookmark). */
  since?: string;
  runId?: string;
  /** Jobs in flight at once. Default 4. */
  concurrency?: number;
  /** Attempts per job for transient failures. Default 3. */
  maxAttempts?: number;
  /** Wait before a round of retries; default 500 ms x round. */
  retryDelay?: (round: number) => Promise<void>;
  /** Waits out a pause Bynder imposed (429 block) before planning resumes or jobs are retried; default a timer. */
  waitFor?: (ms: number) => Promise<void>;
  /** Planning pauses waited out before the run gives up. Default 3. */
  maxPlanningPauses?: number;
  onProgress?: (progress: RunExportProgress) => void;
  /** Told when Bynder blocked the integration and the run waits (ms). */
  onPause?: (ms: number, during: 'planning' | 'export') => void;
}

export interface RunExportProgress {
  /** Jobs finished (exported, already exported or failed). */
  done: number;
  total: number;
  /** Bytes written to the archive so far. */
  bytes: number;
}

export interface FailedVersion {
  binderId: string;
  documentId: string;
  versionId: string;
  fileName: string;
  kind: 'permanent' | 'transient';
  reason: string;
}

export interface RunExportSummary {
  runId: string;
  connector: ExportConnector;
  /** Bynder: assets found deleted (in the manifest; nothing removed from the archive). */
  deletedAssets: number;
  /** Bynder: list calls of the change feed. */
  listCalls?: number;
  /** Planning pauses for a 429 block that were waited out. */
  pauses: number;
  documentsSeen: number;
  skippedUnchanged: number;
  versionsEnqueued: number;
  versionsExported: number;
  alreadyExported: number;
  bytes: number;
  failed: FailedVersion[];
  manifestKey: string;
}

export async function runExport(deps: ExportDeps, options: RunExportOptions = {}): Promise<RunExportSummary> {
  const queue = new InMemoryExportJobQueue();
  const connector = options.connector ?? 'ibinder';
  const waitFor = options.waitFor ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let plan: PlanResult = await planExport(
    { trigger: 'manual', connector, binderIds: options.binderIds, since: options.since, runId: options.runId },
    { ...deps, queue },
    UNLIMITED_BUDGET,
  );
  let pauses = 0;
  let listCalls = plan.listCalls;
  while (!plan.planningComplete && plan.paused === 'throttled' && pauses < (options.maxPlanningPauses ?? 3)) {
    pauses++;
    options.onPause?.(plan.retryAfterMs ?? 0, 'planning');
    await waitFor(plan.retryAfterMs ?? 0);
    plan = await planExport({ trigger: 'manual', connector, runId: plan.runId }, { ...deps, queue }, UNLIMITED_BUDGET);
    listCalls = plan.listCalls ?? listCalls;
  }
  if (!plan.planningComplete) throw new Error(plan.message);

  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const retryDelay = options.retryDelay ?? ((round: number) => new Promise<void>((resolve) => setTimeout(resolve, 500 * round)));
  // One job per worker call at a time: the concurrency is the number of batches in flight.
  const workerDeps: ExportDeps = { ...deps, settings: { ...deps.settings, jobConcurrency: 1 } };
  const total = queue.jobs.length;
  const progress: RunExportProgress = { done: 0, total, bytes: 0 };
  const failed: FailedVersion[] = [];
  /** Messages refused during a 429 block, with the pause before any call may go out. */
  const pauseOf = new Map<string, number>();
  let pending: ExportJobMessage[] = queue.jobs.map((job, index) => ({
    messageId: String(index),
    body: serializeExportJob(job),
    receiveCount: 1,
  }));
  options.onProgress?.({ ...progress });

  // A round in which Bynder refused jobs for a block does not use up an attempt (at most maxAttempts such rounds).
  let blockedRounds = 0;
  let attempt = 1;
  for (let round = 1; pending.length > 0 && attempt <= maxAttempts; round++) {
    if (round > 1) {
      const pauseMs = Math.max(0, ...pending.map((m) => pauseOf.get(m.messageId) ?? 0));
      if (pauseMs > 0) {
        options.onPause?.(pauseMs, 'export');
        await waitFor(pauseMs);
      } else await retryDelay(round - 1);
    }
    const batchSize = Math.min(10, Math.max(1, Math.ceil(pending.length / concurrency)));
    const batches: ExportJobMessage[][] = [];
    for (let i = 0; i < pending.length; i += batchSize) batches.push(pending.slice(i, i + batchSize));
    const limit = pLimit(concurrency);
    const retries: ExportJobMessage[] = [];
    await Promise.all(
      batches.map((batch) =>
        limit(async () => {
          const results = await processExportJobs(batch, workerDeps);
          for (const result of results) {
            if (result.status === 'retry') {
              const message = batch.find((m) => m.messageId === result.messageId);
              if (!message) continue;
              if (result.error?.retryAfterMs !== undefined) pauseOf.set(message.messageId, result.error.retryAfterMs);
              else pauseOf.delete(message.messageId);
              const blocked = result.error?.retryAfterMs !== undefined && blockedRounds < maxAttempts;
              if (attempt === maxAttempts && !blocked) failed.push(failedVersion(result, 'transient'));
              else retries.push({ ...message, receiveCount: (message.receiveCount ?? 1) + 1 });
              continue;
            }
            progress.done++;
            if (result.status === 'exported' && result.record?.runId === plan.runId) progress.bytes += result.record.size;
            if (result.status === 'failed') failed.push(failedVersion(result, 'permanent'));
          }
          options.onProgress?.({ ...progress });
        }),
      ),
    );
    pending = retries;
    if (blockedRounds < maxAttempts && retries.some((m) => pauseOf.has(m.messageId))) blockedRounds++;
    else attempt++;
  }

  let run = await deps.runs.get(plan.runId);
  if (!run) throw new Error(`export run ${plan.runId} disappeared from the export ledger`);
  if (run.state !== 'finalized') {
    // Some jobs did not finish: the manifest lists them as unfinished.
    await finalizeRun(run, { ...deps, sourceName: deps.source.name });
    run = (await deps.runs.get(plan.runId)) ?? run;
  }
  return {
    runId: run.runId,
    connector,
    deletedAssets: run.deletedAssets ?? 0,
    ...(listCalls !== undefined ? { listCalls } : {}),
    pauses,
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    versionsEnqueued: run.versionsEnqueued,
    versionsExported: run.exported,
    alreadyExported: run.alreadyExported,
    bytes: run.bytes,
    failed,
    manifestKey: manifestKeyFor(run.runId, run.startedAt),
  };
}

function failedVersion(result: JobResult, kind: 'permanent' | 'transient'): FailedVersion {
  return {
    binderId: result.job?.binderId ?? '',
    documentId: result.job?.documentId ?? '',
    versionId: result.job?.versionId ?? '',
    fileName: result.job?.fileName ?? '',
    kind,
    reason: result.error?.reason ?? 'unknown',
  };
}
