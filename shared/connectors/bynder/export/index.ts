/**
 * The Bynder side of the nightly export, as the planner and the worker use it:
 *
 * - planner: `resolveExportBrandIds` (once per run), `listChangedAssets` / `readChangePage`
 *   (save each page's `cursor`; `holdBack` what could not be planned; `nextBookmark` once the
 *   feed is done), `newVersionsOf` per changed asset (jobs, or a deletion for
 *   `deletedAssetLine`), `neutralJobFieldsOf` for the queue message and the ledger key;
 * - worker: `openBynderVersion` (fresh location per open), `bynderArchiveKey`,
 *   `buildBynderSidecar` (with the portal's metaproperties and brands, loaded once per run).
 */
export { resolveExportBrandIds, brandById, UnknownExportBrandError } from './brands.js';
export {
  type ChangeBookmark,
  ChangeBookmarkSchema,
  type ChangeCursor,
  ChangeCursorSchema,
  type ChangeFeedRequest,
  ChangeFeedStuckError,
  type ChangePage,
  DEFAULT_OVERLAP_SECONDS,
  holdBack,
  InvalidChangeFeedRequestError,
  listChangedAssets,
  MAX_PAGE_SIZE,
  nextBookmark,
  parseChangeCursor,
  readChangePage,
  startChangeCursor,
} from './changes.js';
export { type BynderVersionJob, bynderVersionKey, neutralJobFieldsOf } from './job.js';
export {
  archivePortalNameOf,
  buildBynderSidecar,
  type BynderSidecar,
  BynderSidecarSchema,
  bynderArchiveKey,
  bynderSidecarKey,
  serializeBynderSidecar,
} from './archive.js';
export { type DeletedAssetLine, DeletedAssetLineSchema, deletedAssetLine } from './manifest-lines.js';
export { isExpiredDownloadLinkError, type OpenedBynderVersion, openBynderVersion } from './open-version.js';
export {
  type AssetVersions,
  type ExportedAmong,
  type ListedAsset,
  type NewVersions,
  newVersionsOf,
  UnversionedAssetError,
  versionsOf,
} from './versions.js';
export {
  type BynderExportContext,
  type BynderExportContextOptions,
  bynderVersionOfJob,
  createBynderExportContext,
  exportJobOfBynderVersion,
  isExpiredBynderLink,
} from './context.js';
