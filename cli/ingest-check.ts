/**
 * Would the ingest accept this file? Answered by the ingest's own decision
 * (`assessIngest` in shared/connectors/ibinder/ingest/assess.ts, which the Lambda calls too): parse the tags,
 * resolve the target (tags > routing rule > default), validate file name, size and metadata
 * against the binder's schema. Nothing is claimed, uploaded, moved or written; the answer lists
 * every problem at once, each with its fix, exactly as the rejection report would.
 *
 * The allowlists are part of that decision, so `check` refuses a target outside the key's
 * allowlist with the same problem the rejection report would carry.
 *
 * The CLI adds what only a person checking needs: a key outside the inbox prefix (the ingest
 * never hears of it), S3's own rules for tags not written yet, and notes. Where the CLI differs
 * from the Lambda it says so: an untagged object is rejected only after the grace period
 * (reported here at once, with a note).
 */
import { assessIngest, targetOfPlan } from '../shared/connectors/ibinder/index.js';
import type { IBinderRefusal, TargetSource } from '../shared/connectors/ibinder/index.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import type { DestinationMetadataValue } from '../shared/connectors/ibinder/index.js';
import { FolderResolver } from '../shared/connectors/ibinder/index.js';
import { MetadataSchemaCache } from '../shared/connectors/ibinder/index.js';
import type { IBinderClient } from '../shared/connectors/ibinder/index.js';
import { chooseConnector, connectorRoutes } from '../shared/connectors/registry.js';
import type { Problem } from '../shared/ledger/types.js';
import { TAG } from '../shared/connectors/ibinder/index.js';
import { checkS3TagSet, type S3Tag } from '../shared/s3/tags.js';

export interface IngestCheckInput {
  /** The key the object has (or would have) in the inbox bucket. */
  key: string;
  tags: readonly S3Tag[];
  sizeBytes: number;
  lastModified?: Date | undefined;
  config: Pick<
    PipelineConfig,
    'routingRules' | 'defaultTarget' | 'unlistedPrefixes' | 'untaggedGraceSeconds' | 'maxFileSizeBytes' | 'inboxPrefix' | 'rejectedPrefix'
  > &
    Partial<Pick<PipelineConfig, 'bynder'>>;
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
  // Ahead of the ingest's own problems, as the CLI's extras: the key, and S3's rules for new tags.
  const extraProblems = [...checkKey(key, config), ...(input.tagsNotYetWritten ? checkS3TagSet(input.tags) : [])];
  // The ingest's first decision: which connector the file goes to (tags, routing prefix, default).
  const choice = chooseConnector(key, input.tags, connectorRoutes(config));
  if (choice.kind === 'reject') {
    return rejected([...extraProblems, ...choice.rejection.problems], { fileName: key.slice(key.lastIndexOf('/') + 1) }, notes);
  }
  if (choice.connector.name !== 'ibinder') {
    notes.push(`the ingest sends this file to ${choice.connector.name}; this check answers for iBinder files only`);
    return rejected(
      [
        ...extraProblems,
        {
          code: 'target',
          field: choice.by.kind === 'tags' ? choice.connector.tagNamespace : 'key',
          message: `the file goes to ${choice.connector.name}, which this check cannot assess`,
          fix: `check the file against ${choice.connector.name} itself, or tag it for iBinder (ibinder:) if it belongs there`,
        },
      ],
      { fileName: key.slice(key.lastIndexOf('/') + 1) },
      notes,
    );
  }
  // New for this one check, so its first read of a schema is already uncached: a refresh would
  // only ask iBinder the same question again.
  const cache = new MetadataSchemaCache(input.client);
  const schemas = { get: (binderId: string) => cache.get(binderId), refresh: (binderId: string) => cache.get(binderId) };

  const assessment = await assessIngest(
    { key, tags: input.tags, sizeBytes: input.sizeBytes, lastModified: input.lastModified, now: input.now },
    { config, folders: new FolderResolver(input.client), schemas },
  );
  // The ingest waits for tags during the grace period; a person checking is told the outcome after it.
  const outcome = assessment.kind === 'wait' ? assessment.rejectionAfterGrace : assessment;

  if (outcome.kind === 'reject') {
    switch (outcome.cause) {
      case 'untagged':
        notes.push(
          `the ingest waits up to ${config.untaggedGraceSeconds} s after the upload for tags before it rejects an untagged object`,
        );
        return rejected([...extraProblems, ...outcome.problems], outcome.request, notes);
      case 'unresolved-target':
        return {
          ...rejected([...extraProblems, ...outcome.problems], outcome.request, notes),
          ...(outcome.binder ? { target: { binderId: outcome.binder.binderId, source: outcome.binder.source } } : {}),
          ibinder: outcome.ibinder,
        };
      case 'unknown-binder':
        return {
          ...rejected([...extraProblems, ...outcome.problems], outcome.plan, notes),
          target: targetOfPlan(outcome.plan),
          ibinder: outcome.ibinder,
        };
      case 'not-allowed':
        return { ...rejected([...extraProblems, ...outcome.problems], outcome.request, notes), target: outcome.target };
      case 'invalid-request':
        break;
    }
  }

  // Accepted by the ingest's rules, or refused for the request itself: the target is known.
  const plan = outcome.plan;
  const problems = [...extraProblems, ...(outcome.kind === 'reject' ? outcome.problems : [])];
  return {
    accepted: problems.length === 0,
    problems,
    target: targetOfPlan(plan),
    fileName: plan.fileName,
    version: plan.version,
    metadata: outcome.additionalMetadata,
    notes,
  };
}

/** The ingest only hears of keys under the inbox prefix, and skips the rejected prefix. */
export function checkKey(key: string, config: Pick<PipelineConfig, 'inboxPrefix' | 'rejectedPrefix'>): Problem[] {
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

function rejected(problems: Problem[], request: { fileName: string; version?: string | undefined }, notes: string[]): IngestCheckResult {
  return { accepted: false, problems, fileName: request.fileName, version: request.version, metadata: [], notes };
}

/** Where a person changes the target of this result: the tag or the config entry. */
export function describeTargetSource(source: TargetSource): string {
  if (source.kind === 'tags') return `the object's ${TAG.binder} tag`;
  if (source.kind === 'rule') return `routing rule for prefix "${source.prefix}"`;
  return "the environment's default target";
}
