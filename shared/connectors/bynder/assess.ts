/**
 * Would the Bynder connector accept this object? The one decision made before any byte moves,
 * shared by the ingest and the CLI's `check`, so that a check never drifts from the ingest.
 *
 * The steps, in order: parse the `bynder:` tags; choose the brand (tag > the longest-prefix
 * Bynder routing rule > the connector's default brand; an object with no `bynder:` tag that no
 * rule or default covers waits out the untagged grace period, then is rejected); resolve it by id
 * or name; check it against the key's allowlist before anything in it is read; read the asset a
 * `bynder:asset` tag names (it must exist, in an allowed brand), or, under a rule with
 * `sameNameIsNewVersion`, search the brand for an asset of the same name (one: a new version of
 * it; several: a rejection asking for `bynder:asset`); validate the metaproperties against the
 * portal's (believed only after a fresh read: a rejection is final), the file name, the asset name
 * and the size. Every problem that can still be found is reported at once.
 *
 * What a new version takes from the tags: only the file. Bynder keeps the asset's name,
 * description, tags and metaproperties on a version save, so the plan of a new version carries no
 * metadata; the tags the file has are still validated (they must stay valid for the first upload
 * of a same-name series, and a wrong tag is a producer's mistake either way), but no metaproperty
 * is required of it.
 *
 * Rule metadata and rule tags apply whichever brand the file goes to: metaproperties are
 * portal-wide in Bynder (unlike iBinder's per-binder schemas), so they cannot belong to another
 * brand's schema. No side effects beyond reads; a transient failure of a read is thrown.
 */
import { nfc } from '../../config/unicode.js';
import type { Problem } from '../../ledger/types.js';
import type { Assessment, AssessmentHooks, AssessmentInput, AssessmentRejected, CommitPlan, ReportTarget, TargetSource } from '../types.js';
import { brandPolicyFor, checkBrandAllowed } from './allowlist.js';
import { type BrandDirectory, type BrandResolution, describeBrand } from './brands.js';
import type { BynderAsset, BynderBrand, BynderClient, BynderMetaproperty } from './client/types.js';
import type { BynderConfig, BynderRoutingRule } from './config.js';
import type { MetapropertyCache } from './metaproperty-cache.js';
import { BYNDER_TAG, BYNDER_TAG_PREFIX, parseBynderTags, splitList } from './tags.js';
import {
  type MetadataEntry,
  type MetadataValidation,
  validateAssetName,
  validateFileName,
  validateMetadata,
  validateSize,
} from './validate.js';

/** How many assets a same-name search reads per page, and at most how many pages. */
const SAME_NAME_PAGE_SIZE = 100;
const SAME_NAME_MAX_PAGES = 10;

export interface BynderAssessmentDependencies {
  config: Pick<BynderConfig, 'routingRules' | 'defaultBrand' | 'unlistedPrefixes'>;
  client: Pick<BynderClient, 'getMedia' | 'listMedia'>;
  brands: Pick<BrandDirectory, 'resolve' | 'list' | 'refresh'>;
  metaproperties: Pick<MetapropertyCache, 'get' | 'refresh'>;
  /** How long an object without any tag may wait for its producer to tag it (the pipeline's setting). */
  untaggedGraceSeconds: number;
  maxFileSizeBytes: number;
}

/** The keys of `CommitPlan.options` the Bynder connector writes and reads back. */
export const PLAN_OPTION = {
  /** The asset's name (new asset). */
  name: 'name',
  description: 'description',
  /** Bynder tags as a JSON array (a tag may hold a comma). */
  tags: 'tags',
  /** The S3 object's size: a new version is recognised by it after a lost save response. */
  sizeBytes: 'sizeBytes',
} as const;

/** The routing rule whose prefix is the longest that the key starts with (both in NFC). */
export function matchBynderRule(key: string, rules: readonly BynderRoutingRule[]): BynderRoutingRule | undefined {
  const normalized = nfc(key);
  let best: BynderRoutingRule | undefined;
  for (const rule of rules) {
    const prefix = nfc(rule.prefix);
    if (normalized.startsWith(prefix) && (!best || prefix.length > nfc(best.prefix).length)) best = rule;
  }
  return best;
}

/** The upload's file name: the key's last segment, in NFC. */
export function fileNameFromKey(key: string): string {
  return nfc(key.slice(key.lastIndexOf('/') + 1));
}

