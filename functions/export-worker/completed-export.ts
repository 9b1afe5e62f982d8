/**
 * Finds the evidence that an earlier attempt already archived a version completely: a worker
 * that died after writing the file and its sidecar but before the ledger write leaves exactly
 * that behind, and its redelivered job re-claims the version once the old claim runs out.
 * Copying again would write the same bytes to the same key; the archive bucket is versioned,
 * so that would be a second object version and a second ObjectCreated event downstream, and
 * the version would no longer be exported exactly once.
 *
 * The evidence: the sidecar `<archive key>.metadata.json` exists (it is written only after the
 * file is complete), parses, describes this very version at this very key, and the file beside
 * it is there with the size the sidecar recorded. Then the sidecar holds everything the ledger
 * record needs. Anything less (no sidecar, a sidecar for something else, a file missing or of
 * another size) is not evidence, and the version is copied as usual: the copy rewrites both.
 *
 * A file without its sidecar (a crash between the two writes) cannot be recognised without
 * reading the source again, so it is copied again: that one case still writes twice.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sidecarKeyFor } from '../../shared/export/archive-key.js';
import { ArchiveReadDeniedError } from '../../shared/export/errors.js';
import type { ExportJob } from '../../shared/export/job.js';
import { ExportSidecarSchema, type ExportSidecar } from '../../shared/export/sidecar.js';
import type { ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';

export interface CompletedExportLookup {
  s3: S3Client;
  bucket: string;
  archiveKey: string;
  job: Pick<ExportJob, 'tenantId' | 'binderId' | 'documentId' | 'versionId'>;
}

export type CompletedExportEvidence =
  /** The file and its sidecar are complete: record `record` in the ledger, copy nothing. */
  | { kind: 'complete'; sidecar: ExportSidecar; record: ExportedVersionRecord }
  /** No sidecar: the normal case of a version not yet archived. */
  | { kind: 'absent' }
  /** Something is there but does not prove a complete file (`reason` says what): copy again. */
  | { kind: 'inconclusive'; reason: string };

/**
 * Looks for the evidence of a completed earlier attempt. Throws `ArchiveReadDeniedError` when
 * S3 refuses the reads (a role without the permissions), and S3's own error for anything else
 * (transient: the job is retried).
 */
export async function findCompletedExport(lookup: CompletedExportLookup): Promise<CompletedExportEvidence> {
  const { s3, bucket, archiveKey, job } = lookup;
  const sidecarKey = sidecarKeyFor(archiveKey);

  let sidecarText: string;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: sidecarKey }));
    if (!object.Body) return { kind: 'inconclusive', reason: `the sidecar ${sidecarKey} has no body` };
    sidecarText = await object.Body.transformToString('utf-8');
  } catch (err) {
    if (isNotFound(err)) return { kind: 'absent' };
    if (isAccessDenied(err)) throw new ArchiveReadDeniedError(bucket, sidecarKey, job.versionId, { cause: err });
    throw err;
  }

  let json: unknown;
  try {
    json = JSON.parse(sidecarText);
  } catch {
    return { kind: 'inconclusive', reason: `the sidecar ${sidecarKey} is not JSON` };
  }
  const parsed = ExportSidecarSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { kind: 'inconclusive', reason: `the sidecar ${sidecarKey} is not an export sidecar (${issues})` };
  }
  const sidecar = parsed.data;
  const mismatch = sidecarMismatch(sidecar, lookup);
  if (mismatch) return { kind: 'inconclusive', reason: `the sidecar ${sidecarKey} describes ${mismatch}` };

  let contentLength: number | undefined;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: archiveKey }));
    contentLength = head.ContentLength;
  } catch (err) {
    if (isNotFound(err)) return { kind: 'inconclusive', reason: `the sidecar ${sidecarKey} is there but the file ${archiveKey} is not` };
    if (isAccessDenied(err)) throw new ArchiveReadDeniedError(bucket, archiveKey, job.versionId, { cause: err });
    throw err;
  }
  if (contentLength !== sidecar.size) {
    return {
      kind: 'inconclusive',
      reason: `the file ${archiveKey} is ${contentLength ?? 'of unknown size'} bytes but its sidecar says ${sidecar.size}`,
    };
  }

  return {
    kind: 'complete',
    sidecar,
    record: {
      versionId: sidecar.versionId,
      documentId: sidecar.documentId,
      binderId: sidecar.binderId,
      archiveKey: sidecar.archiveKey,
      sha256: sidecar.sha256,
      sha256Base64: sidecar.sha256Base64,
      size: sidecar.size,
      exportedAt: sidecar.exportedAt,
      runId: sidecar.runId,
    },
  };
}

/** What the sidecar describes instead of the job's version at its key, or undefined when it matches. */
function sidecarMismatch(sidecar: ExportSidecar, { archiveKey, job }: CompletedExportLookup): string | undefined {
  const expected: Array<[string, string, string]> = [
    ['versionId', sidecar.versionId, job.versionId],
    ['documentId', sidecar.documentId, job.documentId],
    ['binderId', sidecar.binderId, job.binderId],
    ['tenantId', sidecar.tenantId, job.tenantId],
    ['archiveKey', sidecar.archiveKey, archiveKey],
  ];
  const wrong = expected.filter(([, actual, wanted]) => actual !== wanted);
  if (wrong.length === 0) return undefined;
  return wrong.map(([field, actual, wanted]) => `${field} ${JSON.stringify(actual)}, not ${JSON.stringify(wanted)}`).join(', ');
}

function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('$metadata' in err)) return undefined;
  const metadata = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** GetObject says NoSuchKey; HeadObject has no body, so only NotFound / 404. */
function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || httpStatusOf(err) === 404;
}

function isAccessDenied(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === 'AccessDenied' || err.name === 'Forbidden' || httpStatusOf(err) === 403;
}
