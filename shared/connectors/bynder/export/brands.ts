/**
 * The brands a nightly export covers. The configuration (`exportBrands`) names brands by id or
 * by name, as people write them; the change feed filters by id (`brandId`). Resolved once per
 * run from `GET /api/v4/brands/`, which the sidecars need anyway for the brands' names.
 */
import type { BynderBrand } from '../client/types.js';

export class UnknownExportBrandError extends Error {
  override readonly name = 'UnknownExportBrandError';
  constructor(
    readonly unknown: string[],
    known: readonly BynderBrand[],
  ) {
    const listed = known
      .slice(0, 20)
      .map((b) => `${b.name} (${b.id})`)
      .join(', ');
    super(
      `bynder.exportBrands names ${unknown.map((u) => `"${u}"`).join(', ')}, which the portal does not list as a brand id or name; ` +
        `fix the environment's configuration (brands the integration sees: ${listed || 'none'})`,
    );
  }
}

/**
 * Brand ids for `exportBrands` (ids or names; a name matches regardless of case). Absent or
 * empty: undefined, meaning every brand. Throws when an entry matches no brand: an export that
 * silently left out a misspelt brand would look complete.
 */
export function resolveExportBrandIds(brands: readonly BynderBrand[], exportBrands: readonly string[] | undefined): string[] | undefined {
  if (!exportBrands || exportBrands.length === 0) return undefined;
  const ids: string[] = [];
  const unknown: string[] = [];
  for (const entry of exportBrands) {
    const brand = brands.find((b) => b.id === entry) ?? brands.find((b) => b.name.toLocaleLowerCase() === entry.toLocaleLowerCase());
    if (brand) ids.push(brand.id);
    else unknown.push(entry);
  }
  if (unknown.length > 0) throw new UnknownExportBrandError(unknown, brands);
  return [...new Set(ids)];
}

/** The brand with this id, for the sidecar's brand name. */
export function brandById(brands: readonly BynderBrand[], brandId: string): BynderBrand | undefined {
  return brands.find((b) => b.id === brandId);
}
