/**
 * The Bynder connector's public entry point: what `functions/`, `cli/`, `local/` and the tests may
 * use of it. The HTTP client (`client/index.js`) and the deployed functions' factory
 * (`runtime-client.js`: `runtimeBynderConnectorFactory`, `createRuntimeBynderConnector`) stay
 * separate entry points: they load the AWS SDK's Secrets Manager client, which the CLI's start
 * must not.
 */
import type { HttpBynderClientOptions } from './client/client.js';
import type { BynderSecretOptions } from './client/credentials.js';
import type { BynderClient, BynderCredentialsProvider } from './client/types.js';

export { createBynderConnector, describeBynderPlan } from './connector.js';
export type { BynderConnector, BynderConnectorOptions } from './connector.js';
export { checkBynderIngest } from './check.js';
export type { BynderAllowedOptions, BynderCheckInput, BynderCheckMetaproperty, BynderCheckRequest, BynderCheckResult } from './check.js';
export { assessBynder, fileNameFromKey, findSameNameAssets, matchBynderRule, PLAN_OPTION } from './assess.js';
export type { BynderAssessmentDependencies } from './assess.js';
export { BrandDirectory, matchBrand } from './brands.js';
export { MetapropertyCache } from './metaproperty-cache.js';
export { classifyBynderError, describeBynderError, MIN_THROTTLE_PAUSE_MS } from './classify.js';
export { BynderDestination, DEFAULT_COMMIT_SETTLE_MS } from './destination.js';
export { BynderCommitNotSettledError, BynderCommitUnknownError, BynderUploadIdError } from './errors.js';
export { hasMarkerTag, MARKER_TAG_PREFIX, markerTag } from './marker.js';
export { BYNDER_TAG, BYNDER_TAG_PREFIX, BynderTagConventionError, buildBynderTags, parseBynderTags } from './tags.js';
export type { BynderTagSpec, BynderTags, MetaTag, ParsedBynderTags } from './tags.js';
export { formatUploadId, parseUploadId } from './upload-id.js';
export { BynderConfigSchema, BynderRoutingRuleSchema, DEFAULT_BYNDER_TOKEN_PATH } from './config.js';
export type { BynderConfig, BynderConfigInput, BynderRoutingRule } from './config.js';
export type * from './client/types.js';
export { matchMetaproperty } from './validate.js';
export { BynderApiError, BynderError, BynderNetworkError } from './client/errors.js';
export type { BynderSecretOptions, HttpBynderClientOptions };

/**
 * The HTTP client, loaded on first use: its module pulls in the AWS SDK's Secrets Manager client,
 * which a caller that never talks to Bynder (the CLI's start, `binders`) should not load.
 */
export async function createBynderHttpClient(options: HttpBynderClientOptions): Promise<BynderClient> {
  const { HttpBynderClient } = await import('./client/client.js');
  return new HttpBynderClient(options);
}

/**
 * The credentials provider of a deployed function (the secret read on first use, kept for a
 * TTL), loaded on first use for the same reason as `createBynderHttpClient`.
 */
export async function createBynderSecretCredentials(options: BynderSecretOptions): Promise<BynderCredentialsProvider> {
  const { createBynderCredentialsProvider } = await import('./client/credentials.js');
  return createBynderCredentialsProvider(options);
}
export * from './export/index.js';
