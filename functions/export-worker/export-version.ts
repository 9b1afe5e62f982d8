/**
 * Exports one document version into the archive bucket, at most once:
 *
 * 1. Claim `version#<versionId>` in the export ledger with a conditional write. Already
 *    exported (a redelivery, an overlapping run) -> nothing is read or written. Claimed by a
 *    live worker -> retry later, so two workers never upload the same version at once.
 * 2. Look up the binder's metadata labels (cached), before any byte moves.
 * 3. Ask the source for a download link and stream it into
 *    `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>` with SHA-256 on the way and
 *    S3 checking every part. An expired link is renewed (a bounded number of times) and the
 *    copy starts over; the aborted upload leaves nothing behind.
 * 4. Write the sidecar `<key>.metadata.json` (after the file: a sidecar always describes a
 *    complete file), then record the version in the ledger: from then on it counts as exported.
 *
 * A crash between 3 and 4 leaves an unrecorded object that the retry overwrites with the same
 * bytes. Any failure releases the claim, so the retry need not wait for the lease to expire.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { archiveKeyFor, sidecarKeyFor } from '../../shared/export/archive-key.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { ExportError, VersionClaimedElsewhereError } from '../../shared/export/errors.js';
import type { StreamDigest } from '../../shared/export/hashing-stream.js';
import type { ExportJob } from '../../shared/export/job.js';
import { labelMetadata } from '../../shared/export/metadata-labels.js';
import { buildSidecar } from '../../shared/export/sidecar.js';
import type { ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';
import { streamToArchive } from './archive-upload.js';

export type VersionExportOutcome =
  | { status: 'exported'; record: ExportedVersionRecord; linkRenewals: number }
  | { status: 'already-exported'; record: ExportedVersionRecord };

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
  if (claim.kind === 'exported') return { status: 'already-exported', record: claim.record };
  if (claim.kind === 'held') throw new VersionClaimedElsewhereError(job.versionId, claim.leaseExpiresAt.toISOString());

  try {
    const schema = await deps.schemas.get(job.binderId);
    const archiveKey = archiveKeyFor({
      tenantId: job.tenantId,
      binderId: job.binderId,
      documentId: job.documentId,
      versionId: job.versionId,
      fileName: job.fileName,
    });
    const { digest, linkRenewals } = await copyWithLinkRenewal(job, archiveKey, deps);
    const exportedAt = deps.clock();
    const sidecar = buildSidecar({
      tenantId: job.tenantId,
      binderId: job.binderId,
      documentId: job.documentId,
      versionId: job.versionId,
      fileName: job.fileName,
      versionLabel: job.versionLabel,
      status: job.status,
      modifiedAt: job.modifiedAt,
      metadata: labelMetadata(job.metadata, schema),
      size: digest.size,
      sha256Hex: digest.sha256Hex,
      sha256Base64: digest.sha256Base64,
      exportedAt,
      runId: job.runId,
      archiveKey,
      source: deps.source.name,
    });
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: sidecarKeyFor(archiveKey),
        Body: `${JSON.stringify(sidecar, null, 2)}\n`,
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
      exportedAt: sidecar.exportedAt,
      runId: job.runId,
    };
    await deps.ledger.recordExported(record);
    return { status: 'exported', record, linkRenewals };
  } catch (err) {
    await deps.ledger.releaseClaim(job.versionId, owner).catch((releaseError: unknown) => {
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
 * Opens the version and streams it to the archive; when the link turns out expired (on
 * opening or while reading) a new one is asked for and the copy starts over, at most
 * `maxLinkRenewals` times. A link that keeps expiring is transient (clock skew, a slow
 * queue): the job is retried later rather than declared failed.
 */
async function copyWithLinkRenewal(
  job: ExportJob,
  archiveKey: string,
  deps: ExportVersionDeps,
): Promise<{ digest: StreamDigest; linkRenewals: number }> {
  const { source, settings } = deps;
  for (let renewals = 0; ; renewals++) {
    try {
      const opened = await source.openVersion({ documentId: job.documentId, versionId: job.versionId });
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
      if (!source.isExpiredLinkError(err)) throw err;
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
