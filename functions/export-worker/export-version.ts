/**
 * Exports one document version into the archive bucket, at most once:
 *
 * 1. Claim `version#<versionId>` in the export ledger with a conditional write. Already
 *    exported (a redelivery, an overlapping run) -> nothing is read or written. Claimed by a
 *    live worker -> retry later, so two workers never upload the same version at once.
 * 2. Only when the claim took over an earlier attempt's item (a worker that died or timed out,
 *    or failed after it began to write the sidecar), look in the archive for a completed
 *    earlier attempt (completed-export.ts): one that died after writing the file and its sidecar
 *    but before the ledger write. If the sidecar and the file prove it, the version is recorded
 *    in the ledger from the sidecar and nothing is read from the source or written to the
 *    archive: the archive bucket is versioned, and a second write would be a second object
 *    version and a second ObjectCreated event. A first attempt (no earlier item: the normal
 *    path) costs no S3 call here, since every attempt claims before it writes anything.
 * 3. Look up what the sidecar needs (iBinder: the binder's metadata labels; Bynder: the
 *    portal's metaproperties and brands; both cached), before any byte moves.
 * 4. Ask the connector for a download link and stream it to the version's archive key
 *    (shared/connectors/export-archiving.ts: iBinder `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>`,
 *    Bynder `<portal>/<brandId>/<assetId>/<version>/<fileName>`) with SHA-256 on the way and
 *    S3 checking every part. An expired link is renewed (a bounded number of times) and the
 *    copy starts over; the aborted upload leaves nothing behind.
 * 5. Write the sidecar `<key>.metadata.json` (after the file: a sidecar always describes a
 *    complete file), then record the version in the ledger: from then on it counts as exported.
 *
 * A crash between the file and the sidecar leaves a file that step 2 cannot vouch for (its
 * size and hash are only known by reading the source again); the retry writes it once more.
 * Any failure releases the claim, so the retry need not wait for the lease to expire; a failure
 * after the sidecar write began keeps the claim's item (lease ended), so the retry looks in
 * the archive first.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { sidecarKeyFor } from '../../shared/export/archive-key.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { ExportError, VersionClaimedElsewhereError } from '../../shared/export/errors.js';
import type { StreamDigest } from '../../shared/export/hashing-stream.js';
import type { ExportJob } from '../../shared/export/job.js';
import type { ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';
import { streamToArchive } from './archive-upload.js';
import { findCompletedExport } from './completed-export.js';
import { type VersionArchiving, versionArchivingFor } from '../../shared/connectors/export-archiving.js';

/**
 * `foundInArchive`: the version was not copied now but found complete in the archive, written
 * by an earlier attempt that died before the ledger write; it is recorded with that attempt's
 * run. Written by this job's run, it is this run's export (`exported`: the dead attempt never
 * counted it); written by an earlier run, it is `already-exported` by that run.
 */
export type VersionExportOutcome =
  /** `recordedNow`: this attempt wrote the ledger record (under its claim): the version counts as this run's export once, now. */
  | { status: 'exported'; record: ExportedVersionRecord; linkRenewals: number; foundInArchive: boolean; recordedNow: boolean }
  | { status: 'already-exported'; record: ExportedVersionRecord; foundInArchive: boolean };

export type ExportVersionDeps = Omit<ExportDeps, 'runs' | 'manifests' | 'newRunId'>;

