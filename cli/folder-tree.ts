/**
 * A binder's folder tree as the `ibinder:folder-path` tag sees it. The ingest resolves a path
 * by names, level by level, exact and case-sensitive after trimming (FolderResolver); so each
 * folder's path here is exactly the value that tag accepts, and a folder that no path can
 * reach (a "/" in its name, a twin name beside it, characters S3 refuses in tag values) says
 * so and points to its id instead.
 */
import pLimit from 'p-limit';
import { S3_TAG_CHARS } from '../shared/config/target.js';
import { FolderResolver } from '../shared/connectors/ibinder/index.js';
import type { Folder } from '../shared/connectors/ibinder/index.js';
import type { IBinderClient } from '../shared/connectors/ibinder/index.js';
import { TAG } from '../shared/connectors/ibinder/index.js';
import { MAX_TAG_VALUE_LENGTH } from '../shared/s3/tags.js';

export interface FolderNode {
  id: string;
  name: string;
  /** Names from the binder's top, "/"-separated: the `ibinder:folder-path` value. */
  path: string;
  /** 0 for a top-level folder (tab). */
  depth: number;
  parentId?: string | undefined;
  /** True when `path` resolves to this folder and can be written as a tag value. */
  pathUsableAsTag: boolean;
  /** Why not, and what to use instead. */
  pathNote?: string | undefined;
}

export interface WalkOptions {
  /** Deepest level listed (0 = top-level folders only); default all. */
  maxDepth?: number | undefined;
  /** Listing calls in flight at once; default 4 (iBinder rate-limits). */
  concurrency?: number | undefined;
}

/** Lists the whole tree, depth first, siblings by name. Errors of the client (unknown binder) propagate. */
export async function walkFolderTree(
  client: Pick<IBinderClient, 'listTopFolders' | 'listSubFolders'>,
  binderId: string,
  options: WalkOptions = {},
): Promise<FolderNode[]> {
  const limit = pLimit(options.concurrency ?? 4);
  const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;

  const visit = async (
    folders: Folder[],
    parent: { path: string; reachable: boolean; id?: string } | undefined,
    depth: number,
  ): Promise<FolderNode[]> => {
    const sorted = [...folders].sort((a, b) => a.name.localeCompare(b.name));
    const nameCounts = new Map<string, number>();
    for (const f of sorted) nameCounts.set(f.name.trim(), (nameCounts.get(f.name.trim()) ?? 0) + 1);

    const nodes = sorted.map((folder) => {
      const name = folder.name.trim();
      const path = parent ? `${parent.path}/${name}` : name;
      const reason =
        !parent || parent.reachable ? unreachableReason(folder.name, nameCounts.get(name) ?? 0) : 'a parent folder cannot be named by path';
      const tagReason = reason ?? tagValueReason(path);
      const node: FolderNode = {
        id: folder.id,
        name: folder.name,
        path,
        depth,
        parentId: parent?.id,
        pathUsableAsTag: tagReason === undefined,
        pathNote:
          reason !== undefined
            ? `${reason}: use ${TAG.folder} with the id`
            : tagReason !== undefined
              ? `${tagReason}: use ${TAG.folder} with the id (a routing rule's folderPath may still use the path)`
              : undefined,
      };
      return { node, reachable: reason === undefined };
    });

    const subtrees = await Promise.all(
      nodes.map(async ({ node, reachable }) => {
        if (depth >= maxDepth) return [node];
        const children = await limit(() => client.listSubFolders(binderId, node.id));
        return [node, ...(await visit(children, { path: node.path, reachable, id: node.id }, depth + 1))];
      }),
    );
    return subtrees.flat();
  };

  return visit(await limit(() => client.listTopFolders(binderId)), undefined, 0);
}

function unreachableReason(name: string, siblingsWithName: number): string | undefined {
  if (name.includes('/')) return `the name contains "/", which separates path segments`;
  if (FolderResolver.segments(name).length === 0) return 'the name is empty';
  if (siblingsWithName > 1) return 'another folder beside it has the same name, so the path is ambiguous';
  return undefined;
}

function tagValueReason(path: string): string | undefined {
  if (!S3_TAG_CHARS.test(path)) {
    const bad = [...new Set([...path].filter((c) => !S3_TAG_CHARS.test(c)))].map((c) => `"${c}"`).join(' ');
    return `the path contains ${bad}, which S3 does not allow in tag values`;
  }
  if ([...path].length > MAX_TAG_VALUE_LENGTH)
    return `the path is longer than the ${MAX_TAG_VALUE_LENGTH} characters S3 allows in a tag value`;
  return undefined;
}
