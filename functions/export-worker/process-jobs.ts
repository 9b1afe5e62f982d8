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
 * 2. the batch's final outcomes are settled in the run's counters, each once, in one call
 *    (`settleMany`), and an exported version the planner put in its document's pending marker
 *    is taken out of it (see shared/ledger/export-ledger.ts); a job without a marker costs no
 *    call there;
 * 3. a run whose last job this batch settled gets its manifest assembled, and so does a run
 *    finalized already whose late job this batch settled (rewritten with that job in it).
 */
import pLimit from 'p-limit';
import type { ExportDeps } from '../../shared/export/deps.js';
import { classifyExportError, type ClassifiedError } from '../../shared/export/errors.js';
import { InvalidExportJobError, parseExportJob, type ExportJob } from '../../shared/export/job.js';
import { type PartLineInput, type VersionLineInput, versionLineOfJob } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import { isRunSettled, type ExportRunState, type SettleStatus } from '../../shared/export/run-store.js';
import type { ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';
import { runWithLogContext } from '../../shared/observability/log-context.js';
import { exportVersion } from './export-version.js';
import { archiveKeyOfJob } from '../../shared/connectors/export-archiving.js';

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
  /** True when this attempt wrote the version's ledger record for the job's own run: it is counted so. */
  recordedNow?: boolean;
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

  /** Runs whose completion to check, with their state when a counter update returned it (no read needed). */
  const runsToCheck = new Map<string, ExportRunState | undefined>();
  for (const group of lines.values()) {
    const runId = group.run.runId;
    const final = group.results.filter((r): r is JobResult & { job: ExportJob } => r.status !== 'retry' && r.job !== undefined);
    // Versions this batch recorded in the ledger for their own run: the record itself happens once
    // per version (it is conditional on the claim), so they are counted by adding to the run's
    // counters, with no settle marker. This happens even when the manifest part below cannot be
    // written: the retried job then finds the version exported and only writes its line.
    const recorded = final.filter((r) => r.recordedNow === true);
    let partWritten = true;
    try {
      await deps.manifests.writePart(group.run, 'worker', group.lines, deps.clock());
    } catch (err) {
      partWritten = false;
      deps.logger.error('could not write the manifest part of a worker batch; its jobs are retried so their lines are recorded', {
        runId,
        error: classifyExportError(err).reason,
      });
      for (const result of group.results) {
        if (result.status !== 'retry') retryInstead(result, err);
      }
    }
    if (partWritten) {
      // A redelivered job of this run whose version an earlier attempt recorded (and counted):
      // its line may have been missing when the run was finalized, so the run is checked.
      if (final.some((r) => !r.recordedNow && r.record?.runId === runId && r.status === 'exported')) runsToCheck.set(runId, undefined);
      const others = final.filter((r) => !r.recordedNow && !(r.record?.runId === runId && r.status === 'exported'));
      if (others.length > 0) {
        try {
          // Failed, or exported by another run: a settle marker each, and the counters, in one call.
          const counted = await deps.runs.settleMany(
            runId,
            others.map((r) => ({ versionId: r.job.versionId, status: r.status as SettleStatus, bytes: 0 })),
            deps.clock(),
          );
          if (counted.size > 0) runsToCheck.set(runId, undefined);
        } catch (err) {
          deps.logger.warn('could not count the finished jobs of a batch in their run; the jobs are retried', {
            runId,
            versionIds: others.map((r) => r.job.versionId),
            error: classifyExportError(err).reason,
          });
          for (const result of others) retryInstead(result, err);
        }
      }
    }
    if (recorded.length > 0) {
      try {
        const bytes = recorded.reduce((sum, r) => sum + (r.record?.size ?? 0), 0);
        const run = await deps.runs.addExported(runId, recorded.length, bytes, deps.clock());
        if (run && partWritten) runsToCheck.set(runId, run);
      } catch (err) {
        // The versions are exported and recorded; only the run's count misses them, so the run
        // is not finalized by its last worker but by the next scheduled plan.
        deps.logger.error(
          "could not count exported versions in their run's counters; the run's manifest is written by the next scheduled plan",
          {
            runId,
            versionIds: recorded.map((r) => r.job.versionId),
            error: classifyExportError(err).reason,
          },
        );
      }
    }
    for (const result of final) {
      if (result.status === 'retry') continue;
      // Only a version the planner put in its document's pending marker has to be taken out of it.
      if ((result.status === 'exported' || result.status === 'already-exported') && result.job.inPendingMarker !== false) {
        await clearDocumentPending(result.job, deps);
      }
    }
  }

  for (const [runId, known] of runsToCheck) {
    try {
      const run = known ?? (await deps.runs.get(runId));
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

async function processOne(message: ExportJobMessage, deps: ExportDeps, remaining: () => number, reserveMs: number): Promise<JobResult> {
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
    connector: job.connector ?? 'ibinder',
    archiveKey: archiveKeyOfJob(job),
  };
  return runWithLogContext(context, () => exportOne(message, job, context, deps));
}

async function exportOne(message: ExportJobMessage, job: ExportJob, context: Record<string, string>, deps: ExportDeps): Promise<JobResult> {
  try {
    const outcome = await exportVersion(job, deps);
    if (outcome.foundInArchive) {
      deps.logger.info(
        'version found complete in the archive, written by an earlier attempt that died before the ledger write; recorded without copying it again',
        {
          ...context,
          size: outcome.record.size,
          exportedByRunId: outcome.record.runId,
        },
      );
    }
    if (outcome.status === 'exported') {
      // Also when found in the archive: the attempt that copied it died before counting it.
      deps.metrics.versionExported(outcome.record.size);
      if (!outcome.foundInArchive)
        deps.logger.info('version exported', { ...context, archiveKey: outcome.record.archiveKey, size: outcome.record.size });
    } else {
      deps.metrics.versionAlreadyExported();
      if (!outcome.foundInArchive)
        deps.logger.info('version already exported; nothing to do', { ...context, exportedByRunId: outcome.record.runId });
    }
    // Exported by this very run (a redelivery after the export): it counts as this run's export.
    const status = outcome.status === 'already-exported' && outcome.record.runId === job.runId ? 'exported' : outcome.status;
    return {
      messageId: message.messageId,
      status,
      job,
      record: outcome.record,
      recordedNow: outcome.status === 'exported' && outcome.recordedNow,
    };
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
    deps.logger.warn(
      "could not take an exported version out of its document's pending marker; the next run lists the document's versions once more",
      {
        runId: job.runId,
        documentId: job.documentId,
        versionId: job.versionId,
        error: classifyExportError(err).reason,
      },
    );
  }
}

function retryInstead(result: JobResult, err: unknown): void {
  result.status = 'retry';
  result.error = classifyExportError(err);
}

function manifestLineFor(result: JobResult, job: ExportJob, at: Date): VersionLineInput {
  const base = versionLineOfJob(job, at);
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
