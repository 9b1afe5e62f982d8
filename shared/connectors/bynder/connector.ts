/**
 * The Bynder connector as the ingest and the CLI use it (types.ts, `IngestConnector`): its tag
 * namespace (`bynder:`), its routing prefixes and default brand from the environment's `bynder`
 * settings, the assessment (assess.ts), the destination (destination.ts: the save is not
 * idempotent, so the ledger marks it under way and a retry looks for what it created first), the
 * classification of Bynder's errors (classify.ts), and the listings the CLI shows (brands,
 * metaproperties) and the operator's check (check.ts), read through the same caches the
 * assessment uses.
 */
import { FIVE_GIB } from '../../config/runtime.js';
import type { Assessment, AssessmentHooks, AssessmentInput, ClassifiedError, CommitPlan, IngestConnector, UploadStep } from '../types.js';
import { assessBynder, PLAN_OPTION } from './assess.js';
import { BrandDirectory } from './brands.js';
import { type BynderCheckRequest, type BynderCheckResult, checkBynderIngest } from './check.js';
import { classifyBynderError, describeBynderError } from './classify.js';
import type { BynderBrand, BynderClient, BynderMetaproperty } from './client/types.js';
import type { BynderConfig } from './config.js';
import { BynderDestination } from './destination.js';
import { MetapropertyCache } from './metaproperty-cache.js';
import { BYNDER_TAG_PREFIX } from './tags.js';

/** The pipeline's own untagged grace period when the caller gives none (its config's default). */
const DEFAULT_UNTAGGED_GRACE_SECONDS = 300;

export interface BynderConnectorOptions {
  config: Pick<BynderConfig, 'routingRules' | 'defaultBrand' | 'unlistedPrefixes' | 'maxConcurrentRecords' | 'throttlePauseSeconds'>;
  client: BynderClient;
  /** The pipeline's `untaggedGraceSeconds` (default 300). */
  untaggedGraceSeconds?: number | undefined;
  /** The pipeline's `maxFileSizeBytes` (default 5 GiB). */
  maxFileSizeBytes?: number | undefined;
  /** Clock of the caches and of the commit's settle window. */
  now?: (() => Date) | undefined;
  /** TTL of the brand and metaproperty listings (default 5 minutes). */
  cacheTtlMs?: number | undefined;
  /** How long after a save's start a marker search that finds nothing is not believed (default 2 minutes). */
  commitSettleMs?: number | undefined;
}

/** The Bynder connector, with the listings the CLI shows. */
export interface BynderConnector extends IngestConnector {
  readonly name: 'bynder';
  readonly destination: BynderDestination;
  /** Log fields of one of the connector's errors (status, request, correlation id); nothing secret. */
  describeError(err: unknown): Record<string, unknown>;
  /** The portal's brands (cached; `fresh` reads them from Bynder). */
  brands(options?: { fresh?: boolean }): Promise<BynderBrand[]>;
  /** The portal's metaproperties with their options (cached; `fresh` reads them from Bynder). */
  metaproperties(options?: { fresh?: boolean }): Promise<BynderMetaproperty[]>;
  /** The operator's check of one file (check.ts): the assessment, with names, ids and the options a problem allows. */
  check(request: BynderCheckRequest): Promise<BynderCheckResult>;
}

export function createBynderConnector(options: BynderConnectorOptions): BynderConnector {
  const { config, client } = options;
  const now = options.now ?? (() => new Date());
  const cacheOptions = { ttlMs: options.cacheTtlMs, now: () => now().getTime() };
  const brands = new BrandDirectory(client, cacheOptions);
  const metaproperties = new MetapropertyCache(client, cacheOptions);
  const destination = new BynderDestination(client, { now, settleMs: options.commitSettleMs });
  const throttlePauseMs = config.throttlePauseSeconds * 1000;

  const connector: BynderConnector = {
    name: 'bynder',
    tagNamespace: BYNDER_TAG_PREFIX,
    routingPrefixes: config.routingRules.map((rule) => rule.prefix),
    hasDefaultTarget: config.defaultBrand !== undefined,
    maxConcurrentRecords: config.maxConcurrentRecords,
    destination,
    assess(input: AssessmentInput, hooks?: AssessmentHooks): Promise<Assessment> {
      return assessBynder(
        input,
        {
          config,
          client,
          brands,
          metaproperties,
          untaggedGraceSeconds: options.untaggedGraceSeconds ?? DEFAULT_UNTAGGED_GRACE_SECONDS,
          maxFileSizeBytes: options.maxFileSizeBytes ?? FIVE_GIB,
        },
        hooks,
      );
    },
    classify(err: unknown, step: UploadStep): ClassifiedError {
      return classifyBynderError(err, step, { throttlePauseMs });
    },
    describePlan: describeBynderPlan,
    describeError: describeBynderError,
    brands: (listing) => (listing?.fresh ? brands.refresh() : brands.list()),
    metaproperties: (listing) => (listing?.fresh ? metaproperties.refresh() : metaproperties.get()),
    check: (request) => checkBynderIngest({ ...request, connector }),
  };
  return connector;
}

/** A Bynder plan as a log line shows it: ids, names, counts; no URLs, nothing secret. */
export function describeBynderPlan(plan: CommitPlan): Record<string, unknown> {
  const mediaId = plan.target.mediaId;
  return {
    connector: plan.connector,
    brandId: plan.target.brandId,
    brandName: plan.labels?.brandName,
    ...(mediaId !== undefined ? { newVersionOf: mediaId } : {}),
    fileName: plan.fileName,
    name: plan.options?.[PLAN_OPTION.name],
    metaproperties: plan.metadata.length,
  };
}
