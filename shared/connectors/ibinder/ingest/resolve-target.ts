/**
 * Decides where an object goes: tags > longest-prefix routing rule > environment default.
 *
 * Precedence, as decided for this product:
 * - Without a binder tag, the base target is the routing rule with the longest matching key
 *   prefix, else the environment default. A folder tag (`ibinder:folder` or
 *   `ibinder:folder-path`) moves the file to another folder of that binder.
 * - An `ibinder:binder` tag naming the base target's own binder changes nothing else: the base
 *   folder, metadata and version label still apply, and tags win element by element.
 * - An `ibinder:binder` tag naming another binder replaces the whole target: the folder must
 *   then come from the tags too, and the base metadata and version label are dropped (they
 *   belong to another binder's schema).
 * - `ibinder:meta:*` tags add to or override the base metadata; `ibinder:version` overrides its
 *   version label; `ibinder:filename` overrides the key's last segment.
 * - An object with no `ibinder:` tags that no rule or default covers is "untagged": its
 *   producer may still be tagging it (upload and tagging are two calls), so it is retried
 *   until `untaggedGraceSeconds` after its LastModified, then rejected.
 *
 * Two steps, so that the allowlist can refuse a binder before anything in it is looked up:
 * `chooseTarget` (no I/O: which binder, which folder by id or path, from where) and
 * `locateTarget` (the folder found in the binder's listing, by path or by id, with its ancestry).
 * Keys are matched and file names taken in NFC.
 */
import type { PipelineConfig } from '../../../config/runtime.js';
import type { RoutingRule, TargetSpec } from '../../../config/target.js';
import { nfc } from '../../../config/unicode.js';
import type { ResolvedTarget } from '../destination-types.js';
import type { FolderResolver } from '../index.js';
import { IBinderApiError } from '../index.js';
import type { Problem } from '../../../ledger/types.js';
import { INGEST_TAG_PREFIX, TAG, type IngestTags } from '../tags.js';
import type { FileRequest, IBinderRefusal, IngestPlan, MetadataInput, TargetSource } from './types.js';

export interface ChooseTargetInput {
  key: string;
  tags: IngestTags;
  /** The object's LastModified: the untagged grace period counts from it. */
  lastModified?: Date | undefined;
  config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'untaggedGraceSeconds'>;
  now: Date;
}

export interface ResolveTargetInput extends ChooseTargetInput {
  folders: Pick<FolderResolver, 'resolvePath' | 'locateFolder'>;
}

/** The folder a target asks for, by id or by path, with the field a person would fix. */
export interface FolderChoice {
  id?: string | undefined;
  path?: string | undefined;
  field: string;
}

/** The binder a target asks for, with the field a person would fix and where it came from. */
export interface BinderChoice {
  id: string;
  field: string;
  source: TargetSource;
}

export type UntaggedObject = { kind: 'untagged'; withinGrace: boolean; graceEndsAt: Date; problem: Problem; request: FileRequest };

/** The target could not be resolved; what is known is kept for the report. */
export interface InvalidTarget {
  kind: 'invalid';
  problems: Problem[];
  request: FileRequest;
  /** The binder, when it is known to exist: its schema can still check the metadata. */
  binderId?: string | undefined;
  source?: TargetSource | undefined;
  ibinder?: IBinderRefusal | undefined;
}

/** A binder and a folder (by id or path) are chosen; nothing has been looked up yet. */
export interface ChosenTarget {
  kind: 'chosen';
  request: FileRequest;
  binder: BinderChoice;
  folder: FolderChoice;
  /** The routing rule whose prefix the key matched, if any: its allowlist applies. */
  rule?: RoutingRule | undefined;
  /**
   * The rule or default whose folder, metadata and version were dropped because the tags name
   * another binder; reports say so instead of advising to set metadata there.
   */
  droppedBase?: { binderId: string; source: TargetSource } | undefined;
}

export type TargetChoice = UntaggedObject | InvalidTarget | ChosenTarget;

/** Where the target folder sits in its binder: ids and names from the binder's top to it. */
export interface FolderAncestry {
  ids: string[];
  names: string[];
}

/** The target's folder found in its binder, with its ancestry (the allowlist's subtrees need it). */
export interface LocatedTarget {
  kind: 'resolved';
  plan: IngestPlan;
  ancestry: FolderAncestry;
}

export type TargetResolution = LocatedTarget | UntaggedObject | InvalidTarget;

/** The routing rule whose prefix is the longest that the key starts with (both in NFC). */
export function matchRoutingRule(key: string, rules: readonly RoutingRule[]): RoutingRule | undefined {
  const normalized = nfc(key);
  let best: RoutingRule | undefined;
  for (const rule of rules) {
    const prefix = nfc(rule.prefix);
    if (normalized.startsWith(prefix) && (!best || prefix.length > nfc(best.prefix).length)) best = rule;
  }
  return best;
}

/** The document name an object gets without an `ibinder:filename` tag: the key's last segment, in NFC. */
export function fileNameFromKey(key: string): string {
  return nfc(key.slice(key.lastIndexOf('/') + 1));
}

