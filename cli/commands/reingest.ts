/**
 * `reingest <rejected key>`: after a person fixed what the rejection report says, send the
 * rejected object through the ingest again. Optionally sets tags first (`--tag`), checks that
 * the ingest would now accept it (the same check as `check`; `--skip-check` to go anyway),
 * copies `rejected/<key>` back to `inbox/<key>` with its tags (the copy's ObjectCreated event
 * starts the ingest), and only after the copy succeeded deletes the rejected object and its
 * `.error.json` report.
 */
import { Argument } from 'commander';
import { isS3Url, parseS3Location, parseTagOption } from '../arguments.js';
import { argumentOf, type CommandRegistration } from '../command.js';
import type { ObjectCheckResult } from '../object-check.js';
import { EXIT, UsageError } from '../errors.js';
import { prefixLines } from '../output.js';
import { suggestedCommand } from '../suggested-command.js';
import { applyTagChanges, type TagChange } from '../tag-changes.js';

interface ReingestOptions {
  tag?: TagChange[];
  skipCheck?: boolean;
  dryRun?: boolean;
}

export const registerReingestCommand: CommandRegistration = (program, action) => {
  program
    .command('reingest')
    .description('copy a rejected object back to the inbox (after its tags were fixed) and remove the rejected copy and its report')
    .addArgument(new Argument('<rejectedKey>', 'rejected/<key>, <key>, or s3://bucket/rejected/<key>'))
    .option('-t, --tag <key=value>', 'set this tag on the object first (repeatable); key= removes a tag', parseTagOption)
    .option('--skip-check', 'copy even if the check says the ingest would reject it again')
    .option('--dry-run', 'check and show what would be tagged, copied and deleted, and change nothing')
    .addHelpText(
      'after',
      `
The bucket is the environment's inbox bucket (stack output InboxBucketName), --inbox-bucket, or
the one in an s3:// argument. Example:
  ibinder-pipeline --env prod reingest rejected/scanner-1/scan-0042.pdf --tag ibinder:meta:discipline=ARC
  ibinder-pipeline --env prod reingest rejected/marketing/facade.jpg --tag bynder:meta:region=Nordics
The check asks the file's connector (iBinder or Bynder), chosen as the ingest chooses it.`,
    )
    .action(
      action(async (ctx, command) => {
        // Loaded on use: the AWS SDK and the ingest's checks should not slow down `--help`.
        const [
          { DeleteObjectCommand, PutObjectTaggingCommand },
          { copyObjectVersion, getObjectTags, headObjectVersion },
          { checkS3TagSet },
          { checkObject },
          { renderObjectCheck },
          { resolveRejectedObjectKeys, s3RejectionReportReader },
        ] = await Promise.all([
          import('@aws-sdk/client-s3'),
          import('../../functions/ingest/object-store.js'),
          import('../../shared/s3/tags.js'),
          import('../object-check.js'),
          import('../render-check.js'),
          import('../rejected-keys.js'),
        ]);
        const text = argumentOf(command, 0);
        const options = command.opts<ReingestOptions>();
        const changes = options.tag ?? [];
        const config = ctx.pipelineConfig();
        const location = isS3Url(text)
          ? parseS3Location(text, 'rejected object')
          : { bucket: await ctx.resource('inboxBucket'), key: text };
        const bucket = location.bucket;
        const s3 = ctx.s3();
        const keys = await resolveRejectedObjectKeys(location.key.replace(/^\/+/, ''), config, s3RejectionReportReader(s3, bucket));
        const source = { bucket, key: keys.rejectedKey };

        const head = await headObjectVersion(s3, source);
        if (!head) {
          throw new UsageError(
            `there is no rejected object at s3://${bucket}/${keys.rejectedKey}`,
            `check the key (case-sensitive); the status command shows where a rejected object was copied, and rejected objects expire after the environment's rejectedExpirationDays`,
          );
        }
        const tags = applyTagChanges(await getObjectTags(s3, source), changes);
        const s3Problems = checkS3TagSet(tags);
        if (s3Problems.length > 0) {
          throw new UsageError(
            `S3 would refuse these tags:\n${s3Problems.map((p) => prefixLines(`${p.field}: ${p.message} (fix: ${p.fix})`, '  ')).join('\n')}`,
            'change the --tag options',
          );
        }

        let check: ObjectCheckResult | undefined;
        if (!options.skipCheck) {
          check = await checkObject(
            {
              key: keys.inboxKey,
              tags,
              sizeBytes: head.size,
              lastModified: head.lastModified,
              config,
              now: ctx.now(),
              tagsNotYetWritten: changes.length > 0,
            },
            { ibinder: () => ctx.ibinder(), bynder: () => ctx.bynder() },
          );
          if (!check.accepted) {
            ctx.output.result({ bucket, ...keys, reingested: false, tags, check }, () => [
              ...renderObjectCheck(check as ObjectCheckResult, `s3://${bucket}/${keys.rejectedKey}`),
              '',
              `Not reingested: the ingest would reject it again. Fix the problems (--tag key=value), or pass --skip-check.`,
            ]);
            return EXIT.failed;
          }
        }

        if (options.dryRun) {
          const plan = {
            ...(changes.length > 0 ? { tagRejectedObject: `s3://${bucket}/${keys.rejectedKey}` } : {}),
            copy: { from: `s3://${bucket}/${keys.rejectedKey}`, to: `s3://${bucket}/${keys.inboxKey}` },
            delete: [`s3://${bucket}/${keys.rejectedKey}`, `s3://${bucket}/${keys.reportKey}`],
          };
          ctx.output.result({ bucket, ...keys, dryRun: true, reingested: false, tags, wouldDo: plan, ...(check ? { check } : {}) }, () => [
            `Dry run: nothing was changed. Without --dry-run this would:`,
            ...(changes.length > 0
              ? [`  set the tags on s3://${bucket}/${keys.rejectedKey}: ${tags.map((t) => `${t.Key}=${t.Value}`).join(', ')}`]
              : []),
            `  copy s3://${bucket}/${keys.rejectedKey} to s3://${bucket}/${keys.inboxKey}${check ? ' (the check accepts it)' : ' (check skipped)'}`,
            `  delete the rejected copy and its report (${keys.reportKey})`,
          ]);
          return EXIT.ok;
        }

        // The fix goes on the rejected object first, so that it survives a failed copy.
        if (changes.length > 0) {
          await s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: keys.rejectedKey, Tagging: { TagSet: tags } }));
        }
        await copyObjectVersion(s3, {
          source,
          destinationKey: keys.inboxKey,
          size: head.size,
          tags,
          contentType: head.contentType,
          metadata: head.metadata,
        });
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys.rejectedKey }));
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys.reportKey }));

        ctx.output.result({ bucket, ...keys, reingested: true, tags, ...(check ? { check } : {}) }, () => [
          `Copied s3://${bucket}/${keys.rejectedKey} back to s3://${bucket}/${keys.inboxKey}${changes.length > 0 ? ' with the new tags' : ' with its tags'}; the ingest picks it up from there.`,
          `Deleted the rejected copy and its report (${keys.reportKey}).`,
          `Follow it with: ${suggestedCommand(ctx.options, ['status', `${bucket}/${keys.inboxKey}`])}`,
        ]);
        return EXIT.ok;
      }),
    );
};
