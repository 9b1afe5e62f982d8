/**
 * Would the ingest accept this object? The one decision the ingest makes before any byte moves,
 * shared by the Lambda (functions/ingest/process-record.ts) and the CLI's `check` and
 * `reingest` (cli/ingest-check.ts), so that a check can never drift from what the ingest does.
 *
 * The steps, in the ingest's order: parse the `ibinder:` tags (ids checked for their formats:
 * a malformed id stops here, before anything is looked up), choose the target (tags >
 * longest-prefix routing rule > environment default, the untagged grace period), check the
 * binder against the key's allowlist, locate the folder in the binder (by path, or by id through
 * the listings, with its ancestry), check the folder against the allowlist's subtrees, read the
 * binder's metadata schema, validate file name, size and metadata against it, and turn a refused
 * schema read (an unknown binder) into a problem. Every problem that can still be found is
 * reported at once, so that one round of fixes is enough; nothing outside the allowlist is read.
 *
 * Metadata problems are believed only after a second, uncached schema read (`schemas.refresh`):
 * a rejection is final, and a warm Lambda's cached schema may predate a change made minutes ago.
 * That rule is part of the decision, so it lives here; what "uncached" means is the caller's
 * (the CLI's cache is new for each check, so its first read already is).
 *
 * No side effects beyond the reads through `deps`: claiming, uploading, moving, logging and
 * metrics stay with the callers. A transient failure of a read (throttling, an outage) is thrown.
 */
import type { PipelineConfig } from '../../../config/runtime.js';
import type { DestinationMetadataValue, ResolvedTarget } from '../destination-types.js';
import { IBinderApiError } from '../index.js';
import type { FolderResolver } from '../index.js';
import type { MetadataSchemaCache } from '../index.js';
import type { MetadataElement } from '../index.js';
import type { Problem } from '../../../ledger/types.js';
import type { S3Tag } from '../../../s3/tags.js';
import { parseIngestTags } from '../tags.js';
import { allowPolicyFor, checkBinderAllowed, checkFolderAllowed } from './allowlist.js';
import { binderFieldOf, chooseTarget, locateTarget, unknownBinderProblem, type InvalidTarget } from './resolve-target.js';
import type { FileRequest, IBinderRefusal, IngestPlan, TargetSource } from './types.js';
import { validateIngestRequest, type IngestRequestToValidate, type ValidationResult } from './validate.js';

/** The object as the ingest sees it before uploading: where it is, its tags, its size and age. */
export interface IngestAssessmentInput {
  /** The inbox key: routing rules match it, and it names the file without an `ibinder:filename` tag. */
  key: string;
  /** The object's whole S3 tag set (non-`ibinder:` tags are ignored). */
  tags: readonly S3Tag[];
  sizeBytes: number;
  /** The object's LastModified: the untagged grace period counts from it (default `now`). */
  lastModified?: Date | undefined;
  now: Date;
}

/** A step the assessment is entering; the Lambda names its retry reasons and log keys by them. */
export type IngestAssessmentStep =
  | { name: 'resolve target' }
  /** The binder (and folder) are known from here on: about to read the binder's schema. */
  | { name: 'read metadata schema'; binderId: string; folderId?: string | undefined };

export interface IngestAssessmentDependencies {
  config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'unlistedPrefixes' | 'untaggedGraceSeconds' | 'maxFileSizeBytes'>;
  folders: Pick<FolderResolver, 'resolvePath' | 'locateFolder'>;
  /** `get` may answer from a cache; `refresh` must read the schema from iBinder. */
  schemas: Pick<MetadataSchemaCache, 'get' | 'refresh'>;
  /** Told before each step that reads from iBinder. */
  onStep?: ((step: IngestAssessmentStep) => void) | undefined;
}

/** The object would be uploaded: to `plan.target`, with this metadata. */
export interface IngestAccepted {
  kind: 'accept';
  plan: IngestPlan;
  /** The metadata as the commit wants it: element ids with allowed value ids (labels mapped). */
  additionalMetadata: DestinationMetadataValue[];
}

/**
 * The object would be rejected; `problems` says every reason, each with its fix. The `cause`
 * says how far the decision got, and so what else is known (a plan, a binder, iBinder's refusal).
 */
