/**
 * Would the ingest accept this file? Answered by the ingest's own steps, in the ingest's
 * order (functions/ingest/process-record.ts): parse the tags, resolve the target (tags >
 * routing rule > default), validate file name, size and metadata against the binder's schema.
 * Nothing is claimed, uploaded, moved or written; the answer lists every problem at once, each
 * with its fix, exactly as the rejection report would.
 *
 * Where the CLI differs from the Lambda it says so: an untagged object is rejected only after
 * the grace period (reported here at once, with a note), and a folder id is checked by iBinder
 * only at the commit.
 */
import { resolveTarget, binderFieldOf, unknownBinderProblem } from '../functions/ingest/resolve-target.js';
import type { IBinderRefusal, TargetSource } from '../functions/ingest/types.js';
import { validateIngestRequest, type IngestRequestToValidate, type ValidationResult } from '../functions/ingest/validate.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import type { DestinationMetadataValue } from '../shared/destination/types.js';
import { IBinderApiError } from '../shared/ibinder/errors.js';
import { FolderResolver } from '../shared/ibinder/folder-resolver.js';
import { MetadataSchemaCache } from '../shared/ibinder/schema-cache.js';
import type { MetadataElement } from '../shared/ibinder/schemas.js';
import type { IBinderClient } from '../shared/ibinder/types.js';
import type { Problem } from '../shared/ledger/types.js';
import { checkS3TagSet, parseIngestTags, TAG, type S3Tag } from '../shared/s3/tags.js';

export interface IngestCheckInput {
  /** The key the object has (or would have) in the inbox bucket. */
  key: string;
  tags: readonly S3Tag[];
  sizeBytes: number;
  lastModified?: Date | undefined;
  config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'untaggedGraceSeconds' | 'maxFileSizeBytes' | 'inboxPrefix' | 'rejectedPrefix'>;
  client: Pick<IBinderClient, 'listTopFolders' | 'listSubFolders' | 'getMetadataElements'>;
  now: Date;
  /**
   * The tags are not on an S3 object yet (a local file, or `--tag` changes): check S3's own
   * rules for tag sets too, which S3 would enforce when they are written.
   */
  tagsNotYetWritten: boolean;
}

export interface IngestCheckTarget {
  binderId: string;
  folderId?: string | undefined;
  folderPath?: string | undefined;
  /** Where the target came from: tags, a routing rule, the default. */
  source: TargetSource;
}

export interface IngestCheckResult {
  accepted: boolean;
  problems: Problem[];
  target?: IngestCheckTarget | undefined;
  fileName: string;
  version?: string | undefined;
  /** The metadata as it would be committed: element ids with value ids (labels mapped). */
  metadata: DestinationMetadataValue[];
  /** iBinder's refusal, when it refused a lookup (unknown binder). */
  ibinder?: IBinderRefusal | undefined;
  /** What a person should know beyond the problems. */
  notes: string[];
}

export async function checkIngest(input: IngestCheckInput): Promise<IngestCheckResult> {
  const { key, config } = input;
  const notes: string[] = [];
  const keyProblems = checkKey(key, config);
  const parsed = parseIngestTags(input.tags);
  const tagProblems = [...(input.tagsNotYetWritten ? checkS3TagSet(input.tags) : []), ...parsed.problems];
  const schemas = new MetadataSchemaCache(input.client);

  const resolution = await resolveTarget({
    key,
    tags: parsed.tags,
    lastModified: input.lastModified,
    config,
    folders: new FolderResolver(input.client),
    now: input.now,
  });
  const fileChecks = (request: { fileName: string; fileNameField: string }): IngestRequestToValidate => ({
    fileName: request.fileName,
    fileNameField: request.fileNameField,
    sizeBytes: input.sizeBytes,
    maxFileSizeBytes: config.maxFileSizeBytes,
    metadata: [],
  });

  if (resolution.kind === 'untagged') {
    notes.push(
      `the ingest waits up to ${config.untaggedGraceSeconds} s after the upload for tags before it rejects an untagged object`,
    );
    const checks = validateIngestRequest(fileChecks(resolution.request));
    return rejected([...keyProblems, ...tagProblems, resolution.problem, ...checks.problems], resolution.request, notes);
  }

  if (resolution.kind === 'invalid') {
    let schema: readonly MetadataElement[] | undefined;
    if (resolution.binderId !== undefined) schema = await schemas.get(resolution.binderId);
    const checks = validateIngestRequest({
      ...fileChecks(resolution.request),
      binderId: resolution.binderId,
      metadata: resolution.request.metadata,
      schema,
    });
    return {
      ...rejected([...keyProblems, ...tagProblems, ...resolution.problems, ...checks.problems], resolution.request, notes),
      ...(resolution.binderId !== undefined && resolution.source !== undefined
        ? { target: { binderId: resolution.binderId, source: resolution.source } }
        : {}),
      ibinder: resolution.ibinder,
    };
  }

  const plan = resolution.plan;
  const target: IngestCheckTarget = { ...plan.target, source: plan.source };
  let validation: ValidationResult;
  try {
    const schema = await schemas.get(plan.target.binderId);
    validation = validateIngestRequest({ ...fileChecks(plan), binderId: plan.target.binderId, metadata: plan.metadata, schema });
  } catch (err) {
    if (err instanceof IBinderApiError && err.kind === 'permanent') {
      const problem = unknownBinderProblem({ id: plan.target.binderId, field: binderFieldOf(plan.source) }, err);
      return {
        ...rejected([...keyProblems, ...tagProblems, problem], plan, notes),
        target,
        ibinder: { status: err.status, title: err.title, traceId: err.traceId },
      };
    }
    throw err;
  }
  if (plan.target.folderPath === undefined) {
    notes.push(`the folder id ${plan.target.folderId} is not looked up beforehand: iBinder checks it when the file is committed`);
  }
  const problems = [...keyProblems, ...tagProblems, ...validation.problems];
  return {
    accepted: problems.length === 0,
    problems,
    target,
    fileName: plan.fileName,
    version: plan.version,
    metadata: validation.additionalMetadata,
    notes,
  };
}

/** The ingest only hears of keys under the inbox prefix, and skips the rejected prefix. */
function checkKey(key: string, config: Pick<PipelineConfig, 'inboxPrefix' | 'rejectedPrefix'>): Problem[] {
  if (key.startsWith(config.inboxPrefix)) return [];
  return [
    {
      code: 'target',
      field: 'key',
      message: `the key "${key}" is not under ${config.inboxPrefix}: the bucket sends no event for it, so the ingest never sees it`,
      fix: `put the object under ${config.inboxPrefix}${key.startsWith(config.rejectedPrefix) ? ' (reingest copies a rejected object back there)' : ''}`,
    },
  ];
}

function rejected(
  problems: Problem[],
  request: { fileName: string; version?: string | undefined },
  notes: string[],
): IngestCheckResult {
  return { accepted: false, problems, fileName: request.fileName, version: request.version, metadata: [], notes };
}

/** Where a person changes the target of this result: the tag or the config entry. */
export function describeTargetSource(source: TargetSource): string {
  if (source.kind === 'tags') return `the object's ${TAG.binder} tag`;
  if (source.kind === 'rule') return `routing rule for prefix "${source.prefix}"`;
  return "the environment's default target";
}