/** Picks binder and folder from tags, rule and default, without any lookup. */
export function chooseTarget(input: ChooseTargetInput): TargetChoice {
  const { key, tags, config } = input;
  const rule = matchRoutingRule(key, config.routingRules);
  const base: { spec: TargetSpec; source: TargetSource } | undefined = rule
    ? { spec: rule.target, source: { kind: 'rule', prefix: rule.prefix } }
    : config.defaultTarget
      ? { spec: config.defaultTarget, source: { kind: 'default' } }
      : undefined;

  // A binder tag naming the base's own binder keeps the base's folder, metadata and version.
  const replaced = tags.binderId !== undefined && tags.binderId !== base?.spec.binderId;
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

  const tagged = tags.folderId !== undefined || tags.folderPath !== undefined;
  if (replaced) {
    const binder: BinderChoice = { id: tags.binderId as string, field: TAG.binder, source: { kind: 'tags' } };
    if (!tagged) {
      const baseText = base
        ? `, and it is not the binder of the ${base.source.kind === 'rule' ? `routing rule for "${base.source.prefix}"` : 'default target'} (${base.spec.binderId}), whose folder would apply`
        : '';
      return {
        kind: 'invalid',
        request,
        source: binder.source,
        problems: [
          {
            code: 'target',
            field: TAG.folder,
            message: `${TAG.binder} is set ("${binder.id}") but no folder is${baseText}: a binder given by tag needs its folder from the tags too`,
            fix: `add ${TAG.folder} (a folder id) or ${TAG.folderPath} (folder names from the binder's top, "/"-separated)`,
          },
        ],
      };
    }
    return {
      kind: 'chosen',
      request,
      rule,
      binder,
      folder: tagFolder(tags),
      droppedBase: base ? { binderId: base.spec.binderId, source: base.source } : undefined,
    };
  }
  if (base) {
    const configPath = configPathOf(base.source);
    const binder: BinderChoice =
      tags.binderId !== undefined
        ? { id: base.spec.binderId, field: TAG.binder, source: { kind: 'tags' } }
        : { id: base.spec.binderId, field: binderFieldOf(base.source), source: base.source };
    const folder: FolderChoice = tagged
      ? tagFolder(tags)
      : { id: base.spec.folderId, path: base.spec.folderPath, field: `${configPath}.${base.spec.folderId ? 'folderId' : 'folderPath'}` };
    return { kind: 'chosen', request, rule, binder, folder };
  }
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

/**
 * Finds the chosen folder in its binder: a path through the listings, an id by walking them.
 * A folder that is not there is a problem before any byte moves; a permanent refusal of the
 * listing (unknown binder, no access) is a problem too; transient errors are thrown.
 */
export async function locateTarget(
  choice: ChosenTarget,
  folders: Pick<FolderResolver, 'resolvePath' | 'locateFolder'>,
): Promise<LocatedTarget | InvalidTarget> {
  const { request, binder, folder } = choice;
  const refused = (err: unknown): InvalidTarget | undefined =>
    err instanceof IBinderApiError && err.kind === 'permanent'
      ? {
          kind: 'invalid',
          request,
          source: binder.source,
          ibinder: { status: err.status, title: err.title, traceId: err.traceId },
          problems: [unknownBinderProblem(binder, err)],
        }
      : undefined;

  if (folder.id !== undefined) {
    let location;
    try {
      location = await folders.locateFolder(binder.id, folder.id);
    } catch (err) {
      const invalid = refused(err);
      if (invalid) return invalid;
      throw err;
    }
    if (!location.ok) {
      return {
        kind: 'invalid',
        request,
        binderId: binder.id,
        source: binder.source,
        problems: [
          {
            code: 'target',
            field: folder.field,
            message: `there is no folder with id ${folder.id} in binder ${binder.id}`,
            fix: `use a folder id of binder ${binder.id} (the pipeline CLI's folders ${binder.id} command lists them), or give the folder by path with ${TAG.folderPath}`,
          },
        ],
      };
    }
    const target: ResolvedTarget = { binderId: binder.id, folderId: location.folderId, folderPath: location.names.join('/') };
    return {
      kind: 'resolved',
      plan: { ...request, target, source: binder.source },
      ancestry: { ids: location.ids, names: location.names },
    };
  }

  const path = folder.path ?? '';
  let resolution;
  try {
    resolution = await folders.resolvePath(binder.id, path);
  } catch (err) {
    const invalid = refused(err);
    if (invalid) return invalid;
    throw err;
  }
  if (resolution.ok) {
    const target: ResolvedTarget = { binderId: binder.id, folderId: resolution.folderId, folderPath: resolution.names.join('/') };
    return {
      kind: 'resolved',
      plan: { ...request, target, source: binder.source },
      ancestry: { ids: resolution.ids, names: resolution.names },
    };
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

/** `chooseTarget` then `locateTarget`, for callers that apply no allowlist in between. */
export async function resolveTarget(input: ResolveTargetInput): Promise<TargetResolution> {
  const choice = chooseTarget(input);
  return choice.kind === 'chosen' ? locateTarget(choice, input.folders) : choice;
}

/** The field a person edits to change the binder of a target from `source`. */
export function binderFieldOf(source: TargetSource): string {
  if (source.kind === 'tags') return TAG.binder;
  return `${configPathOf(source)}.binderId`;
}

function configPathOf(source: TargetSource): string {
  return source.kind === 'rule' ? `routingRules[prefix="${source.prefix}"].target` : 'defaultTarget';
}

function tagFolder(tags: IngestTags): FolderChoice {
  return tags.folderId !== undefined ? { id: tags.folderId, field: TAG.folder } : { path: tags.folderPath, field: TAG.folderPath };
}

/** Rule/default metadata first (as config fields), then tags on top, element by element (as tag keys). */
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
        ? "check the binder id (9 characters, from the binder's URL in iBinder or the pipeline CLI's binders command)"
        : 'ask the tenant administrator to give the integration access to this binder, or use another binder',
  };
}