/** `bynder.routingRules[prefix="x/"]`: where a person fixes a rule's setting. */
export function ruleField(rule: BynderRoutingRule): string {
  return `bynder.routingRules[prefix="${rule.prefix}"]`;
}

export async function assessBynder(
  input: AssessmentInput,
  deps: BynderAssessmentDependencies,
  hooks: AssessmentHooks = {},
): Promise<Assessment> {
  const { config } = deps;
  const onStep = hooks.onStep ?? (() => undefined);
  onStep({ name: 'resolve target' });

  const parsed = parseBynderTags(input.tags);
  const tags = parsed.tags;
  const rule = matchBynderRule(input.key, config.routingRules);
  const fileName = fileNameFromKey(input.key);
  const name = tags.name ?? fileName;
  const nameField = tags.name !== undefined ? BYNDER_TAG.name : 'key';
  const fileProblems = [
    ...validateFileName(fileName, 'key'),
    ...validateAssetName(name, nameField),
    ...validateSize(input.sizeBytes, deps.maxFileSizeBytes),
  ];
  const reject = (cause: string, problems: Problem[], target?: ReportTarget): AssessmentRejected => ({
    kind: 'reject',
    cause,
    problems: [...parsed.problems, ...problems, ...fileProblems],
    target,
  });
  const metadataRequest = (checkRequired: boolean) => ({
    tags: tags.metadata,
    rule: rule ? ruleMetadata(rule) : [],
    checkRequired,
    ruleField: rule ? `${ruleField(rule)}.metadata` : undefined,
  });
  /** The target did not resolve: the metadata is still checked (metaproperties are portal-wide), so one round of fixes is enough. */
  const unresolved = async (problems: Problem[], target?: ReportTarget): Promise<AssessmentRejected> => {
    onStep({ name: 'read metaproperties' });
    const validation = await validateWithFreshRead(metadataRequest(tags.assetId === undefined), deps.metaproperties);
    return reject('unknown-target', [...problems, ...validation.problems], target);
  };

  // Which brand is asked for, and where a person would fix it.
  const asked: { given: string; field: string; source: TargetSource } | undefined =
    tags.brand !== undefined
      ? { given: tags.brand, field: BYNDER_TAG.brand, source: { kind: 'tags' } }
      : rule
        ? { given: rule.brand, field: `${ruleField(rule)}.brand`, source: { kind: 'rule', prefix: rule.prefix } }
        : config.defaultBrand !== undefined
          ? { given: config.defaultBrand, field: 'bynder.defaultBrand', source: { kind: 'default' } }
          : undefined;

  if (!tags.present && asked === undefined) {
    const graceEndsAt = new Date((input.lastModified ?? input.now).getTime() + deps.untaggedGraceSeconds * 1000);
    const rejection = reject('untagged', [
      {
        code: 'untagged',
        field: BYNDER_TAG.brand,
        message: `the object has no ${BYNDER_TAG_PREFIX} tags and no Bynder routing rule or default brand of this environment covers "${input.key}"`,
        fix:
          `tag the object with ${BYNDER_TAG.brand} (and any ${BYNDER_TAG.metaPrefix}<metaproperty> the portal requires) ` +
          `within ${deps.untaggedGraceSeconds} s of uploading it, or add a Bynder routing rule for its prefix`,
      },
    ]);
    return input.now.getTime() < graceEndsAt.getTime() ? { kind: 'wait', graceEndsAt, rejectionAfterGrace: rejection } : rejection;
  }
  if (asked === undefined && tags.assetId === undefined) {
    return unresolved([
      {
        code: 'target',
        field: BYNDER_TAG.brand,
        message: `no brand is given: the object has no ${BYNDER_TAG.brand} or ${BYNDER_TAG.asset} tag, and no Bynder routing rule or default brand covers "${input.key}"`,
        fix: `tag the object with ${BYNDER_TAG.brand} (a brand id or name), or with ${BYNDER_TAG.asset} to add a version to an existing asset`,
      },
    ]);
  }

  const policy = brandPolicyFor(input.key, rule, config.unlistedPrefixes);
  let brand: BynderBrand | undefined;
  if (asked !== undefined) {
    onStep({ name: 'read brands' });
    const resolution = await deps.brands.resolve(asked.given);
    if (resolution.kind !== 'found') return unresolved([brandProblem(asked, resolution)]);
    brand = resolution.brand;
    const refusal = checkBrandAllowed(policy, brand, asked.field);
    if (refusal) return reject('not-allowed', [refusal], reportTarget({ brandId: brand.id }, brand, asked.source));
  }

  // An existing asset named by tag: it must exist and be in an allowed brand (and the tagged one).
  let versionOf: BynderAsset | undefined;
  const targetProblems: Problem[] = [];
  const assetIdUsable = tags.assetId !== undefined && !parsed.problems.some((p) => p.field === BYNDER_TAG.asset);
  if (tags.assetId !== undefined && !assetIdUsable)
    return unresolved([], brand ? reportTarget({ brandId: brand.id }, brand, asked?.source) : undefined);
  if (tags.assetId !== undefined) {
    onStep({ name: 'read asset', ids: { mediaId: tags.assetId } });
    const asset = await deps.client.getMedia(tags.assetId);
    if (!asset) {
      return unresolved(
        [
          {
            code: 'target',
            field: BYNDER_TAG.asset,
            message: `there is no asset with id ${tags.assetId} in this Bynder portal (it was deleted, or never existed)`,
            fix: `set ${BYNDER_TAG.asset} to the id of an existing asset, or remove it to create a new asset`,
          },
        ],
        brand ? reportTarget({ brandId: brand.id }, brand, asked?.source) : undefined,
      );
    }
    const assetBrand = await brandOfAsset(asset, deps.brands);
    const refusal = checkBrandAllowed(policy, assetBrand, BYNDER_TAG.asset, `asset ${asset.id} "${asset.name}" of brand`);
    const target = reportTarget({ brandId: assetBrand.id, mediaId: asset.id }, assetBrand, { kind: 'tags' });
    if (refusal) return reject('not-allowed', [refusal], target);
    if (brand !== undefined && tags.brand !== undefined && brand.id !== assetBrand.id) {
      return unresolved(
        [
          {
            code: 'target',
            field: `${BYNDER_TAG.brand}, ${BYNDER_TAG.asset}`,
            message: `${BYNDER_TAG.asset} names asset ${asset.id} "${asset.name}" of brand ${describeBrand(assetBrand)}, but ${BYNDER_TAG.brand} says ${describeBrand(brand)}`,
            fix: `remove ${BYNDER_TAG.brand} (a new version stays in its asset's brand), or correct ${BYNDER_TAG.asset}`,
          },
        ],
        target,
      );
    }
    brand = assetBrand;
    versionOf = asset;
  }
  if (brand === undefined) throw new Error('unreachable: a brand or an asset was resolved above');

  // Under sameNameIsNewVersion, an asset of the same name in the brand gets a new version.
  let source: TargetSource = versionOf ? { kind: 'tags' } : (asked?.source ?? { kind: 'tags' });
  if (!versionOf && rule?.sameNameIsNewVersion && validateAssetName(name, nameField).length === 0) {
    onStep({ name: 'find same-name asset', ids: { brandId: brand.id } });
    const matches = await findSameNameAssets(deps.client, brand.id, name);
    if (matches.length > 1) {
      targetProblems.push({
        code: 'target',
        field: BYNDER_TAG.asset,
        message:
          `the routing rule for "${rule.prefix}" makes a file a new version of the asset of the same name, but ${matches.length} assets ` +
          `in brand ${describeBrand(brand)} are named "${name}": ${matches.map((a) => a.id).join(', ')}`,
        fix: `tag the object with ${BYNDER_TAG.asset} set to the id of the asset to add the version to, or give it another name with ${BYNDER_TAG.name}`,
      });
    } else if (matches[0]) {
      versionOf = matches[0];
      source = { kind: 'rule', prefix: rule.prefix };
    }
  }

  onStep({ name: 'read metaproperties' });
  const validation = await validateWithFreshRead(metadataRequest(versionOf === undefined), deps.metaproperties);

  const ids: Record<string, string> = versionOf ? { brandId: brand.id, mediaId: versionOf.id } : { brandId: brand.id };
  const target = reportTarget(ids, brand, source, versionOf);
  const problems = [...targetProblems, ...validation.problems];
  if (parsed.problems.length + problems.length + fileProblems.length > 0) {
    return reject(targetProblems.length > 0 ? 'unknown-target' : 'invalid-request', problems, target);
  }

  const bynderTags = [...new Set([...(rule?.tags ?? []), ...(tags.tags ?? [])])];
  const options: Record<string, string> = { [PLAN_OPTION.sizeBytes]: String(input.sizeBytes) };
  if (versionOf) {
    options[PLAN_OPTION.name] = versionOf.name;
  } else {
    options[PLAN_OPTION.name] = name;
    if (tags.description !== undefined) options[PLAN_OPTION.description] = tags.description;
    if (bynderTags.length > 0) options[PLAN_OPTION.tags] = JSON.stringify(bynderTags);
  }
  const plan: CommitPlan = {
    connector: 'bynder',
    fileName,
    target: ids,
    labels: target.labels,
    metadata: versionOf ? [] : validation.metadata,
    options,
  };
  return { kind: 'accept', plan, target };
}