export type IngestRejected =
  /** No `ibinder:` tags, no routing rule or default covers the key, and the grace period is over. */
  | { kind: 'reject'; cause: 'untagged'; problems: Problem[]; request: FileRequest }
  | {
      kind: 'reject';
      /** The tags or config name no usable target: no folder, no binder, a folder path that names none, an unknown binder. */
      cause: 'unresolved-target';
      problems: Problem[];
      request: FileRequest;
      /** The binder, when it is known to exist (a folder path did not match), and where it came from. */
      binder?: { binderId: string; source: TargetSource } | undefined;
      /** iBinder's refusal, when it refused to list the binder's folders. */
      ibinder?: IBinderRefusal | undefined;
    }
  /** The target resolved, but iBinder refused to give the binder's schema (unknown binder, no access). */
  | { kind: 'reject'; cause: 'unknown-binder'; problems: Problem[]; plan: IngestPlan; ibinder: IBinderRefusal }
  | {
      kind: 'reject';
      /** The key's allowlist (its routing rule's, or the environment's for prefixes without one) does not reach the target. */
      cause: 'not-allowed';
      problems: Problem[];
      request: FileRequest;
      /** The target asked for, as far as it was resolved when it was refused (a binder is refused before its folders are listed). */
      target: { binderId: string; folderId?: string | undefined; folderPath?: string | undefined; source: TargetSource };
    }
  | {
      kind: 'reject';
      /** The target resolved and the schema was read; the tags, file name, size or metadata are wrong. */
      cause: 'invalid-request';
      problems: Problem[];
      plan: IngestPlan;
      /** The metadata that did validate, as it would be committed. */
      additionalMetadata: DestinationMetadataValue[];
    };

/** No tags yet, but the producer may still be tagging the object (upload and tagging are two calls). */
export interface IngestWaiting {
  kind: 'wait';
  graceEndsAt: Date;
  /** What the ingest will do if no tags arrive before `graceEndsAt`. */
  rejectionAfterGrace: Extract<IngestRejected, { cause: 'untagged' }>;
}

export type IngestAssessment = IngestAccepted | IngestRejected | IngestWaiting;

