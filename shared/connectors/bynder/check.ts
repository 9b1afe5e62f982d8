/**
 * The operator's `check` of a `bynder:` file (the CLI reaches it as the connector's `check`, so
 * that no CLI file knows Bynder's tags, plan options or metaproperty matching): would the ingest
 * accept this file into Bynder? Answered by the Bynder connector's own assessment (`assess`,
 * which the ingest Lambda calls too): the brand (tag, routing rule or
 * default brand, checked against the key's allowlist), new asset or new version of which asset,
 * the metaproperties mapped to ids, the file name and the size. Nothing is uploaded or saved; every
 * problem comes with its fix, and the options a misused metaproperty allows are listed beside it,
 * so that one round of fixes is enough.
 */
import type { Problem } from '../../ledger/types.js';
import type { S3Tag } from '../../s3/tags.js';
import type { AssessmentRejected, CommitPlan, ReportTarget, TargetSource } from '../types.js';
import { PLAN_OPTION } from './assess.js';
import type { BynderMetaproperty } from './client/types.js';
import type { BynderConnector } from './connector.js';
import { BYNDER_TAG } from './tags.js';
import { matchMetaproperty } from './validate.js';

/** What the operator's check asks about one file; the connector answers it (`BynderConnector.check`). */
export interface BynderCheckRequest {
  key: string;
  tags: readonly S3Tag[];
  sizeBytes: number;
  lastModified?: Date | undefined;
  now: Date;
  untaggedGraceSeconds: number;
  /** Problems the CLI finds before the connector (the key, S3's rules for tags not written yet). */
  extraProblems: readonly Problem[];
}

export interface BynderCheckInput extends BynderCheckRequest {
  connector: Pick<BynderConnector, 'assess' | 'metaproperties'>;
}

/** A metaproperty value as it would be saved: ids, with the names a person recognises. */
export interface BynderCheckMetaproperty {
  id: string;
  name: string;
  label?: string | undefined;
  /** Option ids (select metaproperties). */
  optionIds: string[];
  /** Their names, in the same order. */
  options: string[];
  /** The free text of a text metaproperty. */
  text?: string | undefined;
}

/** The options of a metaproperty a problem is about. */
export interface BynderAllowedOptions {
  metaproperty: { id: string; name: string; label?: string | undefined };
  selection: 'single-select' | 'multi-select';
  required: boolean;
  options: { id: string; name: string; label?: string | undefined }[];
}

export interface BynderCheckResult {
  connector: 'bynder';
  accepted: boolean;
  problems: Problem[];
  fileName: string;
  /** The brand, as far as it resolved, and where it came from. */
  brand?: { id: string; name?: string | undefined; source?: TargetSource | undefined } | undefined;
  /** Absent on a new asset. */
  newVersionOf?: { id: string; name?: string | undefined } | undefined;
  /** The new asset's name, description and Bynder tags (a new version keeps the asset's). */
  asset?: { name: string; description?: string | undefined; tags: string[] } | undefined;
  metaproperties: BynderCheckMetaproperty[];
  allowedOptions: BynderAllowedOptions[];
  notes: string[];
}

export async function checkBynderIngest(input: BynderCheckInput): Promise<BynderCheckResult> {
  const notes: string[] = [];
  const assessment = await input.connector.assess({
    key: input.key,
    tags: input.tags,
    sizeBytes: input.sizeBytes,
    lastModified: input.lastModified,
    now: input.now,
  });
  // The assessment refreshed the listing when it believed a metadata problem: this is that listing.
  const metaproperties = await input.connector.metaproperties();
  const fileName = input.key.slice(input.key.lastIndexOf('/') + 1).normalize('NFC');

  if (assessment.kind !== 'accept') {
    const rejection: AssessmentRejected = assessment.kind === 'wait' ? assessment.rejectionAfterGrace : assessment;
    if (assessment.kind === 'wait') {
      notes.push(`the ingest waits up to ${input.untaggedGraceSeconds} s after the upload for tags before it rejects an untagged object`);
    }
    const problems = [...input.extraProblems, ...rejection.problems];
    return {
      connector: 'bynder',
      accepted: false,
      problems,
      fileName,
      ...targetOf(rejection.target),
      metaproperties: [],
      allowedOptions: allowedOptionsFor(problems, metaproperties),
      notes,
    };
  }

  const { plan, target } = assessment;
  const problems = [...input.extraProblems];
  const newVersion = plan.target.mediaId !== undefined;
  if (newVersion) notes.push('a new version keeps the asset’s name, description, tags and metaproperties: only the file changes');
  return {
    connector: 'bynder',
    accepted: problems.length === 0,
    problems,
    fileName: plan.fileName,
    ...targetOf(target),
    ...(newVersion ? {} : { asset: assetOf(plan) }),
    metaproperties: plan.metadata.map((m) => describeValue(m, metaproperties)),
    allowedOptions: allowedOptionsFor(problems, metaproperties),
    notes,
  };
}

