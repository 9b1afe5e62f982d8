/**
 * Which versions of a changed asset the export still has to copy. One call per changed asset,
 * `GET /api/v4/media/{id}/?versions=1`, lists its versions (`mediaItems`); each becomes a job
 * unless the export ledger already holds its key. The listing that named the asset is not
 * enough: it carries no versions, and a metadata edit changes `dateModified` without adding one
 * (such an asset yields no job, at the cost of that one call).
 *
 * A 404 on an asset a listing just returned means it was deleted in between (Bynder answers
 * 404 for deleted assets; nothing else lists them reliably): the asset is reported as deleted,
 * for the run's manifest, and nothing in the archive is touched.
 */
import type { BynderAsset, BynderClient, BynderMediaItem } from '../client/types.js';
import { type BynderVersionJob, bynderVersionKey } from './job.js';

/**
 * What the planner knows of an asset before reading its versions: a listing's row, or, for an
 * asset re-planned by id (a version the previous run left failed or unfinished: the bookmark has
 * moved past its asset, so no listing returns it again unless it changes), the previous run's
 * manifest line (asset id, brand id, file name).
 */
export type ListedAsset = Pick<BynderAsset, 'id' | 'brandId' | 'name'> & { dateModified?: string | undefined };

/** Which of these ledger keys are exported already: one batched ledger read (ExportLedger.exportedAmong). */
export type ExportedAmong = (versionKeys: readonly string[]) => Promise<ReadonlySet<string>>;

export type AssetVersions =
  | {
      deleted: false;
      /** The asset as `?versions=1` answered it. */
      asset: BynderAsset;
      /** Every version, oldest first. */
      versions: BynderVersionJob[];
    }
  | {
      deleted: true;
      /** What the listing said of the asset, for the manifest. */
      assetId: string;
      brandId: string;
      name: string;
      dateModified?: string | undefined;
    };

/** `versionsOf` plus the versions the ledger does not hold yet (`newVersions`, oldest first). */
export type NewVersions =
  | Extract<AssetVersions, { deleted: true }>
  | (Extract<AssetVersions, { deleted: false }> & { newVersions: BynderVersionJob[] });

/** The portal answered an asset with neither media items nor an active version number. */
export class UnversionedAssetError extends Error {
  override readonly name = 'UnversionedAssetError';
  constructor(readonly assetId: string) {
    super(
      `Bynder asset ${assetId} came back from GET /api/v4/media/${assetId}/?versions=1 with neither mediaItems nor an active version number, ` +
        'so no version of it can be named in the archive; it is left for the next run (check that the integration may read asset versions)',
    );
  }
}

/** Every version of `listed` (one getMedia call), or its deletion. */
export async function versionsOf(
  client: Pick<BynderClient, 'getMedia'>,
  listed: ListedAsset,
  context: { portal: string },
): Promise<AssetVersions> {
  const asset = await client.getMedia(listed.id, { versions: true });
  if (!asset) {
    return {
      deleted: true,
      assetId: listed.id,
      brandId: listed.brandId,
      name: listed.name,
      ...(listed.dateModified !== undefined ? { dateModified: listed.dateModified } : {}),
    };
  }
  return { deleted: false, asset, versions: versionJobsOf(asset, context.portal) };
}

/** The versions of a changed asset that are not exported yet (one getMedia call, one ledger read). */
export async function newVersionsOf(
  client: Pick<BynderClient, 'getMedia'>,
  listed: ListedAsset,
  exportedAmong: ExportedAmong,
  context: { portal: string },
): Promise<NewVersions> {
  const found = await versionsOf(client, listed, context);
  if (found.deleted) return found;
  const exported = found.versions.length > 0 ? await exportedAmong(found.versions.map((v) => v.versionKey)) : new Set<string>();
  return { ...found, newVersions: found.versions.filter((v) => !exported.has(v.versionKey)) };
}

/** The asset's versions as jobs, oldest first. */
export function versionJobsOf(asset: BynderAsset, portal: string): BynderVersionJob[] {
  const items = asset.mediaItems ?? [];
  if (items.length === 0) {
    if (asset.activeVersion === undefined) throw new UnversionedAssetError(asset.id);
    // No media items listed: the active version is the one file the portal names.
    return [jobOf(asset, portal, { version: asset.activeVersion, active: true }, String(asset.activeVersion))];
  }
  const sorted = [...items].sort((a, b) => a.version - b.version || Number(b.active) - Number(a.active) || a.id.localeCompare(b.id));
  const numbersTaken = new Set<number>();
  return sorted.map((item) => {
    const segment = numbersTaken.has(item.version) ? `${item.version}-${item.id}` : String(item.version);
    numbersTaken.add(item.version);
    return jobOf(asset, portal, item, segment);
  });
}

function jobOf(
  asset: BynderAsset,
  portal: string,
  item: Pick<BynderMediaItem, 'version' | 'active'> & Partial<BynderMediaItem>,
  versionSegment: string,
): BynderVersionJob {
  const size = item.size ?? (item.active ? asset.fileSize : undefined);
  return {
    portal,
    brandId: asset.brandId,
    assetId: asset.id,
    version: item.version,
    versionSegment,
    ...(item.id !== undefined ? { mediaItemId: item.id } : {}),
    fileName: fileNameOf(asset, item),
    ...(size !== undefined ? { size } : {}),
    active: item.active,
    ...(item.dateCreated !== undefined ? { versionCreatedAt: item.dateCreated } : {}),
    ...(asset.dateModified !== undefined ? { assetModifiedAt: asset.dateModified } : {}),
    versionKey: bynderVersionKey({ portal, assetId: asset.id, versionSegment }),
  };
}

/** The media item's own file name; else the asset's name with its extension; else the asset id. */
function fileNameOf(asset: BynderAsset, item: Partial<BynderMediaItem>): string {
  if (item.fileName && item.fileName.trim() !== '') return item.fileName;
  const extension = asset.extension[0];
  const name = asset.name.trim() !== '' ? asset.name : asset.id;
  return extension && !name.toLowerCase().endsWith(`.${extension.toLowerCase()}`) ? `${name}.${extension}` : name;
}
