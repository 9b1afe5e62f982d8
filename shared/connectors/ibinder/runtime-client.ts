/**
 * The iBinder client as every function builds it at cold start: endpoints and tenant from the
 * environment's PIPELINE_CONFIG, credentials from the IBINDER_* variables or the environment's
 * secret (cached with a TTL), and each HTTP exchange counted in the function's metrics (API
 * calls, 429s, token requests, storage transfers). One definition, so that the ingest and the
 * export talk to iBinder the same way.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createSecretsManagerClient } from '../../aws/clients.js';
import type { PipelineConfig } from '../../config/runtime.js';
import { resolveCredentialsProvider } from '../../credentials.js';
import { ibinderRequestMetrics } from '../../observability/ibinder-request-metrics.js';
import { HttpIBinderClient } from './client/client.js';
import type { IBinderClient } from './client/types.js';

export function createRuntimeIBinderClient(config: PipelineConfig, metrics: Metrics, env: NodeJS.ProcessEnv = process.env): IBinderClient {
  return new HttpIBinderClient({
    apiBaseUrl: config.apiBaseUrl,
    tokenUrl: config.tokenUrl,
    tenantId: config.tenantId,
    credentials: resolveCredentialsProvider(config, env, createSecretsManagerClient()),
    onRequest: ibinderRequestMetrics(metrics, { tokenUrl: config.tokenUrl }),
  });
}
