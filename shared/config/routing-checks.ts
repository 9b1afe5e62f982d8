/**
 * Checks of an environment's routing that no single field can make: every prefix can match a
 * key of the inbox, no prefix is given twice, and every configured target is inside the
 * allowlist that governs it (a rule's target inside the rule's `allow`, the default target
 * inside `unlistedPrefixes`). Run when the CDK app loads the environment, so that a rule that
 * could never match, or one whose own files would all be refused, fails the synth with its
 * field named instead of surfacing as rejected files.
 */
import { folderPathSegments, type AllowedTarget, type UnlistedPrefixes } from './allowlist.js';
import { sameGuid } from './ids.js';
import type { RoutingRule, TargetSpec } from './target.js';

export interface RoutingConfig {
  routingRules: readonly RoutingRule[];
  defaultTarget?: TargetSpec | undefined;
  unlistedPrefixes: UnlistedPrefixes;
}

/** One line per problem, `<field path>: <what is wrong and what to write>`. */
export function routingConfigProblems(config: RoutingConfig, inboxPrefix: string): string[] {
  const problems: string[] = [];
  const firstIndexOf = new Map<string, number>();
  config.routingRules.forEach((rule, index) => {
    const at = `routingRules.${index}`;
    if (!rule.prefix.startsWith(inboxPrefix)) {
      problems.push(
        `${at}.prefix: "${rule.prefix}" is not under ${inboxPrefix}, so it can never match: the inbox bucket only sends events for keys under ${inboxPrefix}; write e.g. "${inboxPrefix}${rule.prefix.replace(/^\/+/, '')}"`,
      );
    }
    const earlier = firstIndexOf.get(rule.prefix);
    if (earlier !== undefined) {
      problems.push(
        `${at}.prefix: "${rule.prefix}" is also the prefix of routingRules.${earlier}; give each prefix once (merge the two rules)`,
      );
    } else {
      firstIndexOf.set(rule.prefix, index);
    }
    const allow = rule.allow ?? [{ binderId: rule.target.binderId }];
    const outside = outsideAllowList(rule.target, allow);
    if (outside) problems.push(`${at}.allow: the rule's own target ${outside}; add it (or a folder above it) to the rule's allow list`);
  });

  const target = config.defaultTarget;
  if (target) {
    if (config.unlistedPrefixes === 'none') {
      problems.push(
        'defaultTarget: unlistedPrefixes is "none", so files under a prefix without a routing rule may go nowhere and the default target ' +
          'would refuse every file sent to it; remove defaultTarget, or allow its target with unlistedPrefixes: {"allow": [...]}',
      );
    } else if (config.unlistedPrefixes !== 'any') {
      const outside = outsideAllowList(target, config.unlistedPrefixes.allow);
      if (outside)
        problems.push(`defaultTarget: the default target ${outside} of unlistedPrefixes.allow; add it (or a folder above it) there`);
    }
  }
  return problems;
}

/**
 * Why `target` cannot be shown to be inside `allow` without asking iBinder, or undefined when it
 * is inside. Offline, a folder path is inside a listed path at or above it, and a folder id
 * inside the same listed id: list a target's folder in the form the target gives it.
 */
function outsideAllowList(target: TargetSpec, allow: readonly AllowedTarget[]): string | undefined {
  const entries = allow.filter((entry) => entry.binderId === target.binderId);
  if (entries.length === 0) return `(binder ${target.binderId}) is not in it`;
  if (entries.some((entry) => entry.folderIds === undefined && entry.folderPaths === undefined)) return undefined;
  if (target.folderPath !== undefined) {
    const segments = folderPathSegments(target.folderPath);
    const inside = entries.some((entry) =>
      (entry.folderPaths ?? []).some((path) => {
        const allowed = folderPathSegments(path);
        return allowed.length <= segments.length && allowed.every((s, i) => s === segments[i]);
      }),
    );
    return inside
      ? undefined
      : `(binder ${target.binderId}, folder "${target.folderPath}") is not inside the folderPaths listed for that binder`;
  }
  const folderId = target.folderId ?? '';
  const inside = entries.some((entry) => (entry.folderIds ?? []).some((id) => sameGuid(id, folderId)));
  return inside
    ? undefined
    : `(binder ${target.binderId}, folder id ${folderId}) is not among the folderIds listed for that binder (a folder given by id is checked offline by its own id)`;
}