/**
 * Validates against the possibly cached metaproperties; when the metadata looks wrong, reads
 * them once more from Bynder before believing it (a rejection is final).
 */
async function validateWithFreshRead(
  request: Omit<Parameters<typeof validateMetadata>[0], 'metaproperties'>,
  cache: BynderAssessmentDependencies['metaproperties'],
): Promise<MetadataValidation> {
  const first = validateMetadata({ ...request, metaproperties: await cache.get() });
  if (first.problems.length === 0) return first;
  const fresh: BynderMetaproperty[] = await cache.refresh();
  return validateMetadata({ ...request, metaproperties: fresh });
}

function ruleMetadata(rule: BynderRoutingRule): MetadataEntry[] {
  return Object.entries(rule.metadata).map(([metaproperty, value]) => ({
    field: `${ruleField(rule)}.metadata.${metaproperty}`,
    metaproperty,
    value,
    values: splitList(value),
  }));
}

/** Assets of the brand whose name is exactly `name` (NFC); the keyword search is only a pre-filter. */
export async function findSameNameAssets(client: Pick<BynderClient, 'listMedia'>, brandId: string, name: string): Promise<BynderAsset[]> {
  const wanted = nfc(name.trim());
  const found = new Map<string, BynderAsset>();
  for (let page = 1; page <= SAME_NAME_MAX_PAGES; page += 1) {
    const { media } = await client.listMedia({ brandId, keyword: name, limit: SAME_NAME_PAGE_SIZE, page });
    for (const asset of media) {
      if (asset.brandId === brandId && nfc(asset.name.trim()) === wanted) found.set(asset.id, asset);
    }
    if (media.length < SAME_NAME_PAGE_SIZE) break;
  }
  return [...found.values()];
}

