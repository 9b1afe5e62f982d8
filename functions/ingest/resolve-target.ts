/**
 * Decides where an object goes: tags > longest-prefix routing rule > environment default.
 *
 * Precedence, as decided for this product:
 * - An `ibinder:binder` tag replaces the whole target: the folder must then come from the tags
 *   too, and the rule's or default's metadata is dropped (it belongs to another binder's schema).
 * - Without a binder tag, the base target is the routing rule with the longest matching key
 *   prefix, else the environment default. A folder tag (`ibinder:folder` or
 *   `ibinder:folder-path`) then moves the file to another folder of that binder.
 * - `ibinder:meta:*` tags add to or override the base target's metadata; `ibinder:version`
 *   overrides its version label; `ibinder:filename` overrides the key's last segment.
 * - An object with no `ibinder:` tags that no rule or default covers is "untagged": its
 *   producer may still be tagging it (upload and tagging are two calls), so it is retried
 *   until `untaggedGraceSeconds` after its LastModified, then rejected.
 */
import type { PipelineConfig } from '../../shared/config/runtime.js';
import type { RoutingRule, TargetSpec } from '../../shared/config/target.js';
import type { ResolvedTarget } from '../../shared/destination/types.js';
import type { FolderResolver } from '../../shared/ibinder/folder-resolver.js';
import { IBinderApiError } from '../../shared/ibinder/errors.js';
import type { Problem } from '../../shared/ledger/types.js';
import { INGEST_TAG_PREFIX, TAG, type IngestTags } from '../../shared/s3/tags.js';
import type { FileRequest, IBinderRefusal, IngestPlan, MetadataInput, TargetSource } from './types.js';

export interface ResolveTargetInput {
  key: string;
  tags: IngestTags;
  /** The object's LastModified: the untagged grace period counts from it. */
  lastModified?: Date | undefined;
  config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'untaggedGraceSeconds'>;
  folders: Pick<FolderResolver, 'resolvePath'>;
  now: Date;
}

export type TargetResolution =
  | { kind: 'resolved'; plan: IngestPlan }
  | { kind: 'untagged'; withinGrace: boolean; graceEndsAt: Date; problem: Problem; request: FileRequest }
  | {
      kind: 'invalid';
      problems: Problem[];
      request: FileRequest;
      /** The binder, when it is known to exist: its schema can still check the metadata. */
      binderId?: string | undefined;
      source?: TargetSource | undefined;
      ibinder?: IBinderRefusal | undefined;
    };

/** The routing rule whose prefix is the longest that the key starts with. */
export function matchRoutingRule(key: string, rules: readonly RoutingRule[]): RoutingRule | undefined {
  let best: RoutingRule | undefined;
  for (const rule of rules) {
    if (key.startsWith(rule.prefix) && (!best || rule.prefix.length > best.prefix.length)) best = rule;
  }
  return best;
}

/** The document name an object gets without an `ibinder:filename` tag: the key's last segment. */
export function fileNameFromKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

