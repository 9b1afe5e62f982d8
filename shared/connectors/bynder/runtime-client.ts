/**
 * The Bynder connector as a deployed function builds it at cold start: the HTTP client with its
 * credentials read from the environment's Secrets Manager secret (cached with a TTL, like
 * iBinder's), each exchange counted in the function's metrics (BynderApiCalls,
 * BynderTokenRequests, BynderThrottled, storage transfers), and the connector around it.
 *
 * A separate entry point, like iBinder's runtime-client.js: it loads the AWS SDK's Secrets
 * Manager client, which the CLI's start must not (index.js stays free of it). The client honours
 * the ingest's per-record deadline by itself (shared/runtime/deadline.ts): the batch sets it.
 *
 * The deployed functions import Bynder through this file only, never through index.js, and
 * nothing reached from here may use a dynamic `import()`. index.js loads the HTTP client and the
 * credentials with `import()` for the CLI's sake; in a function's one-file bundle esbuild turns
 * an `import()` into a lazily initialised module and must then initialise lazily everything that
 * module imports too (zod, the logger, the whole Secrets Manager client, the config): code that
 * every invocation needs anyway, which V8 then parses twice and esbuild can no longer
 * tree-shake. That cost the export planner and worker about a tenth of their import time
 * (README, "Benchmarks", cold start); test/unit/cold-start-bundles.test.ts keeps every
 * `import()` out of the functions' bundles.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../aws/clients.js';
import type { PipelineConfig } from '../../config/runtime.js';
import type { BynderConnectorFactory } from '../registry.js';
import { HttpBynderClient } from './client/client.js';
import { createBynderCredentialsProvider } from './client/credentials.js';
import { bynderRequestMetrics, type CountSink } from './client/request-metrics.js';
import type { BynderConfig } from './config.js';
import { type BynderConnector, createBynderConnector } from './connector.js';
import { type BynderExportContext, createBynderExportContext } from './export/context.js';

/** What the export planner and worker use of the Bynder export (export/index.ts), without index.js's `import()`s. */
export * from './export/index.js';

export interface RuntimeBynderOptions {
  /** Where the secret is read; default the SDK client of the function's region and endpoint. */
  secretsManager?: SecretsManagerClient | undefined;
  /** How long a read secret is used (ms); default 5 minutes, as for iBinder. */
  credentialsTtlMs?: number | undefined;
}

/** The HTTP client of the environment's portal, its secret read lazily and cached, its exchanges counted. */
export function createRuntimeBynderClient(bynder: BynderConfig, metrics: CountSink, options: RuntimeBynderOptions = {}): HttpBynderClient {
  return new HttpBynderClient({
    config: bynder,
    credentials: createBynderCredentialsProvider({
      secretName: bynder.credentialsSecretName,
      secretsManager: options.secretsManager ?? createSecretsManagerClient(),
      ttlMs: options.credentialsTtlMs,
    }),
    ...bynderRequestMetrics(metrics),
  });
}

/** The connector over that client, with the pipeline's grace period and size limit. */
export function createRuntimeBynderConnector(
  bynder: BynderConfig,
  config: Pick<PipelineConfig, 'untaggedGraceSeconds' | 'maxFileSizeBytes'>,
  metrics: CountSink,
  options: RuntimeBynderOptions = {},
): BynderConnector {
  return createBynderConnector({
    config: bynder,
    client: createRuntimeBynderClient(bynder, metrics, options),
    untaggedGraceSeconds: config.untaggedGraceSeconds,
    maxFileSizeBytes: config.maxFileSizeBytes,
  });
}

/** What the registry's `bynderConnectorFactory` is in a deployed function (functions/ingest/dependencies.ts). */
export function runtimeBynderConnectorFactory(metrics: CountSink, options: RuntimeBynderOptions = {}): BynderConnectorFactory {
  return (bynder, config) => createRuntimeBynderConnector(bynder, config, metrics, options);
}

/** The Bynder side of the export in a deployed planner or worker: the same client, with the export's listings and caches. */
export function createRuntimeBynderExportContext(
  bynder: BynderConfig,
  metrics: CountSink,
  options: RuntimeBynderOptions = {},
): BynderExportContext {
  return createBynderExportContext({ client: createRuntimeBynderClient(bynder, metrics, options), config: bynder });
}
