/**
 * What `export` does (cli/commands/export.ts declares it): an export run by hand, or a
 * backfill from a date.
 *
 * By default in this process (the planner and the worker's own code, `runExport`) against
 * the environment's archive bucket and export ledger: every byte passes through the
 * operator's machine, which suits a small backfill or a local stack. With `--remote` the
 * deployed export planner does the run and the CLI follows its state in the export ledger
 * (remote-export.ts). Either way, what the ledger says is exported is not exported again, so
 * a run by hand beside the nightly one exports nothing twice.
 *
 * `--connector bynder` exports the environment's Bynder portal instead (its change feed from
 * the stored bookmark; `--since` moves the feed's start to that date), with the same ledger,
 * archive and manifest; a 429 block from Bynder pauses the run, and this waits it out.
 *
 * The run id is chosen here and printed first, so that whatever happens next (Ctrl-C, a lost
 * connection) the operator knows which run to resume or follow; Ctrl-C stops the progress bar
 * (the cursor comes back), hands back the planning lease and prints the command that goes on.
 */
import { randomUUID } from 'node:crypto';
import { runExport, type RunExportSummary } from '../functions/export-planner/run-export.js';
import { createExportDeps, exportLoggerFrom, type ExportDeps, type ExportLogger } from '../shared/export/deps.js';
import { manifestKeyFor } from '../shared/export/manifest.js';
import type { ExportLedger } from '../shared/ledger/export-ledger.js';
import { newRunId } from '../shared/export/run-id.js';
import { ExportRunStore, type ExportRunState } from '../shared/export/run-store.js';
import { exportSettingsFrom } from '../shared/export/settings.js';
import { logger } from '../shared/observability/logger.js';
import { IBinderSource } from '../shared/connectors/ibinder/index.js';
import { createBynderExportContext } from '../shared/connectors/bynder/index.js';
import { requireKnownBinders } from './binder-lookup.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError, type ExitCode } from './errors.js';
import { createExportProgress, formatBytes, formatDuration } from './export-progress.js';
import { startRemoteExport, watchExportRun, type WatchOutcome } from './remote-export.js';
import { suggestedCommand } from './suggested-command.js';

export interface ExportOptions {
  /** `ibinder` (default) or `bynder`. */
  connector?: 'ibinder' | 'bynder';
  binder?: string[];
  since?: string;
  runId?: string;
  concurrency?: number;
  remote?: boolean;
  dryRun?: boolean;
}

/** How often `--remote` reads the run's state. */
export const REMOTE_POLL_MS = 5_000;
/** How long a remote run may take to appear in the ledger before the CLI says it did not start. */
export const REMOTE_APPEAR_WITHIN_MS = 120_000;
/** How long a remote run may go without any progress (planning or settling) before the CLI stops watching. */
export const REMOTE_STALL_AFTER_MS = 15 * 60_000;

/**
 * Remembers the versions this process holds a claim on in the export ledger, so that Ctrl-C
 * can hand them back: without that, the versions in flight stay claimed until their lease runs
 * out, and the run the operator starts right after would find them held and fail them. They
 * are released as an earlier attempt (the lease ended, the item kept), because a version may
 * have been written to the archive in part; the next claim then looks there first. Claims
 * still on their way to DynamoDB when Ctrl-C comes are waited for, then released; once
 * stopped, no new claim is made (the version reads as held, and the process ends anyway).
 */
function trackClaims(ledger: ExportLedger): { releaseAll(): Promise<void> } {
  const held = new Map<string, string>();
  const pending = new Set<Promise<unknown>>();
  let stopped = false;
  const claim = ledger.claim.bind(ledger);
  ledger.claim = async (request) => {
    if (stopped) return { kind: 'held', leaseExpiresAt: request.now, runId: request.runId };
    const attempt = claim(request);
    pending.add(attempt);
    try {
      const outcome = await attempt;
      if (outcome.kind === 'claimed') held.set(request.versionId, request.owner);
      return outcome;
    } finally {
      pending.delete(attempt);
    }
  };
  // A claim ends in an export record or a release: forgotten then, so the map holds only what is in flight.
  const recordExported = ledger.recordExported.bind(ledger);
  ledger.recordExported = async (record) => {
    await recordExported(record);
    held.delete(record.versionId);
  };
  const releaseClaim = ledger.releaseClaim.bind(ledger);
  ledger.releaseClaim = async (versionId, owner, options) => {
    await releaseClaim(versionId, owner, options);
    if (held.get(versionId) === owner) held.delete(versionId);
  };
  return {
    async releaseAll() {
      stopped = true;
      await Promise.allSettled([...pending]);
      await Promise.all(
        [...held].map(([versionId, owner]) => releaseClaim(versionId, owner, { keepAsEarlierAttempt: true }).catch(() => undefined)),
      );
    },
  };
}

