/**
 * Wires the export's dependencies from a Lambda's environment (what the stack sets, see
 * shared/config/runtime.ts ENV): PIPELINE_CONFIG, EXPORT_LEDGER_TABLE_NAME,
 * ARCHIVE_BUCKET_NAME and, for the planner, EXPORT_QUEUE_URL. Credentials come from the
 * Secrets Manager secret named in the config, or IBINDER_CLIENT_ID / IBINDER_CLIENT_SECRET
 * locally. AWS clients honour AWS_ENDPOINT_URL(_<SERVICE>), so the same wiring runs against
 * local servers. Metrics get the environment's dimension here, and the iBinder client reports
 * each HTTP exchange to them (API calls by status class, 429s, token requests, transfers).
 *
 * When the config has `bynder`, the Bynder client is built too (its secret from Secrets
 * Manager, like the ingest's; the process-wide rate budget and token cache, so the planner's
 * and a worker's calls in one instance share them; its calls, token requests and 429s as
 * metrics): the planner then runs Bynder's change feed, the worker archives Bynder's jobs.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createDocumentClient, createS3Client, createSqsClient } from '../aws/clients.js';
import type { BynderExportContext } from '../connectors/bynder/export/context.js';
import { createRuntimeBynderExportContext } from '../connectors/bynder/runtime-client.js';
import { ENV, loadPipelineConfig, type PipelineConfig, requireEnv } from '../config/runtime.js';
import { createRuntimeIBinderClient } from '../connectors/ibinder/runtime-client.js';
import { logger } from '../observability/logger.js';
import { createRunOutcomeMetrics, setEnvironmentDimension } from '../observability/metrics.js';
import { IBinderSource } from '../connectors/ibinder/export-source.js';
import { createExportDeps, exportLoggerFrom, type ExportDeps, type PlannerDeps } from './deps.js';
import { SqsExportJobQueue } from './job-queue.js';
import { exportMetrics } from './metrics.js';
import { exportSettingsFrom } from './settings.js';

export function exportDepsFromEnvironment(metrics: Metrics, env: NodeJS.ProcessEnv = process.env): ExportDeps {
  const config = loadPipelineConfig(env);
  const tableName = requireEnv(ENV.exportLedgerTable, env);
  const bucket = requireEnv(ENV.archiveBucket, env);
  setEnvironmentDimension(metrics, config.environment);
  const client = createRuntimeIBinderClient(config, metrics, env);
  return createExportDeps({
    settings: exportSettingsFrom(config),
    source: new IBinderSource(client),
    bynder: config.bynder !== undefined ? bynderExportContextFromConfig(config.bynder, metrics) : undefined,
    s3: createS3Client({}, env),
    bucket,
    dynamo: createDocumentClient(),
    ledgerTableName: tableName,
    logger: exportLoggerFrom(logger),
    metrics: exportMetrics(metrics, createRunOutcomeMetrics(config.environment, env)),
  });
}

export function plannerDepsFromEnvironment(metrics: Metrics, env: NodeJS.ProcessEnv = process.env): PlannerDeps {
  const deps = exportDepsFromEnvironment(metrics, env);
  return { ...deps, queue: new SqsExportJobQueue(createSqsClient(), requireEnv(ENV.exportQueueUrl, env)) };
}

/** The Bynder side of the export, from the environment's `bynder` settings. */
export function bynderExportContextFromConfig(config: NonNullable<PipelineConfig['bynder']>, metrics: Metrics): BynderExportContext {
  return createRuntimeBynderExportContext(config, metrics);
}
