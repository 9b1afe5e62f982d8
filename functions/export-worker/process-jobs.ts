/**
 * Processes a batch of export job messages (one SQS batch, or a slice of the in-process run)
 * and reports which must be retried.
 *
 * Per job: exported / already exported / failed permanently -> final, acknowledged; transient
 * (and jobs not started because the invocation is running out of time) -> retry.
 * After the jobs:
 * 1. the batch's manifest lines are written as one part per run (S3 has no append, and
 *    parallel workers must not overwrite each other); if that write fails, the jobs are retried
 *    so their lines are not lost (a retried export finds itself in the ledger and says so);
 * 2. each final outcome is settled once in the run's counters, and an exported version is taken
 *    out of its document's pending marker (see shared/ledger/export-ledger.ts);
 * 3. a run whose last job this batch settled gets its manifest assembled, and so does a run
 *    finalized already whose late job this batch settled (rewritten with that job in it).
 */
import pLimit from 'p-limit';
import { archiveKeyFor } from '../../shared/export/archive-key.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { classifyExportError, type ClassifiedError } from '../../shared/export/errors.js';
import { InvalidExportJobError, parseExportJob, type ExportJob } from '../../shared/export/job.js';
import type { PartLineInput, VersionLineInput } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import { isRunSettled, type SettleStatus } from '../../shared/export/run-store.js';
import type { ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';
import { runWithLogContext } from '../../shared/observability/log-context.js';
import { exportVersion } from './export-version.js';

export interface ExportJobMessage {
  /** The SQS message id (or any id unique in the batch). */
  messageId: string;
  body: string;
  /** SQS ApproximateReceiveCount, recorded with a retry. */
  receiveCount?: number;
}

export type JobResultStatus = 'exported' | 'already-exported' | 'failed' | 'retry';

export interface JobResult {
  messageId: string;
  status: JobResultStatus;
  job?: ExportJob;
  record?: ExportedVersionRecord;
  error?: ClassifiedError;
  /** True for a retry because the invocation had no time left to start the job. */
  notStarted?: boolean;
}

export interface ProcessJobsOptions {
  /** Time left in the invocation (ms); default: unlimited. */
  remainingTimeMs?: () => number;
}

export async function processExportJobs(
  messages: readonly ExportJobMessage[],
  deps: ExportDeps,
  options: ProcessJobsOptions = {},
): Promise<JobResult[]> {
  const remaining = options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY);
  // A short function timeout must still leave room to work: the reserve is at most a quarter of it.
  const reserveMs = Math.min(deps.settings.minRemainingTimeMs, remaining() / 4);
  const limit = pLimit(Math.max(1, deps.settings.jobConcurrency));
  const results = await Promise.all(messages.map((message) => limit(() => processOne(message, deps, remaining, reserveMs))));

  const lines = new Map<string, { run: { runId: string; startedAt: string }; lines: PartLineInput[]; results: JobResult[] }>();
  for (const result of results) {
    if (!result.job || result.notStarted) continue;
    const runKey = `${result.job.runId}|${result.job.runStartedAt}`;
    let group = lines.get(runKey);
    if (!group) {
      group = { run: { runId: result.job.runId, startedAt: result.job.runStartedAt }, lines: [], results: [] };
      lines.set(runKey, group);
    }
    group.lines.push(manifestLineFor(result, result.job, deps.clock()));
    group.results.push(result);
  }

  const runsToCheck = new Set<string>();
  for (const group of lines.values()) {
    try {
      await deps.manifests.writePart(group.run, 'worker', group.lines, deps.clock());
    } catch (err) {
      deps.logger.error('could not write the manifest part of a worker batch; its jobs are retried so their lines are recorded', {
        runId: group.run.runId,
        error: classifyExportError(err).reason,
      });
      for (const result of group.results) {
        if (result.status !== 'retry') retryInstead(result, err);
      }
      continue;
    }
    for (const result of group.results) {
      if (result.status === 'retry' || !result.job) continue;
      try {
        const counted = await deps.runs.settle(
          result.job.runId,
          result.job.versionId,
          result.status as SettleStatus,
          result.status === 'exported' ? (result.record?.size ?? 0) : 0,
          deps.clock(),
        );
        if (counted) runsToCheck.add(result.job.runId);
      } catch (err) {
        deps.logger.warn('could not count a finished job in its run; the job is retried', {
          runId: result.job.runId,
          versionId: result.job.versionId,
          error: classifyExportError(err).reason,
        });
        retryInstead(result, err);
        continue;
      }
      if (result.status === 'exported' || result.status === 'already-exported') {
        await clearDocumentPending(result.job, deps);
      }
    }
  }

  for (const runId of runsToCheck) {
    try {
      const run = await deps.runs.get(runId);
      // A job counted for a run that is finalized already settled late: the next scheduled
      // plan wrote the manifest with it unfinished (it waited in SQS or the dead-letter queue),
      // or the enqueued count fell short (a planner crash between recording versions and adding
      // to the count). The manifest is rewritten, so the late job is in it.
      if (run && (isRunSettled(run) || run.state === 'finalized')) {
        const finalized = await finalizeRun(run, { ...deps, sourceName: deps.source.name });
        deps.logger.info('export run complete; manifest written', { runId, manifestKey: finalized.manifestKey });
      }
    } catch (err) {
      // The jobs are done; the manifest is assembled later by the next scheduled plan.
      deps.logger.error('could not assemble the manifest of a complete export run', {
        runId,
        error: classifyExportError(err).reason,
      });
    }
  }

  for (const result of results) {
    if (result.status === 'retry') deps.metrics.exportRetried();
  }
  return results;
}

