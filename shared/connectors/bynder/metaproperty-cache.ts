/**
 * The portal's metaproperties with their options, cached per process. Metaproperties are
 * portal-wide in Bynder (not per brand), so one listing serves every file.
 *
 * `refresh` reads them again, whatever the cache holds: the assessment calls it before it
 * believes a metadata problem (an unknown metaproperty or option, a required one missing),
 * because a rejection is final and a warm Lambda's listing may predate an option added minutes
 * ago. The same rule as iBinder's schema cache.
 */
import { CachedListing, DEFAULT_BYNDER_CACHE_TTL_MS } from './cached-listing.js';
import type { BynderClient, BynderMetaproperty } from './client/types.js';

export interface MetapropertyCacheOptions {
  ttlMs?: number | undefined;
  now?: () => number;
}

export class MetapropertyCache {
  private readonly listing: CachedListing<BynderMetaproperty[]>;

  constructor(client: Pick<BynderClient, 'listMetaproperties'>, options: MetapropertyCacheOptions = {}) {
    this.listing = new CachedListing(() => client.listMetaproperties(), options.ttlMs ?? DEFAULT_BYNDER_CACHE_TTL_MS, options.now);
  }

  /** Every metaproperty with its options (cached). */
  get(): Promise<BynderMetaproperty[]> {
    return this.listing.get();
  }

  /** Every metaproperty with its options, read from Bynder now. */
  refresh(): Promise<BynderMetaproperty[]> {
    return this.listing.refresh();
  }
}
