/**
 * Turns a folder path of names (`Drawings/Structural`) into a folder id by walking a binder's
 * drive listing: top-level folders (tabs), then sub-folders level by level. Names match exactly
 * (case-sensitive) after trimming each segment. Listings are cached per binder and folder for a
 * TTL; a name that is not in a cached listing is looked up once more without the cache before
 * it is reported, because a rejection is final and the folder may have been created minutes ago.
 */
import { DEFAULT_BINDER_CACHE_TTL_MS, TtlCache } from './schema-cache.js';
import type { Folder } from './schemas.js';
import type { IBinderClient } from './types.js';

export type FolderPathResolution =
  | { ok: true; folderId: string; names: string[] }
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
    return path
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
    for (const [depth, segment] of segments.entries()) {
      let { folders, cached } = await this.list(binderId, parentId);
      let matches = folders.filter((f) => f.name.trim() === segment);
      if (matches.length === 0 && cached) {
        folders = (await this.list(binderId, parentId, true)).folders;
        matches = folders.filter((f) => f.name.trim() === segment);
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
    }
    // segments is non-empty, so the loop assigned parentId.
    return { ok: true, folderId: parentId as string, names: segments };
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

function sortedNames(folders: readonly Folder[]): string[] {
  return [...new Set(folders.map((f) => f.name.trim()))].sort((a, b) => a.localeCompare(b));
}
