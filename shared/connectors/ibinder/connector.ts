/**
 * The iBinder connector as the ingest uses it (types.ts, `IngestConnector`): its tag namespace,
 * its routing prefixes and default target from the environment's config, the assessment (tags >
 * routing rule > default, the binder's allowlist, the folder, the metadata schema), the
 * destination (presign, PUT, commit; the commit is idempotent by upload id, so a resume simply
 * repeats it) and the classification of its errors.
 */
import type { PipelineConfig } from '../../config/runtime.js';
import type {
  Assessment,
  AssessmentHooks,
  AssessmentInput,
  ClassifiedError,
  CommitPlan,
  CommittedVersion,
  ConnectorDestination,
  IngestConnector,
  PreparedUpload,
  TransferBody,
  TransferOptions,
  UploadStep,
} from '../types.js';
import { classifyIBinderError, IBinderCommitRefusedError, ibinderErrorFields } from './classify.js';
import { IBinderApiError } from './client/errors.js';
import type { IBinderClient } from './client/types.js';
import type { Destination } from './destination-types.js';
import { IBinderDestination } from './destination.js';
import { FolderResolver } from './folder-resolver.js';
import { assessIngest, type IngestAssessmentDependencies } from './ingest/assess.js';
import { toAssessment } from './ingest/assessment.js';
import { commitMetadataOf, describeIBinderPlan, IBINDER, resolvedTargetOf } from './plan.js';
import { MetadataSchemaCache } from './schema-cache.js';
import { INGEST_TAG_PREFIX } from './tags.js';

/**
 * Most records of one batch sent to iBinder at once. iBinder publishes no figure ("limits are set
 * based on the type of client and the type of request"; past them a 429, honoured with its
 * Retry-After): 10 is the records of one standard SQS batch, each of them a few short requests.
 */
export const IBINDER_MAX_CONCURRENT_RECORDS = 10;

export interface IBinderConnectorOptions {
  config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'unlistedPrefixes' | 'untaggedGraceSeconds' | 'maxFileSizeBytes'>;
  client: IBinderClient;
  /** Default: a FolderResolver over `client`. */
  folders?: IngestAssessmentDependencies['folders'] | undefined;
  /** `get` may answer from a cache, `refresh` must read iBinder. Default: a MetadataSchemaCache over `client`. */
  schemas?: IngestAssessmentDependencies['schemas'] | undefined;
  /** The iBinder-shaped destination. Default: an IBinderDestination over `client`. */
  destination?: Destination | undefined;
  /** The clock of the default caches (ms). */
  now?: (() => number) | undefined;
}

/** The iBinder connector, with the parts the CLI and tests reach for. */
export interface IBinderConnector extends IngestConnector {
  readonly name: 'ibinder';
  readonly client: IBinderClient;
  readonly folders: IngestAssessmentDependencies['folders'];
  readonly schemas: IngestAssessmentDependencies['schemas'];
}

export function createIBinderConnector(options: IBinderConnectorOptions): IBinderConnector {
  const { config, client } = options;
  const cacheOptions = options.now !== undefined ? { now: options.now } : {};
  const folders = options.folders ?? new FolderResolver(client, cacheOptions);
  const schemas = options.schemas ?? new MetadataSchemaCache(client, cacheOptions);
  const destination = ibinderConnectorDestination(options.destination ?? new IBinderDestination(client));
  return {
    name: IBINDER,
    tagNamespace: INGEST_TAG_PREFIX,
    routingPrefixes: config.routingRules.map((rule) => rule.prefix),
    hasDefaultTarget: config.defaultTarget !== undefined,
    maxConcurrentRecords: IBINDER_MAX_CONCURRENT_RECORDS,
    client,
    folders,
    schemas,
    destination,
    async assess(input: AssessmentInput, hooks?: AssessmentHooks): Promise<Assessment> {
      const assessment = await assessIngest(input, {
        config,
        folders,
        schemas,
        onStep: (step) => {
          hooks?.onStep?.(
            step.name === 'read metadata schema'
              ? { name: step.name, ids: { binderId: step.binderId, ...(step.folderId !== undefined ? { folderId: step.folderId } : {}) } }
              : { name: step.name },
          );
        },
      });
      return toAssessment(assessment);
    },
    classify(err: unknown, step: UploadStep): ClassifiedError {
      return classifyIBinderError(err, step);
    },
    describePlan: describeIBinderPlan,
    describeError: ibinderErrorFields,
  };
}

/**
 * The iBinder destination behind the neutral interface. The commit is idempotent by upload id
 * (iBinder binds an upload to its first commit), so no "commit under way" mark is needed; a
 * permanent refusal of the commit is thrown with the plan it refused, for the classification.
 */
export function ibinderConnectorDestination(destination: Destination): ConnectorDestination {
  return {
    commitIsIdempotent: true,
    prepareUpload: (): Promise<PreparedUpload> => destination.prepareUpload(),
    async transfer(upload: PreparedUpload, body: TransferBody, _plan: CommitPlan, options?: TransferOptions): Promise<void> {
      if (upload.uploadUrl === undefined) throw new Error(`iBinder upload ${upload.uploadId} has no upload URL: prepare a new upload`);
      await destination.transfer(
        { uploadId: upload.uploadId, uploadUrl: upload.uploadUrl },
        { openBody: () => body.openBody(), contentLength: body.contentLength, contentType: body.contentType },
        options,
      );
    },
    async commit(plan: CommitPlan, uploadId: string): Promise<CommittedVersion> {
      try {
        const committed = await destination.commit(resolvedTargetOf(plan), {
          fileName: plan.fileName,
          version: plan.version,
          uploadId,
          metadata: commitMetadataOf(plan),
        });
        return {
          connector: IBINDER,
          ids: { documentId: committed.documentId, versionId: committed.versionId },
          versionLabel: committed.version,
        };
      } catch (err) {
        if (err instanceof IBinderApiError && err.kind === 'permanent') throw new IBinderCommitRefusedError(err, plan);
        throw err;
      }
    },
  };
}
