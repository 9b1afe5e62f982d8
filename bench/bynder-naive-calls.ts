/**
 * The naive API-call count of a Bynder export run (issue 10), the yardstick of the export's
 * planning: a client that keeps no bookmark reads the whole portal's listing every night and
 * asks for each asset's versions, one `GET /api/v4/media/{id}/?versions=1` per asset. The
 * listing needs at least one call per page of 1,000 (Bynder's largest `limit`), so for 5,000
 * assets the naive count is 5 list calls + 5,000 asset calls = 5,005, the same on a first run
 * and on an unchanged night. Download locations (one per exported version, whatever the
 * planning) are the worker's and are counted in neither.
 */
import { MAX_PAGE_SIZE } from '../shared/connectors/bynder/export/changes.js';

export interface NaiveExportCalls {
  /** One per page of `pageSize` assets; a portal without assets still answers one empty page. */
  listCalls: number;
  /** One versions call per asset. */
  assetCalls: number;
  total: number;
}

export function naiveExportCalls(assets: number, pageSize: number = MAX_PAGE_SIZE): NaiveExportCalls {
  if (!Number.isInteger(assets) || assets < 0) throw new RangeError(`asset count must be a whole number of at least 0, got ${assets}`);
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`page size must be a whole number of at least 1, got ${pageSize}`);
  const listCalls = Math.max(1, Math.ceil(assets / pageSize));
  return { listCalls, assetCalls: assets, total: listCalls + assets };
}
