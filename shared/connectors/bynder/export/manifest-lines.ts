/**
 * What a Bynder run adds to the run's manifest beyond the version lines every export writes:
 * one line per asset that a listing returned and that then answered 404, i.e. was deleted in
 * the portal. The archive keeps every version of it; the line is the tenant's record that the
 * asset is gone from Bynder, and since when the run knows it.
 *
 * ```json
 * {"type":"deleted-asset","runId":"...","source":"bynder","portal":"acme","brandId":"...",
 *  "assetId":"...","name":"Site plan","lastModified":"2026-11-01T10:00:00Z","at":"2026-11-02T02:00:05.000Z"}
 * ```
 *
 * Readers ignore fields they do not know; a reader that does not know this type skips it.
 */
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import type { AssetVersions } from './versions.js';

export const DeletedAssetLineSchema = lazySchema(() =>
  z.object({
    type: z.literal('deleted-asset'),
    runId: z.string(),
    source: z.literal('bynder'),
    portal: z.string(),
    brandId: z.string(),
    assetId: z.string(),
    name: z.string(),
    /** The asset's dateModified as the listing gave it; null when it gave none. */
    lastModified: z.nullable(z.string()),
    /** When the run found the asset gone. */
    at: z.string(),
  }),
);
export type DeletedAssetLine = z.infer<typeof DeletedAssetLineSchema>;

export function deletedAssetLine(
  deleted: Extract<AssetVersions, { deleted: true }>,
  context: { runId: string; portal: string; at: Date },
): DeletedAssetLine {
  return {
    type: 'deleted-asset',
    runId: context.runId,
    source: 'bynder',
    portal: context.portal,
    brandId: deleted.brandId,
    assetId: deleted.assetId,
    name: deleted.name,
    lastModified: deleted.dateModified ?? null,
    at: context.at.toISOString(),
  };
}
