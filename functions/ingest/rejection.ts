/**
 * A permanent failure: the object moves to `rejected/` beside a person-readable report, and its
 * message is acknowledged (retrying cannot help; a person has to fix something).
 *
 * Nothing may be lost on the way, so the order is: copy the version (tags and metadata kept),
 * write the report, record the rejection in the ledger, and only then delete the inbox
 * version. A crash at any step leaves the inbox version in place, and the redelivered message
 * repeats the steps (each is idempotent) or, once the ledger says rejected, finishes the delete.
 *
 * A rejection is made only under the caller's claim (a lease): a consumer that lost the object
 * to another one, which may be committing it, must not leave a rejected copy and report of a
 * file the destination accepted. The claim is checked again by the ledger write, which refuses
 * a lease that was taken over meanwhile.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { LedgerConflictError, ledgerKey, type ClaimLease, type ObjectRef, type Problem } from '../../shared/ledger/types.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { copyObjectVersion, deleteObjectVersion, putJsonObject, type ObjectVersionInfo } from './object-store.js';
import type { ConnectorName, ReportTarget, SystemRefusal, TargetSource } from '../../shared/connectors/types.js';
import type { IngestDependencies, RecordOutcome } from './types.js';
import { truncateUtf8 } from '../../shared/s3/utf8.js';

/** The JSON written to `rejected/<key>.error.json`. */
export interface RejectionReport {
  object: { bucket: string; key: string; versionId?: string | undefined; size: number };
  rejectedAt: string;
  environment: string;
  /**
   * Where the rejected object now is. `note` is present only when that key had to be shortened
   * to fit S3's key limit (see `rejectedKeyFor`); `object.key` is then the only full key.
   */
  rejectedCopy: { bucket: string; key: string; note?: string | undefined };
  /** The connector the file was meant for, when one was chosen. */
  connector?: ConnectorName | undefined;
  /**
   * The target as far as it resolved, in the connector's terms (`binderId`, `folderId`,
   * `folderPath` for iBinder), and where it came from.
   */
  target?: (Record<string, string> & { from: string }) | undefined;
  problems: Problem[];
  /** The system's answer when it refused the request; give its requestId (iBinder's traceId) to the vendor's support. */
  refusal?: SystemRefusal | undefined;
  howToRetry: string;
}

export interface Rejection {
  ref: ObjectRef;
  /** The claim this consumer holds on the object; taken before anything is written to rejected/. */
  lease: ClaimLease;
  object: ObjectVersionInfo;
  tags: readonly S3Tag[];
  problems: Problem[];
  connector?: ConnectorName | undefined;
  target?: ReportTarget | undefined;
  refusal?: SystemRefusal | undefined;
}

/** S3's longest object key, in UTF-8 bytes. */
export const S3_MAX_KEY_BYTES = 1024;
/** The suffix of a rejection report's key. */
export const REPORT_KEY_SUFFIX = '.error.json';
/** Hex digits of the SHA-256 that end a shortened rejected key (64 bits: no collision in practice). */
const SHORTENED_KEY_HASH_HEX = 16;
const SHORTENED_KEY_END = new RegExp(`~[0-9a-f]{${SHORTENED_KEY_HASH_HEX}}$`);

/**
 * `inbox/a/b.pdf` -> `rejected/a/b.pdf`; a key outside the inbox prefix keeps its whole name.
 *
 * An inbox key may use all of S3's 1,024 bytes, and `rejected/` is longer than `inbox/` and the
 * report adds `.error.json`: such a copy or report could not be written, and the file would be
 * retried until it reached the dead-letter queue with no report anyone can find. So when the
 * report's key would exceed the limit, the rejected key is cut (at a character boundary) and
 * ends in `~` and the first 16 hex digits of the SHA-256 of the full rejected key: still under
 * `rejected/`, still beginning like the original, distinct for distinct originals, and the same
 * on every delivery. The report then names the full original key (`object.key`).
 */
