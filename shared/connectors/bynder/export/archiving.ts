/**
 * How the export worker archives one Bynder version (the connector's part of
 * shared/connectors/export-archiving.ts): `<portal>/<brandId>/<assetId>/<version>/<fileName>`
 * (bynderArchiveKey: the job's version id is the ledger key, not the folder), a fresh download
 * location per open that no bearer token goes to, storage's 403 read as an expired location
 * (asked for again) unless it is Bynder's API refusing the integration, and the sidecar with
 * metaproperty names and option labels, tags and brand (the asset as the planner read it,
 * listings cached per run).
 */
import { ExportError } from '../../../export/errors.js';
import type { ExportJob } from '../../../export/job.js';
import { archivedFileFields, type VersionArchiving } from '../../../export/version-archiving.js';
import { buildBynderSidecar, bynderArchiveKey, serializeBynderSidecar } from './archive.js';
import { brandById } from './brands.js';
import { type BynderExportContext, bynderVersionOfJob, isExpiredBynderLink } from './context.js';
import { openBynderVersion } from './open-version.js';

/** The archive key of a Bynder job, without any call. */
export function bynderArchiveKeyOfJob(job: ExportJob): string {
  return bynderArchiveKey(bynderVersionOfJob(job).version);
}

export function bynderVersionArchiving(job: ExportJob, bynder: BynderExportContext | undefined): VersionArchiving {
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
          ...archivedFileFields(digest, exportedAt, job.runId, archiveKey),
        }),
      ),
  };
}
