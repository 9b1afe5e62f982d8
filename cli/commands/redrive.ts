/**
 * `redrive`: after the cause of failures is fixed, move the messages of a dead-letter queue
 * back to its queue. Counts first, asks before moving (or takes --yes), then reports how many
 * moved. Defaults to the ingest pair of the environment's stack; --export for the export pair.
 */
import { parsePositiveInteger } from '../arguments.js';
import type { CommandRegistration } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { confirm } from '../io.js';

interface RedriveOptions {
  from?: string;
  to?: string;
  export?: boolean;
  yes?: boolean;
  max?: number;
  dryRun?: boolean;
}

export const registerRedriveCommand: CommandRegistration = (program, action) => {
  program
    .command('redrive')
    .description('move messages from a dead-letter queue back to its queue (ingest by default), after a count and a confirmation')
    .option('--from <queueUrl>', 'the dead-letter queue (default: stack output IngestDeadLetterQueueUrl)')
    .option('--to <queueUrl>', 'the queue to move them to (default: stack output IngestQueueUrl)')
    .option('--export', 'the export pair instead: ExportDeadLetterQueueUrl -> ExportQueueUrl')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--max <n>', 'move at most this many messages (default: all counted at the start)', parsePositiveInteger)
    .option('--dry-run', 'count and show what would be moved, and move nothing')
    .addHelpText(
      'after',
      `
Fix the cause first (the alarm and the pipeline's logs tell which): a message moved back before
that fails again and returns to the dead-letter queue after the queue's maximum receive count.`,
    )
    .action(
      action(async (ctx, command) => {
        const options = command.opts<RedriveOptions>();
        const from = options.from ?? (await ctx.resource(options.export ? 'exportDlqUrl' : 'ingestDlqUrl'));
        const to = options.to ?? (await ctx.resource(options.export ? 'exportQueueUrl' : 'ingestQueueUrl'));
        if (from === to)
          throw new UsageError('--from and --to name the same queue', 'give the dead-letter queue as --from and its queue as --to');
        const sqs = ctx.sqs();
        const { countMessages, moveMessages } = await import('../queue-redrive.js');

        const count = await countMessages(sqs, from);
        const limit = Math.min(options.max ?? count.visible, count.visible);
        const base = { from, to, counted: count.visible, inFlight: count.inFlight };
        if (limit === 0) {
          ctx.output.result({ ...base, moved: 0, failures: [] }, () => [
            `Nothing to redrive: ${from} has no waiting messages${count.inFlight > 0 ? ` (${count.inFlight} in flight: received by someone and not yet deleted; try again in a minute)` : ''}.`,
          ]);
          return EXIT.ok;
        }

        if (options.dryRun) {
          ctx.output.result({ ...base, dryRun: true, wouldMove: limit, moved: 0, failures: [] }, () => [
            `Dry run: would move ${limit} of about ${count.visible} message(s) from ${from} to ${to}${count.inFlight > 0 ? ` (${count.inFlight} more in flight)` : ''}. Nothing was moved.`,
          ]);
          return EXIT.ok;
        }

        if (!options.yes) {
          if (!ctx.io.stdin.isTTY) {
            throw new UsageError(
              `refusing to move ${limit} message(s) without a confirmation, and there is no terminal to ask on`,
              'pass --yes to confirm on the command line',
            );
          }
          const question = `Move ${limit} of about ${count.visible} message(s) from ${from} to ${to}?`;
          if (!(await confirm(ctx.io, question))) {
            ctx.output.result({ ...base, moved: 0, failures: [], cancelled: true }, () => ['Cancelled: nothing was moved.']);
            return EXIT.failed;
          }
        }

        const result = await moveMessages(sqs, { from, to, limit });
        ctx.output.result({ ...base, ...result }, () => {
          const lines = [`Moved ${result.moved} message(s) from ${from} to ${to}.`];
          for (const f of result.failures) {
            lines.push(
              f.step === 'send'
                ? `  not moved: ${f.messageId} (${f.reason}); it stays in the dead-letter queue`
                : `  ${f.messageId} was sent but could not be deleted from the dead-letter queue (${f.reason}); it is in both queues, which is harmless`,
            );
          }
          if (result.moved < limit && result.failures.length === 0) {
            lines.push(
              `  ${limit - result.moved} counted message(s) were not received (taken by another consumer, or the count was approximate).`,
            );
          }
          return lines;
        });
        return result.failures.some((f) => f.step === 'send') ? EXIT.failed : EXIT.ok;
      }),
    );
};
