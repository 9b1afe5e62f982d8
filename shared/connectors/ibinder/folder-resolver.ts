/**
 * Turns a folder path of names (`Drawings/Structural`) into a folder id by walking a binder's
 * drive listing: top-level folders (tabs), then sub-folders level by level. Names match exactly
 * (case-sensitive) after trimming each segment, in NFC on both sides, so a path typed on a Mac
 * (NFD) finds the folder named on Windows (NFC). Listings are cached per binder and folder for a
 * TTL; a name that is not in a cached listing is looked up once more without the cache before
 * it is reported, because a rejection is final and the folder may have been created minutes ago.
 *
 * It also locates a folder given by id (`locateFolder`): iBinder has no call that returns one
 * folder with its parents, so the same listings are walked from the top, breadth first, until the
 * id is found. That proves the folder exists in that binder (before any byte moves, instead of a
 * 404 at the commit) and yields its ancestry, which the allowlist's folder subtrees need.
 */
import { nfc } from '../../config/unicode.js';
import { DEFAULT_BINDER_CACHE_TTL_MS, TtlCache } from './schema-cache.js';
import type { Folder } from './client/schemas.js';
import type { IBinderClient } from './client/types.js';

export type FolderPathResolution =
  | {
      ok: true;
      folderId: string;
      names: string[];
      /** The ids of the folders on the path, from the binder's top to the folder itself. */
      ids: string[];
    }
  | {
      ok: false;
      reason: 'empty-path' | 'unknown-segment' | 'ambiguous-segment';
      /** The segment that could not be resolved. */
      segment: string;
      /** 0-based index of that segment. */
      depth: number;
      /** Names resolved before it, from the binder's top. */
      parentPath: string[];
      /** Folder names available at that level (for the report), sorted. */
      available: string[];
    };

/** Where a folder given by id sits in its binder, or that it is not there. */
export type FolderLocation =
  | {
      ok: true;
      /** The folder's id as the listing spells it. */
      folderId: string;
      /** Folder names (NFC, trimmed) from the binder's top to the folder itself. */
      names: string[];
      /** Folder ids from the binder's top to the folder itself. */
      ids: string[];
    }
  | { ok: false };

/** Listings fetched at once while walking one level of a binder's tree. */
const WALK_CONCURRENCY = 4;

export interface FolderResolverOptions {
  ttlMs?: number;
  now?: () => number;
  /** Drive domain; iBinder's binders live under `binders`. */
  domain?: string;
}

export class FolderResolver {
  private readonly cache: TtlCache<Folder[]>;
  private readonly domain: string | undefined;

  constructor(
    private readonly client: Pick<IBinderClient, 'listTopFolders' | 'listSubFolders'>,
    options: FolderResolverOptions = {},
  ) {
    this.cache = new TtlCache(options.ttlMs ?? DEFAULT_BINDER_CACHE_TTL_MS, options.now);
    this.domain = options.domain;
  }

  /** Splits a folder path into trimmed, non-empty segments (leading/trailing `/` ignored). */
  static segments(path: string): string[] {
    return nfc(path)
      .split('/')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }

  /** Resolves `path` in `binderId`. Errors of the iBinder client (unknown binder: 404) propagate. */
  async resolvePath(binderId: string, path: string): Promise<FolderPathResolution> {
    const segments = FolderResolver.segments(path);
    if (segments.length === 0) {
      return { ok: false, reason: 'empty-path', segment: path, depth: 0, parentPath: [], available: await this.names(binderId, undefined) };
    }
    let parentId: string | undefined;
    const ids: string[] = [];
    for (const [depth, segment] of segments.entries()) {
      let { folders, cached } = await this.list(binderId, parentId);
      let matches = folders.filter((f) => nameOf(f) === segment);
      if (matches.length === 0 && cached) {
        folders = (await this.list(binderId, parentId, true)).folders;
        matches = folders.filter((f) => nameOf(f) === segment);
      }
      const [match, ...others] = matches;
      if (!match || others.length > 0) {
        return {
          ok: false,
          reason: match ? 'ambiguous-segment' : 'unknown-segment',
          segment,
          depth,
          parentPath: segments.slice(0, depth),
          available: sortedNames(folders),
        };
      }
      parentId = match.id;
      ids.push(match.id);
    }
    // segments is non-empty, so the loop assigned parentId.
    return { ok: true, folderId: parentId as string, names: segments, ids };
  }

  /**
   * Finds the folder `folderId` in `binderId` by walking the binder's listings from the top
   * (ids compared without regard to case). A walk that did not find it through cached listings
   * is repeated without the cache before the folder is reported missing. Errors of the iBinder
   * client (unknown binder: 404) propagate.
   */
  async locateFolder(binderId: string, folderId: string): Promise<FolderLocation> {
    const first = await this.walkTo(binderId, folderId, false);
    if (first.location.ok || !first.usedCache) return first.location;
    return (await this.walkTo(binderId, folderId, true)).location;
  }

  private async walkTo(binderId: string, folderId: string, fresh: boolean): Promise<{ location: FolderLocation; usedCache: boolean }> {
    const wanted = folderId.toLowerCase();
    const seen = new Set<string>();
    let usedCache = false;
    // Each entry: a folder and the chain of (id, name) from the top to it.
    let level: { id: string | undefined; ids: string[]; names: string[] }[] = [{ id: undefined, ids: [], names: [] }];
    while (level.length > 0) {
      const next: typeof level = [];
      for (let start = 0; start < level.length; start += WALK_CONCURRENCY) {
        const batch = level.slice(start, start + WALK_CONCURRENCY);
        const listings = await Promise.all(batch.map((parent) => this.list(binderId, parent.id, fresh)));
        for (const [i, listing] of listings.entries()) {
          const parent = batch[i] as (typeof batch)[number];
          usedCache ||= listing.cached;
          for (const folder of listing.folders) {
            const key = folder.id.toLowerCase();
            if (seen.has(key)) continue;
            seen.add(key);
            const chain = { id: folder.id, ids: [...parent.ids, folder.id], names: [...parent.names, nameOf(folder)] };
            if (key === wanted) return { location: { ok: true, folderId: folder.id, ids: chain.ids, names: chain.names }, usedCache };
            next.push(chain);
          }
        }
      }
      level = next;
    }
    return { location: { ok: false }, usedCache };
  }

  private async names(binderId: string, parentId: string | undefined): Promise<string[]> {
    return sortedNames((await this.list(binderId, parentId)).folders);
  }

  private async list(binderId: string, parentId: string | undefined, fresh = false): Promise<{ folders: Folder[]; cached: boolean }> {
    const key = parentId === undefined ? binderId : `${binderId}/${parentId}`;
    const { value, cached } = await this.cache.get(
      key,
      () =>
        parentId === undefined
          ? this.client.listTopFolders(binderId, this.domain)
          : this.client.listSubFolders(binderId, parentId, this.domain),
      { fresh },
    );
    return { folders: value, cached };
  }
}

/** A folder's name as paths are compared: trimmed, NFC. */
function nameOf(folder: Folder): string {
  return nfc(folder.name.trim());
}

function sortedNames(folders: readonly Folder[]): string[] {
  return [...new Set(folders.map(nameOf))].sort((a, b) => a.localeCompare(b));
}