export function rejectedKeyFor(key: string, inboxPrefix: string, rejectedPrefix: string): string {
  const fullKey = unshortenedRejectedKeyFor(key, inboxPrefix, rejectedPrefix);
  const rest = fullKey.slice(rejectedPrefix.length);
  if (Buffer.byteLength(reportKeyFor(fullKey), 'utf8') <= S3_MAX_KEY_BYTES) return fullKey;
  const hash = createHash('sha256').update(fullKey, 'utf8').digest('hex').slice(0, SHORTENED_KEY_HASH_HEX);
  const budget = S3_MAX_KEY_BYTES - Buffer.byteLength(`${rejectedPrefix}~${hash}${REPORT_KEY_SUFFIX}`, 'utf8');
  if (budget < 0) {
    throw new Error(
      `the rejected prefix "${rejectedPrefix}" leaves no room for a key under S3's ${S3_MAX_KEY_BYTES}-byte limit: configure a shorter rejectedPrefix`,
    );
  }
  return `${rejectedPrefix}${truncateUtf8(rest, budget)}~${hash}`;
}

/** `rejected/<rest>` as it would be without S3's key limit. */
export function unshortenedRejectedKeyFor(key: string, inboxPrefix: string, rejectedPrefix: string): string {
  const rest = inboxPrefix !== '' && key.startsWith(inboxPrefix) ? key.slice(inboxPrefix.length) : key;
  return `${rejectedPrefix}${rest}`;
}

/**
 * True for a key `rejectedKeyFor` shortened: it ends in `~<16 hex>` and its report's key is
 * within a character of S3's limit. Such a key cannot be turned back into the inbox key; the
 * report's `object.key` holds it.
 */
export function isShortenedRejectedKey(rejectedKey: string): boolean {
  // A cut never leaves more than 3 bytes unused (a UTF-8 character is at most 4).
  return SHORTENED_KEY_END.test(rejectedKey) && Buffer.byteLength(reportKeyFor(rejectedKey), 'utf8') > S3_MAX_KEY_BYTES - 4;
}

export function reportKeyFor(rejectedKey: string): string {
  return `${rejectedKey}${REPORT_KEY_SUFFIX}`;
}

export function buildRejectionReport(
  rejection: Rejection,
  context: {
    environment: string;
    rejectedKey: string;
    inboxKey: string;
    rejectedAt: Date;
    /** `rejected/<rest>` before any shortening (unshortenedRejectedKeyFor); a note says so when they differ. */
    unshortenedKey?: string | undefined;
  },
): RejectionReport {
  const { ref, object, problems, target } = rejection;
  const connector = rejection.connector ?? target?.connector;
  const isTagField = (field: string) =>
    field === 'key' || /^(ibinder|bynder):/.test(field) || (connector !== undefined && field.startsWith(`${connector}:`));
  const tagFields = [...new Set(problems.map((p) => p.field).filter(isTagField))];
  const configFields = [
    ...new Set(problems.map((p) => p.field).filter((f) => f.startsWith('routingRules') || f.startsWith('defaultTarget'))),
  ];
  const steps: string[] = [];
  if (tagFields.length > 0) {
    steps.push(`fix the object's tags (${tagFields.join(', ')}) on s3://${ref.bucket}/${context.rejectedKey}`);
  }
  if (configFields.length > 0) {
    steps.push(`fix the environment's configuration (${configFields.join(', ')}) in cdk.json and deploy it`);
  }
  if (problems.some((p) => p.code === 'empty-file' || p.code === 'too-large')) {
    steps.push('replace the file itself, as the problems say');
  }
  if (steps.length === 0) steps.push('fix what the problems above describe');
  const howToRetry =
    `${capitalise(steps.join('; '))}; then copy s3://${ref.bucket}/${context.rejectedKey} back to ` +
    `s3://${ref.bucket}/${context.inboxKey} (a copy keeps its tags) or run the pipeline CLI's reingest command on it. ` +
    `The CLI's check command tells whether the tags are right before you copy.`;

  return {
    object: { bucket: ref.bucket, key: ref.key, versionId: ref.versionId, size: object.size },
    rejectedAt: context.rejectedAt.toISOString(),
    environment: context.environment,
    rejectedCopy: {
      bucket: ref.bucket,
      key: context.rejectedKey,
      ...(context.unshortenedKey !== undefined && context.unshortenedKey !== context.rejectedKey
        ? { note: shortenedKeyNote(context.unshortenedKey, context.inboxKey) }
        : {}),
    },
    connector,
    target: target ? { ...target.ids, ...target.labels, from: describeSource(target) } : undefined,
    problems,
    refusal: rejection.refusal,
    howToRetry,
  };
}