function targetOf(target: ReportTarget | undefined): Pick<BynderCheckResult, 'brand' | 'newVersionOf'> {
  if (!target) return {};
  const brandId = target.ids.brandId;
  const mediaId = target.ids.mediaId;
  return {
    ...(brandId !== undefined ? { brand: { id: brandId, name: target.labels?.brandName, source: target.source } } : {}),
    ...(mediaId !== undefined ? { newVersionOf: { id: mediaId, name: target.labels?.assetName } } : {}),
  };
}

function assetOf(plan: CommitPlan): NonNullable<BynderCheckResult['asset']> {
  const options = plan.options ?? {};
  const tags = options[PLAN_OPTION.tags];
  return {
    name: options[PLAN_OPTION.name] ?? plan.fileName,
    ...(options[PLAN_OPTION.description] !== undefined ? { description: options[PLAN_OPTION.description] } : {}),
    tags: tags !== undefined ? (JSON.parse(tags) as string[]) : [],
  };
}

/** A plan's `{id, value}` (value: comma-joined option ids, or free text) with names. */
function describeValue(value: { id: string; value: string }, metaproperties: readonly BynderMetaproperty[]): BynderCheckMetaproperty {
  const metaproperty = metaproperties.find((m) => m.id === value.id);
  const base = { id: value.id, name: metaproperty?.name ?? value.id, ...(metaproperty?.label ? { label: metaproperty.label } : {}) };
  if (!metaproperty || metaproperty.options.length === 0) return { ...base, optionIds: [], options: [], text: value.value };
  const optionIds = value.value.split(',').filter((id) => id !== '');
  return { ...base, optionIds, options: optionIds.map((id) => metaproperty.options.find((o) => o.id === id)?.name ?? id) };
}

/**
 * The options of every select metaproperty a problem names, by its tag (`bynder:meta:<x>`) or
 * its routing rule setting (`...metadata.<x>`), so that the fix can be picked from the list.
 */
function allowedOptionsFor(problems: readonly Problem[], metaproperties: readonly BynderMetaproperty[]): BynderAllowedOptions[] {
  const found = new Map<string, BynderAllowedOptions>();
  for (const problem of problems) {
    if (problem.code !== 'metadata') continue;
    const given = metapropertyOfField(problem.field);
    if (given === undefined) continue;
    const match = matchMetaproperty(given, metaproperties);
    if (match.kind !== 'found' || match.metaproperty.options.length === 0) continue;
    const m = match.metaproperty;
    found.set(m.id, {
      metaproperty: { id: m.id, name: m.name, ...(m.label ? { label: m.label } : {}) },
      selection: m.isMultiselect ? 'multi-select' : 'single-select',
      required: m.isRequired,
      options: m.options.map((o) => ({ id: o.id, name: o.name, ...(o.label ? { label: o.label } : {}) })),
    });
  }
  return [...found.values()];
}

function metapropertyOfField(field: string): string | undefined {
  if (field.startsWith(BYNDER_TAG.metaPrefix)) return field.slice(BYNDER_TAG.metaPrefix.length);
  const rule = /\.metadata\.(.+)$/.exec(field);
  return rule?.[1];
}
