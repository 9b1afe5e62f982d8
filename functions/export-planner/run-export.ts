/**
 * A whole export run in one process, for the local demo, the bench and a command line: plan
 * everything, then push every job through the worker's own code (`processExportJobs`) with a
 * bounded concurrency, instead of SQS and Lambda. Same ledger, same archive layout, same
 * manifest; only the queue is an array, and transient failures are retried here a bounded
 * number of times (SQS's redelivery stands in for that in AWS).
 */
import pLimit from 'p-limit';
import type { ExportDeps } from '../../shared/export/deps.js';
import { InMemoryExportJobQueue } from '../../shared/export/job-queue.js';
import { serializeExportJob } from '../../shared/export/job.js';
import { manifestKeyFor } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import { processExportJobs, type ExportJobMessage, type JobResult } from '../export-worker/process-jobs.js';
import { planExport, UNLIMITED_BUDGET } from './plan.js';

export interface RunExportOptions {
  binderIds?: string[];
  /** Backfill: only versions modified at or after this ISO 8601 time. */
  since?: string;
  runId?: string;
  /** Jobs in flight at once. Default 4. */
  concurrency?: number;
  /** Attempts per job for transient failures. Default 3. */
  maxAttempts?: number;
  /** Wait before a round of retries; default 500 ms x round. */
  retryDelay?: (round: number) => Promise<void>;
  onProgress?: (progress: RunExportProgress) => void;
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
  const plan = await planExport(
    { trigger: 'manual', binderIds: options.binderIds, since: options.since, runId: options.runId },
    { ...deps, queue },
    UNLIMITED_BUDGET,
  );
  if (!plan.planningComplete) throw new Error(plan.message);

  const concurrency = Math.max(1, options.concurrency ?? 4);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const retryDelay = options.retryDelay ?? ((round: number) => new Promise<void>((resolve) => setTimeout(resolve, 500 * round)));
  // One job per worker call at a time: the concurrency is the number of batches in flight.
  const workerDeps: ExportDeps = { ...deps, settings: { ...deps.settings, jobConcurrency: 1 } };
  const total = queue.jobs.length;
  const progress: RunExportProgress = { done: 0, total, bytes: 0 };
  const failed: FailedVersion[] = [];
  let pending: ExportJobMessage[] = queue.jobs.map((job, index) => ({
    messageId: String(index),
    body: serializeExportJob(job),
    receiveCount: 1,
  }));
  options.onProgress?.({ ...progress });

  for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await retryDelay(attempt - 1);
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
              if (attempt === maxAttempts) failed.push(failedVersion(result, 'transient'));
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
