/**
 * The iBinder connector's public entry point: what `functions/`, `cli/`, `local/` and the tests
 * may use of it (the lint rule in biome.jsonc refuses imports of the files behind it from
 * functions/ and cli/). The deployed functions' client factory is the other entry point,
 * runtime-client.js: it loads the AWS SDK clients, which the CLI's start must not.
 */
export * from './client/index.js';
export { FolderResolver } from './folder-resolver.js';
export { MetadataSchemaCache } from './schema-cache.js';
export { IBinderDestination } from './destination.js';
export { IBinderSource } from './export-source.js';
export { buildIngestTags, INGEST_TAG_PREFIX, parseIngestTags, TAG, TagConventionError } from './tags.js';
export type { IngestTags, IngestTagSpec, ParsedIngestTags } from './tags.js';
export type * from './destination-types.js';
export type * from './ingest/types.js';
export { assessIngest, targetOfPlan } from './ingest/assess.js';
export type * from './ingest/assess.js';
export { createIBinderConnector, IBINDER_MAX_CONCURRENT_RECORDS, ibinderConnectorDestination } from './connector.js';
export type { IBinderConnector, IBinderConnectorOptions } from './connector.js';
export { classifyIBinderError, commitProblems, IBinderCommitRefusedError, ibinderErrorFields } from './classify.js';
export { commitPlanOf, describeIBinderPlan, reportTargetOf, resolvedTargetOf } from './plan.js';