/** The export's logger, silent once the run was interrupted (what fails while it stops is no news). */
function silencedAfter(interrupted: () => boolean, inner: ExportLogger): ExportLogger {
  const forward =
    (level: keyof ExportLogger) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      if (!interrupted()) inner[level](message, attributes);
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}

/** The words of this export command again (binders, since), for a suggested command line. */
function exportWords(options: ExportOptions, extra: readonly string[]): string[] {
  const words = ['export'];
  if (options.connector === 'bynder') words.push('--connector', 'bynder');
  for (const binder of options.binder ?? []) words.push('--binder', binder);
  if (options.since !== undefined) words.push('--since', options.since);
  if (options.concurrency !== undefined) words.push('--concurrency', String(options.concurrency));
  return [...words, ...extra];
}

function binderText(binderIds: readonly string[] | undefined): string {
  return binderIds ? `binder(s) ${binderIds.join(', ')}` : "the environment's binders";
}

export async function localExport(ctx: CliContext, options: ExportOptions): Promise<ExitCode> {
  if (options.connector === 'bynder') return localBynderExport(ctx, options);
  const client = ctx.ibinder();
  const binderIds = options.binder ? [...new Set(options.binder)] : undefined;
  if (binderIds) await requireKnownBinders(client, binderIds);
  const bucket = await ctx.resource('archiveBucket');
  const ledgerTableName = await ctx.resource('exportLedgerTable');
  const runId = options.runId ?? newRunId(ctx.now());
  const scope = `${binderText(binderIds)}${options.since ? ` (versions since ${options.since})` : ''}`;

  if (options.dryRun) {
    ctx.output.result(
      { dryRun: true, runId, binderIds: binderIds ?? null, since: options.since ?? null, bucket, ledgerTable: ledgerTableName },
      () => [
        `Dry run: nothing was started. Without --dry-run this would export ${scope} in this process`,
        `  as run ${runId}, into s3://${bucket}, skipping what the export ledger ${ledgerTableName} lists as exported.`,
      ],
    );
    return EXIT.ok;
  }

  let owner: string | undefined;
  let interrupted = false;
  const deps: ExportDeps = createExportDeps({
    settings: exportSettingsFrom(ctx.pipelineConfig()),
    source: new IBinderSource(client),
    s3: ctx.s3(),
    bucket,
    dynamo: ctx.dynamo(),
    ledgerTableName,
    clock: ctx.now,
    // Through the shared logger, so that the export's warnings reach the screen as the CLI routes them.
    logger: silencedAfter(() => interrupted, exportLoggerFrom(logger)),
    // Remembered so that Ctrl-C can hand the planning lease back (a resume then need not wait for it to expire).
    newOwnerId: () => (owner = randomUUID()),
  });

  const claims = trackClaims(deps.ledger);

  const startedAt = ctx.now().getTime();
  const progress = createExportProgress(ctx.io, ctx.output, { json: ctx.options.json, now: () => ctx.now().getTime() });
  let phase: 'planning' | 'copying' = 'planning';
  let latest = { done: 0, total: 0 };
  ctx.output.note(`Export run ${runId}: exporting ${scope} to s3://${bucket} ...`);
  const unregister = ctx.io.onInterrupt?.(async () => {
    interrupted = true;
    progress.stop();
    if (phase === 'planning') {
      if (owner !== undefined) await deps.runs.releasePlanningLease(runId, owner).catch(() => undefined);
      ctx.output.stderrLine(`Interrupted: export run ${runId} stopped while planning.`);
      ctx.output.stderrLine(`Resume it with: ${suggestedCommand(ctx.options, ['export', '--run-id', runId])}`);
    } else {
      await claims.releaseAll();
      ctx.output.stderrLine(`Interrupted: export run ${runId} stopped after ${latest.done} of ${latest.total} version(s).`);
      ctx.output.stderrLine(
        'The versions not copied yet are not in the export ledger (the ones in flight were handed back), so the next run exports them.',
      );
      ctx.output.stderrLine(`Go on now with: ${suggestedCommand(ctx.options, exportWords(options, []))}`);
      ctx.output.stderrLine(
        `Write run ${runId}'s manifest (what it did export) with: ${suggestedCommand(ctx.options, ['export', '--run-id', runId])}`,
      );
    }
  });
  let summary: RunExportSummary;
  try {
    summary = await runExport(deps, {
      binderIds,
      since: options.since,
      runId,
      concurrency: options.concurrency,
      onProgress: (p) => {
        phase = 'copying';
        latest = p;
        progress.update(p);
      },
    });
  } finally {
    unregister?.();
    progress.stop();
  }
  const durationMs = ctx.now().getTime() - startedAt;

  ctx.output.result({ ...summary, bucket, durationMs, manifest: `s3://${bucket}/${summary.manifestKey}` }, () => {
    const rate = durationMs > 0 ? ` (${formatBytes((summary.bytes * 1000) / durationMs)}/s)` : '';
    const lines = [
      `Export run ${summary.runId} ${summary.failed.length === 0 ? 'finished' : 'finished with failures'} in ${formatDuration(durationMs)}`,
      `  documents seen     ${summary.documentsSeen} (${summary.skippedUnchanged} unchanged, skipped without further calls)`,
      `  versions exported  ${summary.versionsExported} of ${summary.versionsEnqueued} planned${summary.alreadyExported > 0 ? ` (${summary.alreadyExported} already exported)` : ''}`,
      `  bytes              ${formatBytes(summary.bytes)}${rate}`,
      `  manifest           s3://${bucket}/${summary.manifestKey}`,
    ];
    if (summary.failed.length > 0) {
      lines.push(`  failed             ${summary.failed.length} version(s):`);
      for (const f of summary.failed) {
        lines.push(`    ${f.binderId}/${f.documentId}/${f.versionId} ${f.fileName}: ${f.kind}: ${f.reason}`);
      }
      lines.push(
        `  Failed versions are exported by the next run (nightly, or: ${suggestedCommand(ctx.options, exportWords(options, []))}).`,
      );
    }
    return lines;
  });
  return summary.failed.length > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * `export --connector bynder` in this process: the portal's change feed (from the stored
 * bookmark, or `--since`), the new versions into the archive, progress and a summary.
 */
