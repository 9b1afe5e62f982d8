/**
 * `export`: an export run by hand, or a backfill from a date, in this process (the planner and
 * the worker's own code, `runExport`) against the environment's archive bucket and export
 * ledger. What the ledger says is exported is not exported again, so a run by hand beside the
 * nightly one exports nothing twice.
 */
import { runExport } from '../../functions/export-planner/run-export.js';
import { createExportDeps } from '../../shared/export/deps.js';
import { exportSettingsFrom } from '../../shared/export/settings.js';
import { IBinderSource } from '../../shared/source/ibinder-source.js';
import { collect, parsePositiveInteger, parseSince } from '../arguments.js';
import { requireKnownBinders } from '../binder-lookup.js';
import type { CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { createExportProgress, formatBytes, formatDuration } from '../export-progress.js';

interface ExportOptions {
  binder?: string[];
  since?: string;
  runId?: string;
  concurrency?: number;
}

export const registerExportCommand: CommandRegistration = (program, action) => {
  program
    .command('export')
    .description('run an export now (or a backfill with --since) into the archive bucket, with progress and a summary')
    .option('-b, --binder <id>', 'export this binder (repeatable; default: the environment\'s export binders, or all)', collect)
    .option('--since <date>', 'backfill: only versions modified at or after this date (2024-05-01 or an ISO 8601 time)', parseSince)
    .option('--run-id <id>', 'resume (or name) a run; default a new run id')
    .option('--concurrency <n>', 'versions copied at once (default 4)', parsePositiveInteger)
    .addHelpText(
      'after',
      `
Examples:
  ibinder-pipeline --env prod export --binder pR9bK3vXe
  ibinder-pipeline --env prod export --binder pR9bK3vXe --since 2024-01-01
The run writes its manifest to manifests/<date>/<runId>.jsonl in the archive bucket.
Exit code 1 when any version failed (the summary and the manifest list them).`,
    )
    .action(
      action(async (ctx, command) => {
        const options = command.opts<ExportOptions>();
        const client = ctx.ibinder();
        const binderIds = options.binder ? [...new Set(options.binder)] : undefined;
        if (binderIds) await requireKnownBinders(client, binderIds);
        const bucket = await ctx.resource('archiveBucket');
        const ledgerTableName = await ctx.resource('exportLedgerTable');
        const deps = createExportDeps({
          settings: exportSettingsFrom(ctx.pipelineConfig()),
          source: new IBinderSource(client),
          s3: ctx.s3(),
          bucket,
          dynamo: ctx.dynamo(),
          ledgerTableName,
          clock: ctx.now,
        });

        const startedAt = ctx.now().getTime();
        const progress = createExportProgress(ctx.io, { json: ctx.options.json, now: () => ctx.now().getTime() });
        ctx.output.note(
          `Exporting ${binderIds ? `binder(s) ${binderIds.join(', ')}` : 'the environment\'s binders'}${options.since ? ` (versions since ${options.since})` : ''} to s3://${bucket} ...`,
        );
        let summary;
        try {
          summary = await runExport(deps, {
            binderIds,
            since: options.since,
            runId: options.runId,
            concurrency: options.concurrency,
            onProgress: (p) => progress.update(p),
          });
        } finally {
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
            lines.push('  Failed versions are exported by the next run (nightly, or run this command again).');
          }
          return lines;
        });
        return summary.failed.length > 0 ? EXIT.failed : EXIT.ok;
      }),
    );
};
