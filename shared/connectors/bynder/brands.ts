/**
 * The portal's brands, cached per process, and the resolution of a brand as people give it (in
 * a tag, a routing rule, an allow list): by id, exactly, else by name, in NFC and without case.
 *
 * A brand that does not resolve is looked up once more in a fresh listing before it is believed
 * unknown: a brand created minutes ago must not get a file rejected by a warm Lambda's cache.
 */
import { nfc } from '../../config/unicode.js';
import { CachedListing, DEFAULT_BYNDER_CACHE_TTL_MS } from './cached-listing.js';
import type { BynderBrand, BynderClient } from './client/types.js';

export type BrandResolution =
  | { kind: 'found'; brand: BynderBrand }
  /** No brand has this id or name. */
  | { kind: 'unknown'; brands: readonly BynderBrand[] }
  /** Several brands have this name (differing in case only): the id must be given. */
  | { kind: 'ambiguous'; matches: readonly BynderBrand[] };

export interface BrandDirectoryOptions {
  ttlMs?: number | undefined;
  now?: () => number;
}

export class BrandDirectory {
  private readonly listing: CachedListing<BynderBrand[]>;

  constructor(client: Pick<BynderClient, 'listBrands'>, options: BrandDirectoryOptions = {}) {
    this.listing = new CachedListing(() => client.listBrands(), options.ttlMs ?? DEFAULT_BYNDER_CACHE_TTL_MS, options.now);
  }

  /** Every brand (cached). */
  list(): Promise<BynderBrand[]> {
    return this.listing.get();
  }

  /** Every brand, read from Bynder now. */
  refresh(): Promise<BynderBrand[]> {
    return this.listing.refresh();
  }

  /** The brand an id or name names; a miss is checked against a fresh listing before it is reported. */
  async resolve(given: string): Promise<BrandResolution> {
    const first = matchBrand(given, await this.list());
    if (first.kind === 'found') return first;
    return matchBrand(given, await this.refresh());
  }
}

/** By id (exact), else by name: exact NFC, else NFC without case when only one brand matches. */
export function matchBrand(given: string, brands: readonly BynderBrand[]): BrandResolution {
  const value = nfc(given.trim());
  const byId = brands.find((b) => b.id === value);
  if (byId) return { kind: 'found', brand: byId };
  const byName = brands.filter((b) => nfc(b.name.trim()) === value);
  if (byName.length === 1 && byName[0]) return { kind: 'found', brand: byName[0] };
  const lower = value.toLowerCase();
  const loose = byName.length > 1 ? byName : brands.filter((b) => nfc(b.name.trim()).toLowerCase() === lower);
  if (loose.length === 1 && loose[0]) return { kind: 'found', brand: loose[0] };
  if (loose.length > 1) return { kind: 'ambiguous', matches: loose };
  return { kind: 'unknown', brands };
}

/** `Marketing (id B1)`: how problems name a brand. */
export function describeBrand(brand: Pick<BynderBrand, 'id' | 'name'>): string {
  return `"${brand.name}" (id ${brand.id})`;
}
