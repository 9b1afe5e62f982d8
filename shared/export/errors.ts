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
 * - Bynder (read by the error's shape, as connectors/bynder/classify.ts does): a 429 block
 *   (`throttled`) is transient with `retryAfterMs`, the pause before any call may go out again
 *   (the worker hands the job back for at least that long, the planner pauses the run); `auth`
 *   is an operator problem (transient); `permanent` (a 404 asset, a refused request) is
 *   permanent. Storage's refusal of an expired download location is not classified here: the
 *   worker asks for a fresh location first (isExpiredDownloadLinkError).
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
  /** Do not call the source again before this many ms (Bynder's 429 block). */
  retryAfterMs?: number;
}

/** Bynder lifts a 429 block only after five minutes without a request. */
const MIN_BYNDER_PAUSE_MS = 5 * 60 * 1000;

interface BynderErrorShape {
  name?: unknown;
  message?: unknown;
  kind?: unknown;
  status?: unknown;
  retryAfterMs?: unknown;
  correlationId?: unknown;
}

/** Bynder's client errors, by shape (so an error that crossed a bundle boundary reads the same). */
function classifyBynder(err: unknown): ClassifiedError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as BynderErrorShape;
  if (typeof e.name !== 'string' || !e.name.startsWith('Bynder')) return undefined;
  const kind = typeof e.kind === 'string' ? e.kind : undefined;
  const reason = redactUrls(typeof e.message === 'string' ? e.message : e.name);
  const status = typeof e.status === 'number' ? e.status : undefined;
  const extra = {
    ...(status !== undefined ? { httpStatus: status } : {}),
    ...(typeof e.correlationId === 'string' ? { traceId: e.correlationId } : {}),
  };
  if (e.name === 'BynderThrottledError' || kind === 'throttled' || status === 429) {
    const after = typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : 0;
    return {
      kind: 'transient',
      reason: `Bynder blocked the integration (429): ${reason}`,
      ...extra,
      retryAfterMs: Math.max(after, MIN_BYNDER_PAUSE_MS),
    };
  }
  if (kind === 'permanent') return { kind: 'permanent', reason, ...extra };
  if (kind === 'transient' || kind === 'auth') return { kind: 'transient', reason, ...extra };
  return undefined;
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
  const bynder = classifyBynder(err);
  if (bynder) return bynder;
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
