/**
 * The Bynder connector as a deployed function builds it at cold start: the HTTP client with its
 * credentials read from the environment's Secrets Manager secret (cached with a TTL, like
 * iBinder's), each exchange counted in the function's metrics (BynderApiCalls,
 * BynderTokenRequests, BynderThrottled, storage transfers), and the connector around it.
 *
 * A separate entry point, like iBinder's runtime-client.js: it loads the AWS SDK's Secrets
 * Manager client, which the CLI's start must not (index.js stays free of it). The client honours
 * the ingest's per-record deadline by itself (shared/runtime/deadline.ts): the batch sets it.
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