async function localBynderExport(ctx: CliContext, options: ExportOptions): Promise<ExitCode> {
  if (options.binder !== undefined) {
    throw new UsageError(
      '--binder is for iBinder',
      "leave it out with --connector bynder: the portal's export brands come from the environment's bynder.exportBrands",
    );
  }
  const settings = ctx.bynderSettings();
  const bucket = await ctx.resource('archiveBucket');
  const ledgerTableName = await ctx.resource('exportLedgerTable');
  const runId = options.runId ?? newRunId(ctx.now());
  const scope = `Bynder portal ${settings.portalUrl}${options.since ? ` (assets modified since ${options.since})` : ' (changes since the last run)'}`;
  if (options.dryRun) {
    ctx.output.result(
      {
        dryRun: true,
        connector: 'bynder',
        runId,
        portalUrl: settings.portalUrl,
        since: options.since ?? null,
        bucket,
        ledgerTable: ledgerTableName,
      },
      () => [
        `Dry run: nothing was started. Without --dry-run this would export ${scope} in this process`,
        `  as run ${runId}, into s3://${bucket}, skipping what the export ledger ${ledgerTableName} lists as exported.`,
      ],
    );
    return EXIT.ok;
  }
  const deps: ExportDeps = createExportDeps({
    settings: exportSettingsFrom(ctx.pipelineConfig()),
    source: new IBinderSource(ctx.ibinder()),
    bynder: createBynderExportContext({ client: await ctx.bynderClient(), config: settings }),
    s3: ctx.s3(),
    bucket,
    dynamo: ctx.dynamo(),
    ledgerTableName,
    clock: ctx.now,
    logger: exportLoggerFrom(logger),
  });
  const startedAt = ctx.now().getTime();
  const progress = createExportProgress(ctx.io, ctx.output, { json: ctx.options.json, now: () => ctx.now().getTime() });
  ctx.output.note(`Export run ${runId}: exporting ${scope} to s3://${bucket} ...`);
  let summary: RunExportSummary;
  try {
    summary = await runExport(deps, {
      connector: 'bynder',
      since: options.since,
      runId,
      concurrency: options.concurrency,
      waitFor: (ms) => ctx.sleep(ms),
      onPause: (ms, during) =>
        ctx.output.note(
          `Bynder blocked the integration (429) while ${during === 'planning' ? 'planning' : 'copying'}; waiting ${formatDuration(ms)} before going on (the cursor is saved).`,
        ),
      onProgress: (p) => progress.update(p),
    });
  } finally {
    progress.stop();
  }
  const durationMs = ctx.now().getTime() - startedAt;
  ctx.output.result({ ...summary, bucket, durationMs, manifest: `s3://${bucket}/${summary.manifestKey}` }, () => {
    const lines = [
      `Export run ${summary.runId} (Bynder) ${summary.failed.length === 0 ? 'finished' : 'finished with failures'} in ${formatDuration(durationMs)}`,
      `  assets changed     ${summary.documentsSeen} (${summary.skippedUnchanged} without a new version; ${summary.listCalls ?? 0} list call(s))`,
      `  versions exported  ${summary.versionsExported} of ${summary.versionsEnqueued} planned${summary.alreadyExported > 0 ? ` (${summary.alreadyExported} already exported)` : ''}`,
      `  deleted assets     ${summary.deletedAssets} (recorded in the manifest; nothing removed from the archive)`,
      `  bytes              ${formatBytes(summary.bytes)}`,
      `  manifest           s3://${bucket}/${summary.manifestKey}`,
    ];
    if (summary.pauses > 0) lines.push(`  paused             ${summary.pauses} time(s) for a 429 block`);
    if (summary.failed.length > 0) {
      lines.push(`  failed             ${summary.failed.length} version(s):`);
      for (const f of summary.failed) lines.push(`    ${f.binderId}/${f.documentId}/${f.versionId} ${f.fileName}: ${f.kind}: ${f.reason}`);
      lines.push(
        `  Their assets are planned again by the next run (nightly, or: ${suggestedCommand(ctx.options, exportWords(options, []))}).`,
      );
    }
    return lines;
  });
  return summary.failed.length > 0 ? EXIT.failed : EXIT.ok;
}

