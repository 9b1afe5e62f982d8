/**
 * `status <bucket/key>`: what the ingest ledger says about an object: claimed (who holds the
 * lease until when), committed (document and version ids), or rejected (the reasons and where
 * the rejected copy is). Exit code 0 when an entry exists, 1 when the ledger has none.
 */
import { Argument } from 'commander';
import type { LedgerEntry } from '../../shared/ledger/types.js';
import { parseS3Location } from '../arguments.js';
import { argumentOf, type CommandRegistration } from '../command.js';
import { EXIT } from '../errors.js';
import { prefixLines } from '../output.js';
import { suggestedCommand } from '../suggested-command.js';

export const registerStatusCommand: CommandRegistration = (program, action) => {
  program
    .command('status')
    .description('show the ingest ledger entry of an object: claimed, committed (document and version ids) or rejected (reasons)')
    .addArgument(new Argument('<object>', 'the object as bucket/key or s3://bucket/key'))
    .option('--version-id <id>', 'the object version (default: every version the ledger knows of this key)')
    .action(
      action(async (ctx, command) => {
        const object = parseS3Location(argumentOf(command, 0));
        const { versionId } = command.opts<{ versionId?: string }>();
        const tableName = await ctx.resource('ledgerTable');
        // Loaded on use: the AWS SDK should not slow down `--help`.
        const [{ headObjectVersion }, { IngestLedger }, { findLedgerEntries }, { reportKeyFor }] = await Promise.all([
          import('../../functions/ingest/object-store.js'),
          import('../../shared/ledger/ingest-ledger.js'),
          import('../ledger-lookup.js'),
          import('../../functions/ingest/rejection.js'),
        ]);
        const ledger = new IngestLedger({ client: ctx.dynamo(), tableName, leaseSeconds: ctx.pipelineConfig().claimLeaseSeconds });
        const entries =
          versionId !== undefined
            ? [await ledger.get({ ...object, versionId })].filter((e): e is LedgerEntry => e !== undefined)
            : await findLedgerEntries(ctx.dynamo(), tableName, ledger, object);
        const inInbox =
          entries.length === 0 ? await headObjectVersion(ctx.s3(), { ...object, versionId }).catch(() => undefined) : undefined;
        const now = ctx.now().getTime();
        const label = `s3://${object.bucket}/${object.key}${versionId !== undefined ? ` (version ${versionId})` : ''}`;

        ctx.output.result(
          { object: { ...object, ...(versionId !== undefined ? { versionId } : {}) }, ledgerTable: tableName, entries },
          () => {
            if (entries.length === 0) {
              return [
                `${label}: the ingest ledger (${tableName}) has no entry for it.`,
                inInbox
                  ? `  The object is in the bucket (version ${inInbox.versionId ?? 'null'}, ${inInbox.size} bytes) but not processed yet: check the ingest queue and its dead-letter queue (redrive), or see what the ingest would say: ${suggestedCommand(ctx.options, ['check', `s3://${object.bucket}/${object.key}`])}`
                  : '  Check the bucket and key (case-sensitive); entries are kept 90 days.',
              ];
            }
            const reingestCommand = (rejectedKey: string): string =>
              suggestedCommand(ctx.options, ['reingest', `s3://${object.bucket}/${rejectedKey}`]);
            return entries.flatMap((entry, i) => [
              ...(i > 0 ? [''] : []),
              ...describeEntry(entry, object.bucket, now, reingestCommand, reportKeyFor),
            ]);
          },
        );
        return entries.length > 0 ? EXIT.ok : EXIT.failed;
      }),
    );
};

/** `reingestCommand` gives the pasteable command that sends a rejected copy through the ingest again. */
function describeEntry(
  entry: LedgerEntry,
  bucket: string,
  now: number,
  reingestCommand: (rejectedKey: string) => string,
  reportKeyFor: (rejectedKey: string) => string,
): string[] {
  const lines = [`s3://${entry.bucket}/${entry.objectKey}  version ${entry.objectVersionId}`];
  switch (entry.state) {
    case 'claimed': {
      const live = entry.leaseExpiresAt > now;
      lines.push(
        `  state     claimed (being ingested) by message ${entry.owner}, attempt ${entry.attempts}, since ${entry.claimedAt}`,
        `  lease     until ${new Date(entry.leaseExpiresAt).toISOString()} (${live ? 'live: another consumer waits for it' : 'expired: the next delivery takes it over'})`,
        `  upload    ${entry.uploadId ?? '(not started)'}${entry.uploadId !== undefined ? `, bytes ${entry.transferred ? 'transferred: a retry only commits' : 'not yet transferred'}` : ''}`,
      );
      break;
    }
    case 'committed':
      lines.push(
        `  state     committed at ${entry.committedAt}`,
        `  connector ${entry.connector}`,
        `  version   ${describeIds(entry.versionIds)}${entry.versionLabel !== undefined ? ` (label ${entry.versionLabel})` : ''}`,
      );
      if (entry.target !== undefined) lines.push(`  target    ${describeIds(entry.target)}`);
      break;
    case 'rejected':
      lines.push(`  state     rejected at ${entry.rejectedAt}: ${entry.reasons.length} problem(s)`);
      if (entry.rejectedKey !== undefined) {
        lines.push(`  copy      s3://${bucket}/${entry.rejectedKey} (report ${reportKeyFor(entry.rejectedKey)})`);
      }
      entry.reasons.forEach((p, i) => {
        lines.push(`  ${i + 1}. ${p.field}: ${p.message}`, prefixLines(`fix: ${p.fix}`, '     '));
      });
      if (entry.rejectedKey !== undefined) lines.push(`  After fixing: ${reingestCommand(entry.rejectedKey)}`);
      break;
    case 'superseded':
      lines.push(
        `  state     superseded at ${entry.supersededAt}: not committed, a newer upload of the key (sequencer ${entry.newerSequencer}) was committed first`,
        `  sequencer ${entry.sequencer}`,
      );
      break;
  }
  lines.push(`  updated   ${entry.updatedAt}`);
  return lines;
}

/** Ids in the system's terms, as one line: `documentId abc, versionId def`. */
function describeIds(ids: Record<string, string>): string {
  return Object.entries(ids)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
}
