/**
 * What the export's planner and worker hold of one Bynder portal: the client (one per process,
 * so the planner's and the workers' calls share its rate budget), the portal's name in the
 * archive, the feed's settings, and the listings the sidecars need (metaproperties with their
 * options, brands), read once and kept for a few minutes rather than once per version.
 *
 * Also the translation between the library's `BynderVersionJob` and the neutral export job
 * on the queue (shared/export/job.ts): the job carries the asset as the planner read it, so
 * the worker's sidecar costs no second asset call.
 */
import type { BynderJobDetails, ExportJob } from '../../../export/job.js';
import { CachedListing, DEFAULT_BYNDER_CACHE_TTL_MS } from '../cached-listing.js';
import type { BynderAsset, BynderBrand, BynderClient, BynderMetaproperty } from '../client/types.js';
import type { BynderConfig } from '../config.js';
import { archivePortalNameOf } from './archive.js';
import { type BynderVersionJob, neutralJobFieldsOf } from './job.js';

export interface BynderExportContext {
  client: BynderClient;
  /** The portal's folder in the archive (`archivePortalName`, else the host's first label). */
  portal: string;
  /** `exportBrands` of the config: brand ids or names; absent: every brand. */
  exportBrands?: readonly string[] | undefined;
  /** Seconds the feed re-reads before the bookmark; default the library's. */
  overlapSeconds?: number | undefined;
  /** Assets per list call; default 1,000. */
  pageSize?: number | undefined;
  /** The portal's metaproperties (cached). */
  metaproperties(): Promise<BynderMetaproperty[]>;
  /** The portal's brands (cached). */
  brands(): Promise<BynderBrand[]>;
}

export interface BynderExportContextOptions {
  client: BynderClient;
  config: Pick<BynderConfig, 'portalUrl' | 'archivePortalName' | 'exportBrands'>;
  overlapSeconds?: number | undefined;
  pageSize?: number | undefined;
  /** TTL of the listings (ms); default 5 minutes. */
  cacheTtlMs?: number | undefined;
  now?: (() => number) | undefined;
}

export function createBynderExportContext(options: BynderExportContextOptions): BynderExportContext {
  const ttl = options.cacheTtlMs ?? DEFAULT_BYNDER_CACHE_TTL_MS;
  const metaproperties = new CachedListing(() => options.client.listMetaproperties(), ttl, options.now);
  const brands = new CachedListing(() => options.client.listBrands(), ttl, options.now);
  return {
    client: options.client,
    portal: archivePortalNameOf(options.config),
    ...(options.config.exportBrands !== undefined ? { exportBrands: options.config.exportBrands } : {}),
    ...(options.overlapSeconds !== undefined ? { overlapSeconds: options.overlapSeconds } : {}),
    ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
    metaproperties: () => metaproperties.get(),
    brands: () => brands.get(),
  };
}

/** The export job (queue message) of one Bynder version. */
export function exportJobOfBynderVersion(
  version: BynderVersionJob,
  asset: BynderAsset,
  run: { runId: string; startedAt: string },
): ExportJob {
  const neutral = neutralJobFieldsOf(version);
  const { mediaItems: _items, ...assetFields } = asset;
  return {
    connector: 'bynder',
    runId: run.runId,
    runStartedAt: run.startedAt,
    ...neutral,
    status: version.active ? 'active' : 'inactive',
    metadata: [],
    inPendingMarker: false,
    bynder: {
      portal: version.portal,
      version: version.version,
      versionSegment: version.versionSegment,
      ...(version.mediaItemId !== undefined ? { mediaItemId: version.mediaItemId } : {}),
      active: version.active,
      ...(version.size !== undefined ? { size: version.size } : {}),
      ...(version.versionCreatedAt !== undefined ? { versionCreatedAt: version.versionCreatedAt } : {}),
      ...(version.assetModifiedAt !== undefined ? { assetModifiedAt: version.assetModifiedAt } : {}),
      asset: dropUndefined(assetFields) as BynderJobDetails['asset'],
    },
  };
}

/** The Bynder version a job names, and the asset it carries. */
export function bynderVersionOfJob(job: ExportJob): { version: BynderVersionJob; asset: BynderAsset } {
  const details = job.bynder;
  if (job.connector !== 'bynder' || details === undefined) {
    throw new TypeError(`export job of version ${job.versionId} is not a Bynder job (connector ${job.connector ?? 'ibinder'})`);
  }
  const version: BynderVersionJob = {
    portal: details.portal,
    brandId: job.binderId,
    assetId: job.documentId,
    version: details.version,
    versionSegment: details.versionSegment,
    ...(details.mediaItemId !== undefined ? { mediaItemId: details.mediaItemId } : {}),
    fileName: job.fileName,
    ...(details.size !== undefined ? { size: details.size } : {}),
    active: details.active,
    ...(details.versionCreatedAt !== undefined ? { versionCreatedAt: details.versionCreatedAt } : {}),
    ...(details.assetModifiedAt !== undefined ? { assetModifiedAt: details.assetModifiedAt } : {}),
    versionKey: job.versionId,
  };
  return { version, asset: { ...details.asset } };
}

/**
 * True for storage refusing an expired download location: a 403 that is not Bynder's API
 * refusing the integration (that one is `auth`, and asking for a new location would not help).
 */
export function isExpiredBynderLink(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const status = (err as { status?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return status === 403 && (err as { kind?: unknown }).kind !== 'auth';
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
