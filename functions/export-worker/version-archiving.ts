/**
 * What differs between connectors when the worker archives one version: where it goes in the
 * archive, how its bytes are opened (and how an expired link shows), and what its sidecar says.
 * Everything else (claim, evidence of an earlier attempt, the streamed upload with its
 * checksums, the ledger record, retries, the manifest) is the same for every connector.
 *
 * - iBinder: `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>`, the source's
 *   `openVersion`, the sidecar labelled from the binder's metadata schema.
 * - Bynder: `<portal>/<brandId>/<assetId>/<version>/<fileName>` (bynderArchiveKey: the job's
 *   version id is the ledger key, not the folder), a fresh download location per open that no
 *   bearer token goes to, storage's 403 read as an expired location (asked for again) unless
 *   it is Bynder's API refusing the integration, and the sidecar with metaproperty names and
 *   option labels, tags and brand (the asset as the planner read it, listings cached per run).
 */
import { archiveKeyFor } from '../../shared/export/archive-key.js';
import {
  brandById,
  buildBynderSidecar,
  bynderArchiveKey,
  bynderVersionOfJob,
  isExpiredBynderLink,
  openBynderVersion,
  serializeBynderSidecar,
} from '../../shared/connectors/bynder/runtime-client.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { ExportError } from '../../shared/export/errors.js';
import type { StreamDigest } from '../../shared/export/hashing-stream.js';
import { connectorOfJob, type ExportJob } from '../../shared/export/job.js';
import { labelMetadata } from '../../shared/export/metadata-labels.js';
import { buildSidecar } from '../../shared/export/sidecar.js';
import type { OpenedVersion } from '../../shared/export-source/types.js';

export interface VersionArchiving {
  /** Where the file goes; its sidecar is `<archiveKey>.metadata.json`. */
  readonly archiveKey: string;
  /** Reads what the sidecar needs before any byte moves (a wrong binder fails before the download). */
  prepare(): Promise<void>;
  /** Opens the version's bytes with a fresh link. */
  open(): Promise<OpenedVersion>;
  /** True when `err` (from `open` or reading its body) means the link expired: open again. */
  isExpiredLinkError(err: unknown): boolean;
  /** The sidecar's text, once the file is archived. */
  sidecarText(digest: StreamDigest, exportedAt: Date): string;
}

type ArchivingDeps = Pick<ExportDeps, 'source' | 'schemas' | 'bynder'>;

export function versionArchivingFor(job: ExportJob, deps: ArchivingDeps): VersionArchiving {
  return connectorOfJob(job) === 'bynder' ? bynderArchiving(job, deps) : ibinderArchiving(job, deps);
}

/** The archive key alone (log context), without any connector call. */
export function archiveKeyOfJob(job: ExportJob): string {
  if (connectorOfJob(job) === 'bynder' && job.bynder !== undefined) return bynderArchiveKey(bynderVersionOfJob(job).version);
  return archiveKeyFor(job);
}

function ibinderArchiving(job: ExportJob, deps: ArchivingDeps): VersionArchiving {
  const archiveKey = archiveKeyFor(job);
  let labelled: ReturnType<typeof labelMetadata> | undefined;
  return {
    archiveKey,
    prepare: async () => {
      labelled = labelMetadata(job.metadata, await deps.schemas.get(job.binderId));
    },
    open: () => deps.source.openVersion({ documentId: job.documentId, versionId: job.versionId }),
    isExpiredLinkError: (err) => deps.source.isExpiredLinkError(err),
    sidecarText: (digest, exportedAt) =>
      `${JSON.stringify(
        buildSidecar({
          tenantId: job.tenantId,
          binderId: job.binderId,
          documentId: job.documentId,
          versionId: job.versionId,
          fileName: job.fileName,
          versionLabel: job.versionLabel,
          status: job.status,
          modifiedAt: job.modifiedAt,
          metadata: labelled ?? [],
          size: digest.size,
          sha256Hex: digest.sha256Hex,
          sha256Base64: digest.sha256Base64,
          exportedAt,
          runId: job.runId,
          archiveKey,
          source: deps.source.name,
        }),
        null,
        2,
      )}\n`,
  };
}

function bynderArchiving(job: ExportJob, deps: ArchivingDeps): VersionArchiving {
  const bynder = deps.bynder;
  if (bynder === undefined) {
    throw new ExportError(
      `export job of Bynder asset ${job.documentId} (version ${job.versionId}) reached a worker without Bynder configured: ` +
        'add bynder to the environment config and deploy, then redrive the dead-letter queue',
      'transient',
    );
  }
  const { version, asset } = bynderVersionOfJob(job);
  const archiveKey = bynderArchiveKey(version);
  let listings: { metaproperties: Awaited<ReturnType<typeof bynder.metaproperties>>; brands: Awaited<ReturnType<typeof bynder.brands>> };
  return {
    archiveKey,
    prepare: async () => {
      const [metaproperties, brands] = await Promise.all([bynder.metaproperties(), bynder.brands()]);
      listings = { metaproperties, brands };
    },
    open: () => openBynderVersion(bynder.client, version, { isExpiredLinkError: isExpiredBynderLink }),
    isExpiredLinkError: isExpiredBynderLink,
    sidecarText: (digest, exportedAt) =>
      serializeBynderSidecar(
        buildBynderSidecar({
          job: version,
          asset,
          metaproperties: listings?.metaproperties ?? [],
          brand: brandById(listings?.brands ?? [], version.brandId),
          size: digest.size,
          sha256Hex: digest.sha256Hex,
          sha256Base64: digest.sha256Base64,
          exportedAt,
          runId: job.runId,
          archiveKey,
        }),
      ),
  };
}
