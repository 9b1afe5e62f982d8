/**
 * `check`: would the ingest accept this file, and if not, exactly why (every problem with its
 * fix)? For an S3 object, or a local file with the tags it would carry. Uploads nothing.
 * Exit code 0 accepted, 1 rejected, 2 usage or configuration error.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Argument } from 'commander';
import type { S3Tag } from '../../shared/s3/tags.js';
import { isS3Url, parseS3Location, parseTagOption } from '../arguments.js';
import { argumentOf, type CommandRegistration } from '../command.js';
import type { CliContext } from '../context.js';
import { EXIT, UsageError } from '../errors.js';
import { checkObject } from '../object-check.js';
import { renderObjectCheck } from '../render-check.js';
import { applyTagChanges, type TagChange } from '../tag-changes.js';

interface CheckOptions {
  tag?: TagChange[];
  key?: string;
  versionId?: string;
}

/** The file under test, wherever it is. */
interface Subject {
  /** How it is shown: s3://bucket/key or the local path. */
  label: string;
  object: { bucket: string; key: string; versionId?: string | undefined } | { path: string };
  /** The inbox key it is judged under (routing rules match it). */
  key: string;
  tags: S3Tag[];
  sizeBytes: number;
  lastModified?: Date | undefined;
  tagsNotYetWritten: boolean;
  notes: string[];
}

export const registerCheckCommand: CommandRegistration = (program, action) => {
  program
    .command('check')
    .description('say whether the ingest would accept a file, and every reason why not (uploads nothing)')
    .addArgument(new Argument('<object>', 'an S3 object (s3://bucket/key) or a local file'))
    .option(
      '-t, --tag <key=value>',
      'a tag the file would carry (repeatable); on an S3 object it replaces that tag, key= removes it',
      parseTagOption,
    )
    .option('--key <key>', 'the inbox key a local file would be uploaded to (default inbox/<file name>)')
    .option('--version-id <id>', 'the S3 object version to check (default the current one)')
    .addHelpText(
      'after',
      `
Examples:
  ibinder-pipeline --env dev check s3://my-inbox/inbox/scanner-3/scan-0042.pdf
  ibinder-pipeline --env dev check ./A-101.pdf --tag ibinder:binder=PRJ0001AB \\
      --tag "ibinder:folder-path=01 Architecture/Drawings" --tag ibinder:meta:discipline=ARC
  ibinder-pipeline --env dev check ./facade.jpg --tag "bynder:brand=Harbour Living" \\
      --tag bynder:meta:region=Nordics --tag "bynder:meta:colours=Red+Blue"
The file's connector is chosen as the ingest chooses it: its tags' namespace (ibinder:, bynder:),
then the longest routing prefix, then the default target.
A rejected object (s3://bucket/rejected/...) is judged as if it were back under inbox/.
Exit code: 0 accepted, 1 rejected, 2 usage or configuration error.`,
    )
    .action(
      action(async (ctx, command) => {
        const options = command.opts<CheckOptions>();
        const subject = await readSubject(ctx, argumentOf(command, 0), options);
        const config = ctx.pipelineConfig();
        const result = await checkObject(
          {
            key: subject.key,
            tags: subject.tags,
            sizeBytes: subject.sizeBytes,
            lastModified: subject.lastModified,
            config,
            now: ctx.now(),
            tagsNotYetWritten: subject.tagsNotYetWritten,
          },
          { ibinder: () => ctx.ibinder(), bynder: () => ctx.bynder() },
        );
        result.notes.unshift(...subject.notes);
        if (!ctx.environment) {
          result.notes.push('no environment chosen (--env): routing rules and the default target were not applied');
        }
        const knownBinders =
          result.connector === 'ibinder' && result.ibinder?.status === 404
            ? await ctx
                .ibinder()
                .listBinders()
                .then(
                  (bs) => bs.map((b) => `${b.id} (${b.name})`),
                  () => undefined,
                )
            : undefined;

        ctx.output.result(
          {
            object: subject.object,
            inboxKey: subject.key,
            environment: ctx.environment?.name ?? null,
            tags: subject.tags,
            ...result,
            ...(knownBinders ? { knownBinders } : {}),
          },
          () => renderObjectCheck(result, subject.label, { knownBinders }),
        );
        return result.accepted ? EXIT.ok : EXIT.failed;
      }),
    );
};

async function readSubject(ctx: CliContext, text: string, options: CheckOptions): Promise<Subject> {
  const changes = options.tag ?? [];
  const config = ctx.pipelineConfig();
  if (isS3Url(text)) {
    const location = parseS3Location(text);
    if (options.key !== undefined)
      throw new UsageError('--key is for local files: an S3 object is judged under its own key', 'leave out --key');
    const ref = { ...location, versionId: options.versionId };
    // Loaded on use: the S3 client (which these pull in) should not slow down every start of the CLI.
    const [{ getObjectTags, headObjectVersion }, { resolveRejectedObjectKeys, s3RejectionReportReader }] = await Promise.all([
      import('../../functions/ingest/object-store.js'),
      import('../rejected-keys.js'),
    ]);
    const s3 = ctx.s3();
    const head = await headObjectVersion(s3, ref);
    if (!head) {
      throw new UsageError(
        `no object at ${text}${options.versionId !== undefined ? ` (version ${options.versionId})` : ''}`,
        'check the bucket and key (keys are case-sensitive), or give a local file with --tag options',
      );
    }
    const current = await getObjectTags(s3, ref);
    const notes: string[] = [];
    let key = location.key;
    if (key.startsWith(config.rejectedPrefix)) {
      key = (await resolveRejectedObjectKeys(key, config, s3RejectionReportReader(s3, location.bucket))).inboxKey;
      notes.push(`judged as ${key}, where reingest would copy it`);
    }
    return {
      label: text,
      object: { ...ref, versionId: head.versionId ?? options.versionId },
      key,
      tags: applyTagChanges(current, changes),
      sizeBytes: head.size,
      lastModified: head.lastModified,
      tagsNotYetWritten: changes.length > 0,
      notes,
    };
  }

  if (options.versionId !== undefined) throw new UsageError('--version-id is for S3 objects', 'leave out --version-id for a local file');
  const path = resolve(ctx.cwd, text);
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${text} is not a file`, 'give a file, or an S3 object as s3://bucket/key');
    size = info.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read ${text} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'give an existing local file, or an S3 object as s3://bucket/key (bucket/key without s3:// is read as a local path)',
    );
  }
  return {
    label: text,
    object: { path },
    key: options.key ?? `${config.inboxPrefix}${basename(path)}`,
    tags: applyTagChanges([], changes),
    sizeBytes: size,
    tagsNotYetWritten: true,
    notes: [],
  };
}