export async function remoteExport(ctx: CliContext, options: ExportOptions): Promise<ExitCode> {
  if (options.connector === 'bynder' && options.binder !== undefined) {
    throw new UsageError(
      '--binder is for iBinder',
      "leave it out with --connector bynder: the portal's export brands come from the environment's bynder.exportBrands",
    );
  }
  const binderIds = options.binder ? [...new Set(options.binder)] : undefined;
  const planner = await ctx.resource('exportPlanner');
  const ledgerTableName = await ctx.resource('exportLedgerTable');
  const bucket = await ctx.resource('archiveBucket');
  const runs = new ExportRunStore(ctx.dynamo(), ledgerTableName);
  const runId = options.runId ?? newRunId(ctx.now());
  const existing = options.runId !== undefined ? await runs.get(options.runId) : undefined;
  const followCommand = suggestedCommand(ctx.options, ['export', '--remote', '--run-id', runId]);
  const event = {
    source: 'manual' as const,
    ...(options.connector !== undefined ? { connector: options.connector } : {}),
    ...(binderIds ? { binderIds } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
    runId,
  };

  if (options.dryRun) {
    ctx.output.result(
      {
        dryRun: true,
        runId,
        exportPlanner: planner,
        event: existing ? null : event,
        existingRun: existing?.state ?? null,
        ledgerTable: ledgerTableName,
      },
      () =>
        existing
          ? [`Dry run: run ${runId} exists (${existing.state}); without --dry-run this would follow it, starting nothing.`]
          : [
              `Dry run: nothing was started. Without --dry-run this would start the deployed export planner ${planner}`,
              `  with ${JSON.stringify(event)}`,
              `  and follow run ${runId} in the export ledger ${ledgerTableName}.`,
            ],
    );
    return EXIT.ok;
  }

  if (existing) {
    ctx.output.note(`Export run ${runId} exists (${existing.state}): following it.`);
  } else {
    await startRemoteExport(ctx.lambda(), planner, event);
    ctx.output.note(
      `Export run ${runId}: started on the deployed export planner (${binderText(binderIds)}${options.since ? `, versions since ${options.since}` : ''}).`,
    );
  }
  ctx.output.note('Ctrl-C stops following; the run goes on in AWS.');

  const progress = createExportProgress(ctx.io, ctx.output, { json: ctx.options.json, now: () => ctx.now().getTime() });
  let stopped = false;
  let planningNoted = false;
  const unregister = ctx.io.onInterrupt?.(() => {
    stopped = true;
    progress.stop();
    ctx.output.stderrLine(`Stopped following export run ${runId}; it goes on in AWS.`);
    ctx.output.stderrLine(`Follow it again with: ${followCommand}`);
  });
  let outcome: WatchOutcome;
  try {
    outcome = await watchExportRun(runs, runId, {
      pollMs: REMOTE_POLL_MS,
      appearWithinMs: REMOTE_APPEAR_WITHIN_MS,
      stallAfterMs: REMOTE_STALL_AFTER_MS,
      now: () => ctx.now().getTime(),
      sleep: ctx.sleep,
      stopped: () => stopped,
      onState: (run) => {
        if (run.state === 'planning' && !planningNoted) {
          planningNoted = true;
          ctx.output.note(
            run.connector === 'bynder'
              ? "Planning: reading the Bynder portal's changes; the bar grows as versions are planned."
              : `Planning: ${run.binderIds.length} binder(s); the bar grows as versions are planned.`,
          );
        }
        progress.update({ done: run.settled, total: run.versionsEnqueued, bytes: run.bytes });
      },
    });
  } finally {
    unregister?.();
    progress.stop();
  }

  switch (outcome.kind) {
    case 'missing':
      throw new UsageError(
        `export run ${runId} did not appear in the export ledger ${ledgerTableName} within ${formatDuration(REMOTE_APPEAR_WITHIN_MS)} of starting the deployed export planner ${planner}`,
        'the planner did not start the run: look at its log group in CloudWatch and at the stack output PlannerDeadLetterQueueUrl, ' +
          `then try again (${followCommand} follows the run if it appears later)`,
      );
    case 'stopped':
      return EXIT.failed;
    case 'stalled':
      ctx.output.result({ ...remoteSummary(outcome.run, bucket), stalled: true }, () =>
        outcome.run.state === 'planning'
          ? [
              ...describeRemoteRun(outcome.run, bucket),
              `  Planning has not moved for ${formatDuration(REMOTE_STALL_AFTER_MS)}: no planner carries it on (a failed start is in the planner's dead-letter queue, stack output PlannerDeadLetterQueueUrl).`,
              `  Resume it in this process with: ${suggestedCommand(ctx.options, ['export', '--run-id', runId])}`,
            ]
          : [
              ...describeRemoteRun(outcome.run, bucket),
              `  ${outcome.run.versionsEnqueued - outcome.run.settled} version(s) have not finished for ${formatDuration(REMOTE_STALL_AFTER_MS)}: they are probably in the export dead-letter queue.`,
              `  Fix the cause, then: ${suggestedCommand(ctx.options, ['redrive', '--export'])}`,
              `  and follow the run again with: ${followCommand}`,
            ],
      );
      return EXIT.failed;
    case 'finalized': {
      const run = outcome.run;
      ctx.output.result(remoteSummary(run, bucket), () => describeRemoteRun(run, bucket));
      return run.failed > 0 || run.binderErrors > 0 || run.documentErrors > 0 ? EXIT.failed : EXIT.ok;
    }
  }
}

function remoteSummary(run: ExportRunState, bucket: string): Record<string, unknown> {
  return {
    runId: run.runId,
    state: run.state,
    binderIds: run.binderIds,
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    versionsEnqueued: run.versionsEnqueued,
    versionsExported: run.exported,
    alreadyExported: run.alreadyExported,
    failed: run.failed,
    binderErrors: run.binderErrors,
    documentErrors: run.documentErrors,
    bytes: run.bytes,
    manifest: `s3://${bucket}/${manifestKeyFor(run.runId, run.startedAt)}`,
  };
}

function describeRemoteRun(run: ExportRunState, bucket: string): string[] {
  const ok = run.failed === 0 && run.binderErrors === 0 && run.documentErrors === 0;
  const lines = [
    `Export run ${run.runId} ${run.state === 'finalized' ? (ok ? 'finished' : 'finished with failures') : `is ${run.state}`} (deployed pipeline${run.connector === 'bynder' ? ', Bynder' : ''})`,
    run.connector === 'bynder'
      ? `  assets changed     ${run.documentsSeen} (${run.skippedUnchanged} without a new version; ${run.deletedAssets ?? 0} deleted, recorded in the manifest)`
      : `  documents seen     ${run.documentsSeen} (${run.skippedUnchanged} unchanged, skipped without further calls)`,
    `  versions exported  ${run.exported} of ${run.versionsEnqueued} planned${run.alreadyExported > 0 ? ` (${run.alreadyExported} already exported)` : ''}`,
    `  bytes              ${formatBytes(run.bytes)}`,
  ];
  if (run.failed > 0) lines.push(`  failed             ${run.failed} version(s); the manifest lists them, and the next run exports them`);
  if (run.binderErrors > 0 || run.documentErrors > 0) {
    lines.push(`  not readable       ${run.binderErrors} binder(s), ${run.documentErrors} document(s); the manifest says why`);
  }
  if (run.state === 'finalized') lines.push(`  manifest           s3://${bucket}/${manifestKeyFor(run.runId, run.startedAt)}`);
  return lines;
}