export async function assessIngest(input: IngestAssessmentInput, deps: IngestAssessmentDependencies): Promise<IngestAssessment> {
  const { config } = deps;
  const onStep = deps.onStep ?? (() => undefined);
  // Why the config's metadata does not apply, when the tags name another binder than the rule's or default's.
  let configMetadataNotApplied: string | undefined;
  const fileChecks = (request: { fileName: string; fileNameField: string }): IngestRequestToValidate => ({
    fileName: request.fileName,
    fileNameField: request.fileNameField,
    sizeBytes: input.sizeBytes,
    maxFileSizeBytes: config.maxFileSizeBytes,
    metadata: [],
    configMetadataNotApplied,
  });

  onStep({ name: 'resolve target' });
  const parsedTags = parseIngestTags(input.tags);
  const choice = chooseTarget({ key: input.key, tags: parsedTags.tags, lastModified: input.lastModified, config, now: input.now });

  if (choice.kind === 'untagged') {
    const checks = validateIngestRequest(fileChecks(choice.request));
    const rejection: IngestWaiting['rejectionAfterGrace'] = {
      kind: 'reject',
      cause: 'untagged',
      problems: [...parsedTags.problems, choice.problem, ...checks.problems],
      request: choice.request,
    };
    return choice.withinGrace ? { kind: 'wait', graceEndsAt: choice.graceEndsAt, rejectionAfterGrace: rejection } : rejection;
  }

  const unresolved = async (invalid: Omit<InvalidTarget, 'kind'>): Promise<IngestRejected> => {
    // Report everything that can still be checked: the metadata too, when the binder is known.
    let schema: readonly MetadataElement[] | undefined;
    if (invalid.binderId !== undefined) {
      onStep({ name: 'read metadata schema', binderId: invalid.binderId });
      schema = await deps.schemas.get(invalid.binderId);
    }
    const checks = validateIngestRequest({
      ...fileChecks(invalid.request),
      binderId: invalid.binderId,
      metadata: invalid.request.metadata,
      schema,
    });
    return {
      kind: 'reject',
      cause: 'unresolved-target',
      problems: [...parsedTags.problems, ...invalid.problems, ...checks.problems],
      request: invalid.request,
      binder:
        invalid.binderId !== undefined && invalid.source !== undefined ? { binderId: invalid.binderId, source: invalid.source } : undefined,
      ibinder: invalid.ibinder,
    };
  };

  // A malformed binder or folder id is never looked up: it would read as an unknown binder or folder.
  if (parsedTags.malformedIds.length > 0) return unresolved({ request: choice.request, problems: [] });
  if (choice.kind === 'invalid') return unresolved(choice);

  if (choice.droppedBase) {
    const base = choice.droppedBase;
    const owner = base.source.kind === 'rule' ? `the routing rule for "${base.source.prefix}"` : 'the default target';
    configMetadataNotApplied = `the metadata of ${owner} is for binder ${base.binderId} and does not apply to a file tagged with binder ${choice.binder.id}`;
  }
  const policy = allowPolicyFor(input.key, choice.rule, config.unlistedPrefixes);
  const notAllowed = (
    problem: Problem,
    target: { binderId: string; folderId?: string | undefined; folderPath?: string | undefined },
  ): IngestRejected => ({
    kind: 'reject',
    cause: 'not-allowed',
    problems: [...parsedTags.problems, problem, ...validateIngestRequest(fileChecks(choice.request)).problems],
    request: choice.request,
    target: { ...target, source: choice.binder.source },
  });
  const asked = { binderId: choice.binder.id, folderId: choice.folder.id, folderPath: choice.folder.path };
  const binderRefusal = checkBinderAllowed(policy, asked, choice.binder.field);
  if (binderRefusal) return notAllowed(binderRefusal, asked);

  const resolution = await locateTarget(choice, deps.folders);
  if (resolution.kind !== 'resolved') return unresolved(resolution);
  const folderRefusal = checkFolderAllowed(policy, resolution.plan.target, resolution.ancestry, choice.folder.field);
  if (folderRefusal) return notAllowed(folderRefusal, resolution.plan.target);

  const plan = resolution.plan;
  onStep({ name: 'read metadata schema', binderId: plan.target.binderId, folderId: plan.target.folderId });
  let validation: ValidationResult;
  try {
    validation = await validatePlan(plan, fileChecks(plan), deps.schemas);
  } catch (err) {
    if (err instanceof IBinderApiError && err.kind === 'permanent') {
      return {
        kind: 'reject',
        cause: 'unknown-binder',
        problems: [...parsedTags.problems, unknownBinderProblem({ id: plan.target.binderId, field: binderFieldOf(plan.source) }, err)],
        plan,
        ibinder: { status: err.status, title: err.title, traceId: err.traceId },
      };
    }
    throw err;
  }
  const problems = [...parsedTags.problems, ...validation.problems];
  if (problems.length > 0) {
    return { kind: 'reject', cause: 'invalid-request', problems, plan, additionalMetadata: validation.additionalMetadata };
  }
  return { kind: 'accept', plan, additionalMetadata: validation.additionalMetadata };
}

/** The target of an assessment as a rejection report or a check shows it: ids, path, and where it came from. */
export function targetOfPlan(plan: IngestPlan): ResolvedTarget & { source: TargetSource } {
  return { ...plan.target, source: plan.source };
}

/**
 * Validates against the possibly cached schema; when the metadata looks wrong, reads the schema
 * once more without the cache before believing it (a rejection is final).
 */
async function validatePlan(
  plan: IngestPlan,
  fileChecks: IngestRequestToValidate,
  schemas: IngestAssessmentDependencies['schemas'],
): Promise<ValidationResult> {
  const request = { ...fileChecks, binderId: plan.target.binderId, metadata: plan.metadata };
  const first = validateIngestRequest({ ...request, schema: await schemas.get(plan.target.binderId) });
  if (!first.problems.some((p) => p.code === 'metadata')) return first;
  return validateIngestRequest({ ...request, schema: await schemas.refresh(plan.target.binderId) });
}
