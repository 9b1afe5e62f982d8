/**
 * Failures of the export and how they are handled (errors are classified):
 *
 * - permanent: retrying cannot help (the version is gone: 404; access refused: 403; a job
 *   message that is not a job). Recorded in the run's manifest as failed, message acknowledged.
 *   Nothing is written to the export ledger, so a later run tries again if the version is
 *   still listed (a 404 version usually is not).
 * - transient: 429, 5xx, timeouts, network, S3 or DynamoDB trouble, a claim held by another
 *   worker, a link that keeps expiring, a truncated download. Returned as a batch item failure:
 *   SQS retries with its visibility timeout, then moves the job to the dead-letter queue; the
 *   next night's plan enqueues it again because it is not in the export ledger.
 * - A missing or wrong iBinder credential (`auth`) is an operator problem: retried (and alarmed
 *   through the dead-letter queue), never recorded as a permanent failure.
 */
import { IBinderError, IBinderApiError } from '../connectors/ibinder/client/errors.js';
import { InvalidExportJobError } from './job.js';

export type ExportErrorKind = 'permanent' | 'transient';

/** An export failure raised by the export's own code, already classified. */
export class ExportError extends Error {
  override readonly name: string = 'ExportError';
  constructor(
    message: string,
    readonly kind: ExportErrorKind,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Another worker holds a live claim on the version (overlapping runs, a redelivery in flight). */
export class VersionClaimedElsewhereError extends ExportError {
  override readonly name = 'VersionClaimedElsewhereError';
  constructor(versionId: string, leaseExpiresAt: string) {
    super(
      `version ${versionId} is being exported by another worker (claim held until ${leaseExpiresAt}); the job is retried after that`,
      'transient',
    );
  }
}

/**
 * S3 refused (403) a read the worker makes in the archive bucket to find out whether an
 * earlier attempt already archived a version. An operator problem, like a wrong credential:
 * the role lacks `s3:GetObject` on the archive's objects, or `s3:ListBucket` on the bucket
 * (without it S3 answers a read of a missing key with 403 rather than 404), or `kms:Decrypt`
 * on the bucket's key. Transient, so the job is retried and, if nobody fixes the role, ends in
 * the dead-letter queue and raises its alarm; the next run enqueues it again.
 */
export class ArchiveReadDeniedError extends ExportError {
  override readonly name = 'ArchiveReadDeniedError';
  constructor(bucket: string, key: string, versionId: string, options?: { cause?: unknown }) {
    super(
      `S3 refused (403 AccessDenied) the export worker's read of s3://${bucket}/${key}, needed to tell whether an earlier attempt already archived version ${versionId}: ` +
        `grant the worker's role s3:GetObject on ${bucket}/* and s3:ListBucket on ${bucket} (without it a missing key also answers 403), plus kms:Decrypt if the bucket uses a customer-managed key; the job is retried`,
      'transient',
      options,
    );
  }
}

export interface ClassifiedError {
  kind: ExportErrorKind;
  /** What went wrong, safe for a log line and the manifest (no URL query strings). */
  reason: string;
  httpStatus?: number;
  traceId?: string;
}

export function classifyExportError(err: unknown): ClassifiedError {
  if (err instanceof ExportError) return { kind: err.kind, reason: redactUrls(err.message) };
  if (err instanceof InvalidExportJobError) return { kind: 'permanent', reason: err.message };
  if (err instanceof IBinderApiError) {
    return {
      kind: err.kind === 'permanent' ? 'permanent' : 'transient',
      reason: redactUrls(err.message),
      httpStatus: err.status,
      ...(err.traceId !== undefined ? { traceId: err.traceId } : {}),
    };
  }
  if (err instanceof IBinderError) {
    return { kind: err.kind === 'permanent' ? 'permanent' : 'transient', reason: redactUrls(err.message) };
  }
  const status = httpStatusOf(err);
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { kind: 'transient', reason: redactUrls(message), ...(status !== undefined ? { httpStatus: status } : {}) };
}

/** The HTTP status an AWS SDK error carries, if any. */
function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const metadata = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** Drops the query string of every URL in a text: presigned signatures live there. */
export function redactUrls(text: string): string {
  return text.replace(/(https?:\/\/[^\s?#"']+)\?[^\s#"']*/g, '$1?<redacted>');
}
