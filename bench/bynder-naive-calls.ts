/**
 * The naive API-call count of a Bynder export run (issue 10), the yardstick of the export's
 * planning: a client that keeps no bookmark reads the whole portal's listing every night and
 * asks for each asset's versions, one `GET /api/v4/media/{id}/?versions=1` per asset.
 *
 * As in the iBinder export bench, the naive count takes the list calls the run itself made
 * (pages are needed either way) plus one versions call per asset in the portal, so that the
 * check asks what the issue asks: no asset call beyond one per asset, and on an unchanged night
 * none at all. The fewest list calls that can hold the portal (one per page of 1,000, Bynder's
 * largest `limit`: 5 for 5,000 assets) is reported beside it, so that a feed that pages more
 * than it must (the change feed's keyset steps re-read each page's last second) shows.
 * Download locations (one per exported version, whatever the planning) are the worker's and are
 * counted in neither.
 */
import { MAX_PAGE_SIZE } from '../shared/connectors/bynder/export/changes.js';

function wholeNumber(value: number, what: string, least: number): void {
  if (!Number.isInteger(value) || value < least) throw new RangeError(`${what} must be a whole number of at least ${least}, got ${value}`);
}

/** One list call per page of `pageSize`; a portal without assets still answers one empty page. */
export function fewestListCalls(assets: number, pageSize: number = MAX_PAGE_SIZE): number {
  wholeNumber(assets, 'asset count', 0);
  wholeNumber(pageSize, 'page size', 1);
  return Math.max(1, Math.ceil(assets / pageSize));
}

/** The list calls made plus one versions call per asset in the portal. */
export function naiveExportCalls(assets: number, listCallsMade: number): number {
  wholeNumber(assets, 'asset count', 0);
  wholeNumber(listCallsMade, 'list call count', 0);
  return listCallsMade + assets;
}
