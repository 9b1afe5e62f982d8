/**
 * One Bynder asset version to copy into the archive: what the planner puts on the export
 * queue for Bynder, and the key the export ledger records it under.
 *
 * The ledger key names the portal, the asset and the version's folder in the archive
 * (`bynder:<portal>:<assetId>:<versionSegment>`), so that a version is exported once however
 * often it is listed, and two connectors (or two portals) never share a key. The version's
 * folder is its number; a second file that Bynder lists under the same number (an additional
 * file of that version) gets `<number>-<mediaItemId>`, so neither overwrites the other.
 */

export interface BynderVersionJob {
  /** The archive's name for the portal (first path segment). */
  portal: string;
  brandId: string;
  assetId: string;
  /** Bynder's version number. */
  version: number;
  /** The version's folder in the archive: `<version>`, or `<version>-<mediaItemId>` for a second file of that number. */
  versionSegment: string;
  /** The media item (the stored file) of the version; absent when the portal listed no media items. */
  mediaItemId?: string | undefined;
  fileName: string;
  /** Bytes, when Bynder says. */
  size?: number | undefined;
  /** Whether this is the asset's active version. */
  active: boolean;
  /** When the version's file was created (ISO), when Bynder says. */
  versionCreatedAt?: string | undefined;
  /** The asset's dateModified when it was planned (ISO). */
  assetModifiedAt?: string | undefined;
  /** The export ledger's key of this version. */
  versionKey: string;
}

export const BYNDER_VERSION_KEY_PREFIX = 'bynder:';

export function bynderVersionKey(parts: { portal: string; assetId: string; versionSegment: string }): string {
  return `${BYNDER_VERSION_KEY_PREFIX}${parts.portal}:${parts.assetId}:${parts.versionSegment}`;
}

/**
 * The job in the export's neutral terms (shared/export/job.ts): portal as tenant, brand as
 * binder, asset as document, the ledger key as version id, the number as version label. The
 * archive key is not built from these (the version id is the ledger key, not the folder): use
 * `bynderArchiveKey` (archive.ts).
 */
export function neutralJobFieldsOf(job: BynderVersionJob): {
  tenantId: string;
  binderId: string;
  documentId: string;
  versionId: string;
  fileName: string;
  versionLabel: string;
  modifiedAt?: string;
} {
  const modifiedAt = job.versionCreatedAt ?? job.assetModifiedAt;
  return {
    tenantId: job.portal,
    binderId: job.brandId,
    documentId: job.assetId,
    versionId: job.versionKey,
    fileName: job.fileName,
    versionLabel: String(job.version),
    ...(modifiedAt !== undefined ? { modifiedAt } : {}),
  };
}
