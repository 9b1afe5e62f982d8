/**
 * Enforces the environment's Bynder allowlists: may a file under this key reach this brand?
 *
 * The policy comes from the key: the Bynder routing rule with the longest matching prefix (its
 * `allowBrands`, or its own brand when it has none), else the connector's `unlistedPrefixes`
 * ("any", "none" or a list). It is applied to the brand before anything in it is read (a
 * same-name search, a metaproperty check), and to the brand of an existing asset named by
 * `bynder:asset`. Brands are listed by id or name; both match. A refusal names the prefix (or
 * "no routing rule"), the brand asked for and the brands allowed.
 */
import { nfc } from '../../config/unicode.js';
import type { Problem } from '../../ledger/types.js';
import { describeBrand } from './brands.js';
import type { BynderBrand } from './client/types.js';
import type { BynderConfig, BynderRoutingRule } from './config.js';

export type BrandAllowPolicy =
  | { kind: 'any' }
  | {
      kind: 'list';
      /** Brand ids or names. */
      allow: readonly string[];
      scope: { kind: 'rule'; prefix: string; implicit: boolean } | { kind: 'unlisted'; key: string; setting: 'none' | 'list' };
    };

/** The policy for a key: its Bynder routing rule's allow list, else the connector's for unlisted prefixes. */
export function brandPolicyFor(
  key: string,
  rule: BynderRoutingRule | undefined,
  unlisted: BynderConfig['unlistedPrefixes'],
): BrandAllowPolicy {
  if (rule) {
    return {
      kind: 'list',
      allow: rule.allowBrands ?? [rule.brand],
      scope: { kind: 'rule', prefix: rule.prefix, implicit: rule.allowBrands === undefined },
    };
  }
  if (unlisted === 'any') return { kind: 'any' };
  if (unlisted === 'none') return { kind: 'list', allow: [], scope: { kind: 'unlisted', key, setting: 'none' } };
  return { kind: 'list', allow: unlisted, scope: { kind: 'unlisted', key, setting: 'list' } };
}

/** Undefined when the policy reaches the brand; else the refusal, as a problem of `field`. */
export function checkBrandAllowed(policy: BrandAllowPolicy, brand: BynderBrand, field: string, what = 'brand'): Problem | undefined {
  if (policy.kind === 'any') return undefined;
  if (policy.allow.some((entry) => namesBrand(entry, brand))) return undefined;
  const asked = `${what} ${describeBrand(brand)}`;
  const allowed = policy.allow.length === 0 ? 'no brand' : policy.allow.map((b) => `"${b}"`).join(', ');
  if (policy.scope.kind === 'rule') {
    const implicit = policy.scope.implicit ? ' (the rule has no allowBrands, so only its own brand)' : '';
    return {
      code: 'not-allowed',
      field,
      message: `files under prefix "${policy.scope.prefix}" (Bynder routing rule) may not go to ${asked}; the rule allows ${allowed}${implicit}`,
      fix:
        'tag a brand (or asset) the rule allows, or put the file under another prefix; if this brand is right for these files, ' +
        `add it to bynder.routingRules[prefix="${policy.scope.prefix}"].allowBrands in the environment config and deploy`,
    };
  }
  return {
    code: 'not-allowed',
    field,
    message:
      `no Bynder routing rule covers "${policy.scope.key}", and files under a prefix without a rule may not go to ${asked}; ` +
      (policy.scope.setting === 'none'
        ? 'this environment allows them nothing (bynder.unlistedPrefixes is "none")'
        : `this environment allows them ${allowed}`),
    fix:
      'put the file under the prefix of a Bynder routing rule that allows this brand; or, if files without a rule may go there, ' +
      'add the brand to bynder.unlistedPrefixes in the environment config and deploy',
  };
}

/** An allow-list entry names a brand by its id, or by its name (NFC, without case). */
function namesBrand(entry: string, brand: BynderBrand): boolean {
  const value = nfc(entry.trim());
  return value === brand.id || value.toLowerCase() === nfc(brand.name.trim()).toLowerCase();
}
