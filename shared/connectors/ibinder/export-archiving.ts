/**
 * How the export worker archives one iBinder version (the connector's part of
 * shared/connectors/export-archiving.ts): `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>`,
 * the export source's `openVersion`, and the sidecar labelled from the binder's metadata schema.
 */
import { archiveKeyFor } from '../../export/archive-key.js';
import type { ExportDeps } from '../../export/deps.js';
import type { ExportJob } from '../../export/job.js';
import { labelMetadata } from '../../export/metadata-labels.js';
import { buildSidecar } from '../../export/sidecar.js';
import { archivedFileFields, type VersionArchiving } from '../../export/version-archiving.js';

export function ibinderVersionArchiving(job: ExportJob, deps: Pick<ExportDeps, 'source' | 'schemas'>): VersionArchiving {
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
          ...archivedFileFields(digest, exportedAt, job.runId, archiveKey),
          source: deps.source.name,
        }),
        null,
        2,
      )}\n`,
  };
}
