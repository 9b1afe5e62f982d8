/**
 * The commit marker as Bynder holds it: a Bynder tag `s3-ingest-<token>` on the asset a new-asset
 * save creates. The token is the hex of a hash of the S3 object version's identity (the ledger's
 * key), so every delivery of one object version sets and looks for the same tag, and no other
 * object version's. Bynder tags are searchable (`GET /api/v4/media/?tags=`), which is how an
 * interrupted save is found again. See README.md ("The commit marker") for why this and not a
 * metaproperty or name + creation time.
 */
import type { CommitMarker } from '../types.js';

export const MARKER_TAG_PREFIX = 's3-ingest-';

/** `s3-ingest-<token>`; the token must be plain hex or letters and digits (it goes into a search). */
export function markerTag(marker: CommitMarker): string {
  if (!/^[0-9A-Za-z]{8,128}$/.test(marker.token)) {
    throw new Error(
      `commit marker token of ${marker.object} must be 8 to 128 letters or digits (a hex hash), so that it can be searched as a Bynder tag`,
    );
  }
  return `${MARKER_TAG_PREFIX}${marker.token.toLowerCase()}`;
}

/** True when an asset's tags hold the marker (Bynder may change a tag's case: compared without it). */
export function hasMarkerTag(tags: readonly string[], tag: string): boolean {
  const wanted = tag.toLowerCase();
  return tags.some((t) => t.trim().toLowerCase() === wanted);
}
