/**
 * Enforces the environment's allowlists: may a file under this key reach this target?
 *
 * The policy comes from the key: the routing rule with the longest matching prefix (its `allow`,
 * or its own target's binder when it has none), else the environment's `unlistedPrefixes`.
 * It is applied twice, so that nothing outside it is ever looked up: the binder before its
 * folders are listed, the folder subtree once the folder and its ancestry are known. A refusal
 * names the prefix (or "no routing rule"), the target asked for and the targets allowed.
 */
import { folderPathSegments, type AllowedTarget, type UnlistedPrefixes } from '../../../config/allowlist.js';
import { sameGuid } from '../../../config/ids.js';
import type { RoutingRule } from '../../../config/target.js';
import { nfc } from '../../../config/unicode.js';
import type { Problem } from '../../../ledger/types.js';
import type { FolderAncestry } from './resolve-target.js';

/** What files under one key may reach. */
export type AllowPolicy =
  | { kind: 'any' }
  | {
      kind: 'list';
      allow: readonly AllowedTarget[];
      /** Whose list it is: a routing rule's, or the environment's for prefixes without a rule. */
      scope: { kind: 'rule'; prefix: string; implicit: boolean } | { kind: 'unlisted'; key: string; setting: 'none' | 'allow' };
    };

/** The target as it was asked for: a binder, and the folder by id, by path, or both once located. */
export interface AskedTarget {
  binderId: string;
  folderId?: string | undefined;
  folderPath?: string | undefined;
}

/** The policy for a key: its routing rule's allowlist, else the environment's for unlisted prefixes. */
export function allowPolicyFor(key: string, rule: RoutingRule | undefined, unlisted: UnlistedPrefixes): AllowPolicy {
  if (rule) {
    return {
      kind: 'list',
      allow: rule.allow ?? [{ binderId: rule.target.binderId }],
      scope: { kind: 'rule', prefix: rule.prefix, implicit: rule.allow === undefined },
    };
  }
  if (unlisted === 'any') return { kind: 'any' };
  if (unlisted === 'none') return { kind: 'list', allow: [], scope: { kind: 'unlisted', key, setting: 'none' } };
  return { kind: 'list', allow: unlisted.allow, scope: { kind: 'unlisted', key, setting: 'allow' } };
}

/** Before anything in the binder is looked up: is the binder in the policy at all? */
export function checkBinderAllowed(policy: AllowPolicy, asked: AskedTarget, field: string): Problem | undefined {
  if (policy.kind === 'any') return undefined;
  if (policy.allow.some((entry) => entry.binderId === asked.binderId)) return undefined;
  return refusal(policy, asked, field);
}

/** Once the folder is located: is it one of the allowed folders of its binder, or below one? */
export function checkFolderAllowed(policy: AllowPolicy, asked: AskedTarget, ancestry: FolderAncestry, field: string): Problem | undefined {
  if (policy.kind === 'any') return undefined;
  const inside = policy.allow.some((entry) => entry.binderId === asked.binderId && entryCovers(entry, ancestry));
  return inside ? undefined : refusal(policy, asked, field);
}

/** True when `entry` allows its whole binder, or the folder of `ancestry` is in one of its subtrees. */
function entryCovers(entry: AllowedTarget, ancestry: FolderAncestry): boolean {
  if (entry.folderIds === undefined && entry.folderPaths === undefined) return true;
  const byId = (entry.folderIds ?? []).some((id) => ancestry.ids.some((ancestor) => sameGuid(ancestor, id)));
  const byPath = (entry.folderPaths ?? []).some((path) => startsWithSegments(ancestry.names, folderPathSegments(path)));
  return byId || byPath;
}

function startsWithSegments(names: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= names.length && prefix.every((segment, i) => nfc((names[i] ?? '').trim()) === segment);
}

function refusal(policy: Extract<AllowPolicy, { kind: 'list' }>, asked: AskedTarget, field: string): Problem {
  const allowed = describeAllowList(policy.allow);
  if (policy.scope.kind === 'rule') {
    const implicit = policy.scope.implicit ? " (the rule has no allow list, so only its own target's binder)" : '';
    return {
      code: 'not-allowed',
      field,
      message:
        `files under prefix "${policy.scope.prefix}" (routing rule) may not go to ${describeAskedTarget(asked)}; ` +
        `the rule allows ${allowed}${implicit}`,
      fix:
        `tag a target the rule allows, or put the file under another prefix; if this target is right for these files, ` +
        `add it to routingRules[prefix="${policy.scope.prefix}"].allow in the environment config and deploy`,
    };
  }
  return {
    code: 'not-allowed',
    field,
    message:
      `no routing rule covers "${policy.scope.key}", and files under a prefix without a rule may not go to ${describeAskedTarget(asked)}; ` +
      (policy.scope.setting === 'none'
        ? 'this environment allows them nothing (unlistedPrefixes is "none")'
        : `this environment allows them ${allowed}`),
    fix:
      'put the file under the prefix of a routing rule that allows this target; or, if files without a rule may go there, ' +
      'add the target to unlistedPrefixes.allow in the environment config and deploy',
  };
}

/** `binder X, folder "A/B" (id G)`, as far as the folder is known. */
export function describeAskedTarget(asked: AskedTarget): string {
  if (asked.folderPath !== undefined && asked.folderId !== undefined)
    return `binder ${asked.binderId}, folder "${asked.folderPath}" (id ${asked.folderId})`;
  if (asked.folderPath !== undefined) return `binder ${asked.binderId}, folder "${asked.folderPath}"`;
  if (asked.folderId !== undefined) return `binder ${asked.binderId}, folder id ${asked.folderId}`;
  return `binder ${asked.binderId}`;
}

/** `binder P (any folder); binder Q, folder "Finance" or id G and below`, or `nothing`. */
export function describeAllowList(allow: readonly AllowedTarget[]): string {
  if (allow.length === 0) return 'nothing';
  return allow
    .map((entry) => {
      const folders = [...(entry.folderPaths ?? []).map((p) => `"${p}"`), ...(entry.folderIds ?? []).map((id) => `id ${id}`)];
      return folders.length === 0
        ? `binder ${entry.binderId} (any folder)`
        : `binder ${entry.binderId}, folder ${folders.join(' or ')} and below`;
    })
    .join('; ');
}
