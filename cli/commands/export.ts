/**
 * `export`: an export run by hand, or a backfill from a date, in this process or (`--remote`)
 * by the deployed pipeline. This module only declares the command; what it does is in
 * cli/export-run.ts, loaded when the command runs, so that `--help` does not load the AWS SDK.
 */
import { InvalidArgumentError } from 'commander';
import { RUN_ID_PATTERN } from '../../shared/export/run-id.js';
import { collect, parsePositiveInteger, parseSince } from '../arguments.js';
import type { CommandRegistration } from '../command.js';
import { UsageError } from '../errors.js';
import type { ExportOptions } from '../export-run.js';

export const registerExportCommand: CommandRegistration = (program, action) => {
  program
    .command('export')
    .description('run an export now (or a backfill with --since) into the archive bucket, with progress and a summary')
    .option('--connector <name>', 'export this connector: ibinder (default) or bynder', parseConnector)
    .option('-b, --binder <id>', "export this binder (repeatable; default: the environment's export binders, or all)", collect)
    .option(
      '--since <date>',
      'backfill: only versions modified at or after this date (2024-05-01 or an ISO 8601 time); Bynder: the change feed starts there instead of at its bookmark',
      parseSince,
    )
    .option('--run-id <id>', 'resume (or name) a run; with --remote, follow it if it exists; default a new run id', parseRunId)
    .option('--concurrency <n>', 'versions copied at once (default 4; not with --remote)', parsePositiveInteger)
    .option('--remote', 'let the deployed export planner and workers do the run, and follow its progress from the export ledger')
    .option('--dry-run', 'show what would run (binders, archive, run id) and start nothing')
    .addHelpText(
      'after',
      `
Examples:
  ibinder-pipeline --env prod export --binder pR9bK3vXe
  ibinder-pipeline --env prod export --binder pR9bK3vXe --since 2024-01-01
  ibinder-pipeline --env prod export --remote            # the deployed pipeline copies; this follows
  ibinder-pipeline --env prod export --connector bynder  # the Bynder portal's new asset versions
  ibinder-pipeline --env prod export --connector bynder --since 2026-11-01
The run id is printed first; Ctrl-C prints the command that resumes (or, with --remote, keeps
following) the run. The run writes its manifest to manifests/<date>/<runId>.jsonl in the
archive bucket. Exit code 1 when any version failed (the summary and the manifest list them).`,
    )
    .action(
      action(async (ctx, command) => {
        const options = command.opts<ExportOptions>();
        if (options.remote && options.concurrency !== undefined) {
          throw new UsageError(
            '--concurrency is for a run in this process',
            "leave it out with --remote: the deployed workers' concurrency is set by the stack",
          );
        }
        const { localExport, remoteExport } = await import('../export-run.js');
        return options.remote ? remoteExport(ctx, options) : localExport(ctx, options);
      }),
    );
};

function parseConnector(value: string): 'ibinder' | 'bynder' {
  if (value !== 'ibinder' && value !== 'bynder') throw new InvalidArgumentError('the connectors are ibinder and bynder');
  return value;
}

function parseRunId(value: string): string {
  if (!RUN_ID_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      'a run id has 1-100 letters, digits, ".", "_" or "-", as export prints it (e.g. 2026-11-22T02-00-00Z-3f9a1c)',
    );
  }
  return value;
}