/** The brand an asset is in; a brand missing from the cached listing is looked for in a fresh one. */
async function brandOfAsset(asset: BynderAsset, brands: BynderAssessmentDependencies['brands']): Promise<BynderBrand> {
  const cached = (await brands.list()).find((b) => b.id === asset.brandId);
  if (cached) return cached;
  const fresh = (await brands.refresh()).find((b) => b.id === asset.brandId);
  // A brand the integration cannot list is named by its id alone; the allowlist still decides.
  return fresh ?? { id: asset.brandId, name: asset.brandId, subBrands: [] };
}

function brandProblem(asked: { given: string; field: string }, resolution: Exclude<BrandResolution, { kind: 'found' }>): Problem {
  if (resolution.kind === 'ambiguous') {
    return {
      code: 'target',
      field: asked.field,
      message: `"${asked.given}" names several brands: ${resolution.matches.map(describeBrand).join(', ')}`,
      fix: `give the brand by its id`,
    };
  }
  const listed = resolution.brands.map(describeBrand).join(', ') || '(none visible to the integration)';
  return {
    code: 'target',
    field: asked.field,
    message: `"${asked.given}" is neither the id nor the name of a brand of this Bynder portal`,
    fix: `use one of these brands (id or name): ${listed}`,
  };
}

function reportTarget(
  ids: Record<string, string>,
  brand: BynderBrand,
  source: TargetSource | undefined,
  asset?: BynderAsset,
): ReportTarget {
  const labels: Record<string, string> = { brandName: brand.name };
  if (asset) labels.assetName = asset.name;
  return { connector: 'bynder', ids, labels, source };
}