/** Exports `job`'s version; throws a classified or classifiable error when it cannot. */
export async function exportVersion(job: ExportJob, deps: ExportVersionDeps): Promise<VersionExportOutcome> {
  const owner = deps.newOwnerId();
  const claim = await deps.ledger.claim({
    versionId: job.versionId,
    owner,
    runId: job.runId,
    now: deps.clock(),
    leaseSeconds: deps.settings.claimLeaseSeconds,
  });
  if (claim.kind === 'exported') return { status: 'already-exported', record: claim.record, foundInArchive: false };
  if (claim.kind === 'held') throw new VersionClaimedElsewhereError(job.versionId, claim.leaseExpiresAt.toISOString());

  let sidecarWriteBegun = false;
  try {
    const archiving = versionArchivingFor(job, deps);
    const archiveKey = archiving.archiveKey;
    const earlier = claim.earlierAttempt
      ? await findCompletedExport({ s3: deps.s3, bucket: deps.bucket, archiveKey, job })
      : ({ kind: 'absent' } as const);
    if (earlier.kind === 'complete') {
      if (!(await deps.ledger.recordExportedUnderClaim(earlier.record, owner))) return await recordedByAnother(job, deps);
      return earlier.record.runId === job.runId
        ? { status: 'exported', record: earlier.record, linkRenewals: 0, foundInArchive: true, recordedNow: true }
        : { status: 'already-exported', record: earlier.record, foundInArchive: true };
    }
    if (earlier.kind === 'inconclusive') {
      deps.logger.warn(
        'an earlier attempt left something in the archive that does not prove a complete export; copying the version again',
        {
          runId: job.runId,
          documentId: job.documentId,
          versionId: job.versionId,
          archiveKey,
          reason: earlier.reason,
        },
      );
    }

    await archiving.prepare();
    const { digest, linkRenewals } = await copyWithLinkRenewal(job, archiving, deps);
    const exportedAt = deps.clock();
    sidecarWriteBegun = true;
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: sidecarKeyFor(archiveKey),
        Body: archiving.sidecarText(digest, exportedAt),
        ContentType: 'application/json',
        ...(deps.settings.s3ChecksumAlgorithm ? { ChecksumAlgorithm: deps.settings.s3ChecksumAlgorithm } : {}),
      }),
    );
    const record: ExportedVersionRecord = {
      versionId: job.versionId,
      documentId: job.documentId,
      binderId: job.binderId,
      archiveKey,
      sha256: digest.sha256Hex,
      sha256Base64: digest.sha256Base64,
      size: digest.size,
      exportedAt: exportedAt.toISOString(),
      runId: job.runId,
    };
    if (!(await deps.ledger.recordExportedUnderClaim(record, owner))) return await recordedByAnother(job, deps);
    return { status: 'exported', record, linkRenewals, foundInArchive: false, recordedNow: true };
  } catch (err) {
    await deps.ledger.releaseClaim(job.versionId, owner, { keepAsEarlierAttempt: sidecarWriteBegun }).catch((releaseError: unknown) => {
      deps.logger.warn('could not release the export claim; a retry waits for its lease to run out', {
        runId: job.runId,
        documentId: job.documentId,
        versionId: job.versionId,
        error: releaseError instanceof Error ? releaseError.message : String(releaseError),
      });
    });
    throw err;
  }
}

/**
 * This attempt's claim ran out while it copied and another attempt took the version over: the
 * record that attempt wrote stands (same bytes, same key), and it counted the version. Until it
 * has written one, the job is retried.
 */
async function recordedByAnother(job: ExportJob, deps: ExportVersionDeps): Promise<VersionExportOutcome> {
  const record = await deps.ledger.getExported(job.versionId);
  if (record) return { status: 'already-exported', record, foundInArchive: false };
  throw new ExportError(
    `the claim on version ${job.versionId} (document ${job.documentId}) ran out while it was copied and another attempt holds it now; the job is retried`,
    'transient',
  );
}

/**
 * Opens the version and streams it to the archive; when the link turns out expired (on
 * opening or while reading) a new one is asked for and the copy starts over, at most
 * `maxLinkRenewals` times. A link that keeps expiring is transient (clock skew, a slow
 * queue): the job is retried later rather than declared failed.
 */
async function copyWithLinkRenewal(
  job: ExportJob,
  archiving: VersionArchiving,
  deps: ExportVersionDeps,
): Promise<{ digest: StreamDigest; linkRenewals: number }> {
  const { settings } = deps;
  const archiveKey = archiving.archiveKey;
  for (let renewals = 0; ; renewals++) {
    try {
      const opened = await archiving.open();
      const digest = await streamToArchive({
        s3: deps.s3,
        bucket: deps.bucket,
        key: archiveKey,
        body: opened.body,
        contentLength: opened.contentLength,
        contentType: opened.contentType,
        partSizeBytes: settings.partSizeBytes,
        queueSize: settings.uploadQueueSize,
        checksumAlgorithm: settings.s3ChecksumAlgorithm,
      });
      return { digest, linkRenewals: renewals };
    } catch (err) {
      if (!archiving.isExpiredLinkError(err)) throw err;
      if (renewals >= settings.maxLinkRenewals) {
        throw new ExportError(
          `the download link of version ${job.versionId} (document ${job.documentId}) was expired ${renewals + 1} times in a row; the job is retried later`,
          'transient',
          { cause: err },
        );
      }
      deps.logger.info('download link expired; asking for a new one', {
        runId: job.runId,
        documentId: job.documentId,
        versionId: job.versionId,
        archiveKey,
        renewal: renewals + 1,
      });
      deps.metrics.downloadLinkRenewed();
    }
  }
}