export async function resolveTarget(input: ResolveTargetInput): Promise<TargetResolution> {
  const { key, tags, config } = input;
  const rule = matchRoutingRule(key, config.routingRules);
  const base: { spec: TargetSpec; source: TargetSource } | undefined = rule
    ? { spec: rule.target, source: { kind: 'rule', prefix: rule.prefix } }
    : config.defaultTarget
      ? { spec: config.defaultTarget, source: { kind: 'default' } }
      : undefined;

  const replaced = tags.binderId !== undefined;
  const request: FileRequest = {
    fileName: tags.fileName ?? fileNameFromKey(key),
    fileNameField: tags.fileName !== undefined ? TAG.fileName : 'key',
    version: tags.version ?? (replaced ? undefined : base?.spec.version),
    metadata: mergeMetadata(replaced ? undefined : base, tags),
  };

  if (!tags.present && !base) {
    const lastModified = input.lastModified ?? input.now;
    const graceEndsAt = new Date(lastModified.getTime() + config.untaggedGraceSeconds * 1000);
    return {
      kind: 'untagged',
      withinGrace: input.now.getTime() < graceEndsAt.getTime(),
      graceEndsAt,
      request,
      problem: {
        code: 'untagged',
        field: TAG.binder,
        message: `the object has no ${TAG.binder} tags and no routing rule or default target of this environment covers "${key}"`,
        fix:
          `tag the object with ${TAG.binder} and ${TAG.folder} or ${TAG.folderPath} (and any ${TAG.metaPrefix}<id> the binder requires), ` +
          `within ${config.untaggedGraceSeconds} s of uploading it, or add a routing rule for its prefix`,
      },
    };
  }

  // Binder and folder, each with the field a person would fix.
  let binder: { id: string; field: string; source: TargetSource };
  let folder: { id?: string | undefined; path?: string | undefined; field: string };
  if (replaced) {
    binder = { id: tags.binderId as string, field: TAG.binder, source: { kind: 'tags' } };
    if (tags.folderId === undefined && tags.folderPath === undefined) {
      return {
        kind: 'invalid',
        request,
        source: binder.source,
        problems: [
          {
            code: 'target',
            field: TAG.folder,
            message: `${TAG.binder} is set ("${binder.id}") but no folder is: a binder given by tag needs its folder from the tags too`,
            fix: `add ${TAG.folder} (a folder id) or ${TAG.folderPath} (folder names from the binder's top, "/"-separated)`,
          },
        ],
      };
    }
    folder = tagFolder(tags);
  } else if (base) {
    const configPath = configPathOf(base.source);
    binder = { id: base.spec.binderId, field: binderFieldOf(base.source), source: base.source };
    folder =
      tags.folderId !== undefined || tags.folderPath !== undefined
        ? tagFolder(tags)
        : { id: base.spec.folderId, path: base.spec.folderPath, field: `${configPath}.${base.spec.folderId ? 'folderId' : 'folderPath'}` };
  } else {
    return {
      kind: 'invalid',
      request,
      problems: [
        {
          code: 'target',
          field: TAG.binder,
          message: `the object has ${INGEST_TAG_PREFIX} tags but no ${TAG.binder}, and no routing rule or default target of this environment covers "${key}"`,
          fix: `add the ${TAG.binder} tag (the binder id) with ${TAG.folder} or ${TAG.folderPath}`,
        },
      ],
    };
  }

  if (folder.id !== undefined) {
    // A folder id is not looked up here: the commit answers 404 for a wrong one.
    const target: ResolvedTarget = { binderId: binder.id, folderId: folder.id };
    return { kind: 'resolved', plan: { ...request, target, source: binder.source } };
  }

  const path = folder.path ?? '';
  let resolution;
  try {
    resolution = await input.folders.resolvePath(binder.id, path);
  } catch (err) {
    if (err instanceof IBinderApiError && err.kind === 'permanent') {
      return {
        kind: 'invalid',
        request,
        source: binder.source,
        ibinder: { status: err.status, title: err.title, traceId: err.traceId },
        problems: [unknownBinderProblem(binder, err)],
      };
    }
    throw err;
  }
  if (resolution.ok) {
    const target: ResolvedTarget = { binderId: binder.id, folderId: resolution.folderId, folderPath: resolution.names.join('/') };
    return { kind: 'resolved', plan: { ...request, target, source: binder.source } };
  }
  const where = resolution.parentPath.length > 0 ? `in "${resolution.parentPath.join('/')}"` : 'at the top';
  const message =
    resolution.reason === 'empty-path'
      ? `the folder path ${JSON.stringify(path)} names no folder`
      : resolution.reason === 'ambiguous-segment'
        ? `folder path "${path}": more than one folder named "${resolution.segment}" ${where} of binder ${binder.id}`
        : `folder path "${path}": there is no folder "${resolution.segment}" ${where} of binder ${binder.id}`;
  return {
    kind: 'invalid',
    request,
    binderId: binder.id,
    source: binder.source,
    problems: [
      {
        code: 'target',
        field: folder.field,
        message: `${message}; folders ${where}: ${resolution.available.length > 0 ? resolution.available.map((n) => `"${n}"`).join(', ') : '(none)'}`,
        fix:
          resolution.reason === 'ambiguous-segment'
            ? `give the folder by id with ${TAG.folder} instead of by path`
            : 'use the exact folder names (case-sensitive) from the binder\'s top, "/"-separated, or give the folder id',
      },
    ],
  };
}

/** The field a person edits to change the binder of a target from `source`. */
export function binderFieldOf(source: TargetSource): string {
  if (source.kind === 'tags') return TAG.binder;
  return `${configPathOf(source)}.binderId`;
}

function configPathOf(source: TargetSource): string {
  return source.kind === 'rule' ? `routingRules[prefix="${source.prefix}"].target` : 'defaultTarget';
}

function tagFolder(tags: IngestTags): { id?: string | undefined; path?: string | undefined; field: string } {
  return tags.folderId !== undefined
    ? { id: tags.folderId, field: TAG.folder }
    : { path: tags.folderPath, field: TAG.folderPath };
}

/** Rule/default metadata first (as config fields), then tags on top (as tag keys). */
function mergeMetadata(base: { spec: TargetSpec; source: TargetSource } | undefined, tags: IngestTags): MetadataInput[] {
  const merged = new Map<string, MetadataInput>();
  if (base) {
    const configPath = configPathOf(base.source);
    for (const [elementId, value] of Object.entries(base.spec.metadata)) {
      merged.set(elementId, { elementId, value, field: `${configPath}.metadata.${elementId}` });
    }
  }
  for (const [elementId, value] of Object.entries(tags.metadata)) {
    merged.set(elementId, { elementId, value, field: `${TAG.metaPrefix}${elementId}` });
  }
  return [...merged.values()];
}

/** A permanent refusal while listing a binder's folders means the binder is unknown or not ours. */
export function unknownBinderProblem(binder: { id: string; field: string }, err: IBinderApiError): Problem {
  const trace = err.traceId ? `, traceId ${err.traceId}` : '';
  return {
    code: 'target',
    field: binder.field,
    message:
      err.status === 404
        ? `binder "${binder.id}" does not exist or is not visible to this tenant (iBinder answered 404${trace})`
        : `iBinder refused access to binder "${binder.id}" (${err.status}${err.title ? ` ${err.title}` : ''}${trace})`,
    fix:
      err.status === 404
        ? 'check the binder id (9 characters, from the binder\'s URL in iBinder)'
        : 'ask the tenant administrator to give the integration access to this binder, or use another binder',
  };
}
