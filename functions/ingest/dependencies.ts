/**
 * The ingest function's dependencies, created once per cold start and reused by every
 * invocation of a warm Lambda: the AWS clients (with their sockets), the connectors the
 * environment configures (shared/connectors/registry.ts; each client's token is cached across
 * invocations), the credentials providers (secrets cached with a TTL) and the per-binder and
 * per-portal caches. Configuration is validated here, so a wrong deployment fails on its first
 * event with the name of the wrong setting. Metrics get the environment's dimension here, and
 * each client reports its HTTP exchanges to them (API calls, 429s, token requests). The
 * connectors come from shared/connectors/runtime.ts, which names the systems; this file names
 * none (a connector is built only when the environment configures it).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createDocumentClient, createS3Client, createSqsClient } from '../../shared/aws/clients.js';
import { ENV, loadPipelineConfig, requireEnv } from '../../shared/config/runtime.js';
import type { BynderConnectorFactory } from '../../shared/connectors/registry.js';
import { createRuntimeConnectors } from '../../shared/connectors/runtime.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { logger } from '../../shared/observability/logger.js';
import { SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics, ingestMetrics, setEnvironmentDimension } from '../../shared/observability/metrics.js';
import { SqsMessageVisibility } from './message-visibility.js';
import type { IngestDependencies } from './types.js';

/** The function's Metrics instance; module-level because the middleware flushes it. */
export const metrics: Metrics = createMetrics(SERVICE_NAMES.ingest);

/**
 * @param bynderConnectorFactory builds the Bynder connector when the environment configures
 *   `bynder`; default the deployed one (secret from Secrets Manager, exchanges in `metrics`).
 *   Tests and the local stack hand in their own (a client of the emulator).
 */
export function createIngestDependencies(
  env: NodeJS.ProcessEnv = process.env,
  bynderConnectorFactory?: BynderConnectorFactory,
): IngestDependencies {
  const config = loadPipelineConfig(env);
  const tableName = requireEnv(ENV.ledgerTable, env);
  const inboxBucket = requireEnv(ENV.inboxBucket, env);
  setEnvironmentDimension(metrics, config.environment);
  return {
    config,
    inboxBucket,
    // The middleware stack resolved once per command class, not per call (the SDK's
    // `cacheMiddleware`): the ingest never changes the stack after creating the client, and a
    // small file makes three S3 calls. In ten-file batches the batch/one-file ratio read
    // 1.34-1.43 with it against 1.41-1.45 without (four interleaved pairs).
    s3: createS3Client({ cacheMiddleware: true }, env),
    ledger: new IngestLedger({ client: createDocumentClient(), tableName, leaseSeconds: config.claimLeaseSeconds }),
    connectors: createRuntimeConnectors({ config, metrics, env, bynderConnectorFactory }),
    metrics: ingestMetrics(metrics),
    logger,
    now: () => new Date(),
    // The queue URL comes from each record's eventSourceARN: the function needs no extra setting.
    visibility: new SqsMessageVisibility(createSqsClient()),
  };
}

let cached: IngestDependencies | undefined;

/** Created on first use rather than at import, so that importing the handler needs no environment. */
export function getIngestDependencies(): IngestDependencies {
  cached ??= createIngestDependencies();
  return cached;
}