/** Moves the object to `rejected/` with its report; returns the acknowledging outcome. */
export async function rejectObject(deps: IngestDependencies, log: Logger, rejection: Rejection): Promise<RecordOutcome> {
  const { config, s3 } = deps;
  const { ref, object } = rejection;
  const rejectedKey = rejectedKeyFor(ref.key, config.inboxPrefix, config.rejectedPrefix);
  const report = buildRejectionReport(rejection, {
    environment: config.environment,
    rejectedKey,
    unshortenedKey: unshortenedRejectedKeyFor(ref.key, config.inboxPrefix, config.rejectedPrefix),
    inboxKey: ref.key,
    rejectedAt: deps.now(),
  });

  // The claim may have been taken over since it was taken (the same message delivered twice at
  // once): then the other holder decides, and nothing is written here.
  const current = await deps.ledger.get(ref);
  if (current?.state !== 'claimed' || current.owner !== rejection.lease.owner || current.claimToken !== rejection.lease.token) {
    throw new LedgerConflictError(
      `not rejecting ${ledgerKey(ref)}: this invocation's claim of message ${rejection.lease.owner} was taken over ` +
        'by another one; it finishes the object, and this message is retried',
      ref,
      current,
    );
  }
  await copyObjectVersion(s3, {
    source: ref,
    destinationKey: rejectedKey,
    size: object.size,
    tags: rejection.tags,
    contentType: object.contentType,
    metadata: object.metadata,
  });
  await putJsonObject(s3, ref.bucket, reportKeyFor(rejectedKey), report);
  await deps.ledger.markRejected(ref, rejection.lease, rejection.problems, rejectedKey);
  await deleteObjectVersion(s3, ref);

  const reason = rejection.problems[0]?.code ?? 'refused';
  deps.metrics.fileRejected(reason);
  log.warn('file rejected: moved to the rejected prefix with an error report', {
    rejectedKey,
    reportKey: reportKeyFor(rejectedKey),
    reason,
    problems: rejection.problems,
    ...(rejection.connector !== undefined ? { connector: rejection.connector } : {}),
    ...(rejection.refusal?.requestId ? { requestId: rejection.refusal.requestId } : {}),
  });
  return { status: 'rejected', problems: rejection.problems, rejectedKey };
}

function shortenedKeyNote(unshortenedKey: string, inboxKey: string): string {
  return (
    `The full rejected key and its report's key (${Buffer.byteLength(reportKeyFor(unshortenedKey), 'utf8')} bytes) would exceed S3's ` +
    `${S3_MAX_KEY_BYTES}-byte key limit, so this copy's key keeps the start of the path and ends in ~ and the first 16 hex digits ` +
    `of the SHA-256 of the full rejected key. The file's original key is object.key (${inboxKey}): copy the file back there, ` +
    `or give that key to the CLI's reingest command.`
  );
}

function describeSource(target: ReportTarget): string {
  const source: TargetSource | undefined = target.source;
  if (!source) return 'unknown';
  if (source.kind === 'tags') return `the object's ${target.connector}: tags`;
  if (source.kind === 'rule') return `the routing rule for prefix "${source.prefix}"`;
  return "the environment's default target";
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