async function processOne(
  message: ExportJobMessage,
  deps: ExportDeps,
  remaining: () => number,
  reserveMs: number,
): Promise<JobResult> {
  let job: ExportJob;
  try {
    job = parseExportJob(message.body);
  } catch (err) {
    const error = classifyExportError(err);
    deps.logger.error('export job message dropped: it is not an export job', { messageId: message.messageId, error: error.reason });
    deps.metrics.exportFailed();
    return { messageId: message.messageId, status: 'failed', error };
  }
  if (remaining() < reserveMs) {
    return { messageId: message.messageId, status: 'retry', job, notStarted: true };
  }
  // Where the version goes; on every line of its story, with the run and the ids (also through
  // the log context, into the lines of the iBinder client and the credentials loader).
  const context = {
    runId: job.runId,
    binderId: job.binderId,
    documentId: job.documentId,
    versionId: job.versionId,
    archiveKey: archiveKeyFor(job),
  };
  return runWithLogContext(context, () => exportOne(message, job, context, deps));
}

async function exportOne(message: ExportJobMessage, job: ExportJob, context: Record<string, string>, deps: ExportDeps): Promise<JobResult> {
  try {
    const outcome = await exportVersion(job, deps);
    if (outcome.foundInArchive) {
      deps.logger.info('version found complete in the archive, written by an earlier attempt that died before the ledger write; recorded without copying it again', {
        ...context,
        size: outcome.record.size,
        exportedByRunId: outcome.record.runId,
      });
    }
    if (outcome.status === 'exported') {
      // Also when found in the archive: the attempt that copied it died before counting it.
      deps.metrics.versionExported(outcome.record.size);
      if (!outcome.foundInArchive) deps.logger.info('version exported', { ...context, archiveKey: outcome.record.archiveKey, size: outcome.record.size });
    } else {
      deps.metrics.versionAlreadyExported();
      if (!outcome.foundInArchive) deps.logger.info('version already exported; nothing to do', { ...context, exportedByRunId: outcome.record.runId });
    }
    // Exported by this very run (a redelivery after the export): it counts as this run's export.
    const status = outcome.status === 'already-exported' && outcome.record.runId === job.runId ? 'exported' : outcome.status;
    return { messageId: message.messageId, status, job, record: outcome.record };
  } catch (err) {
    const error = err instanceof InvalidExportJobError ? { kind: 'permanent' as const, reason: err.message } : classifyExportError(err);
    if (error.kind === 'permanent') {
      deps.metrics.exportFailed();
      deps.logger.warn('version could not be exported; recorded as failed in the run manifest', { ...context, ...error });
      return { messageId: message.messageId, status: 'failed', job, error };
    }
    deps.logger.warn('version export failed transiently; handed back for retry', {
      ...context,
      ...error,
      receiveCount: message.receiveCount,
    });
    return { messageId: message.messageId, status: 'retry', job, error };
  }
}

/**
 * Takes the exported version out of its document's pending marker. A failure is only logged:
 * the marker then makes the next run list the document's versions once more, which finds
 * them exported and removes it.
 */
async function clearDocumentPending(job: ExportJob, deps: ExportDeps): Promise<void> {
  try {
    await deps.ledger.clearDocumentPending(job.documentId, job.versionId);
  } catch (err) {
    deps.logger.warn("could not take an exported version out of its document's pending marker; the next run lists the document's versions once more", {
      runId: job.runId,
      documentId: job.documentId,
      versionId: job.versionId,
      error: classifyExportError(err).reason,
    });
  }
}

function retryInstead(result: JobResult, err: unknown): void {
  result.status = 'retry';
  result.error = classifyExportError(err);
}

function manifestLineFor(result: JobResult, job: ExportJob, at: Date): VersionLineInput {
  const base = {
    type: 'version' as const,
    runId: job.runId,
    binderId: job.binderId,
    documentId: job.documentId,
    versionId: job.versionId,
    fileName: job.fileName,
    versionLabel: job.versionLabel,
    modifiedAt: job.modifiedAt,
    at: at.toISOString(),
  };
  const record = result.record;
  switch (result.status) {
    case 'exported':
      return {
        ...base,
        status: 'exported',
        archiveKey: record?.archiveKey,
        size: record?.size,
        sha256: record?.sha256,
        exportedAt: record?.exportedAt,
      };
    case 'already-exported':
      return {
        ...base,
        status: 'already-exported',
        archiveKey: record?.archiveKey,
        size: record?.size,
        sha256: record?.sha256,
        exportedAt: record?.exportedAt,
        exportedByRunId: record?.runId,
      };
    case 'failed':
    case 'retry':
      return {
        ...base,
        status: result.status === 'failed' ? 'failed' : 'retrying',
        reason: result.error?.reason,
        httpStatus: result.error?.httpStatus,
        traceId: result.error?.traceId,
      };
  }
}
