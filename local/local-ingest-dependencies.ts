/**
 * The ingest function's dependencies wired to the local services instead of AWS: the same
 * classes `functions/ingest/dependencies.ts` builds from a Lambda's environment (ledger,
 * destination, folder and schema caches, metrics, logger), with the local S3 and DynamoDB
 * clients and the emulator's URLs and credentials. The demo and the integration tests run the
 * real `processBatch` on these.
 */
import { createMetrics, ingestMetrics } from '../shared/observability/metrics.js';
import { logger as sharedLogger } from '../shared/observability/logger.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { createIBinderClient, type HttpIBinderClientOptions, type IBinderClient } from '../shared/connectors/ibinder/index.js';
import { configuredConnectors } from '../shared/connectors/registry.js';
import { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import type { IngestDependencies } from '../functions/ingest/types.js';
import { emulatorCredentials } from './local-credentials.js';
import type { LocalServices } from './services.js';
import { simulatedMessageVisibility } from './sqs-simulator.js';

export interface LocalIngestOptions {
  config: PipelineConfig;
  /** The ingest's clock (grace periods, leases, report times). Default: real time. */
  now?: () => Date;
  /** Tuning of the iBinder client (timeouts, retry delays) for tests. */
  ibinder?: Partial<Omit<HttpIBinderClientOptions, 'apiBaseUrl' | 'tokenUrl' | 'tenantId' | 'credentials'>>;
  /** Use this client instead of the HTTP one (a test double around it, for example). */
  ibinderClient?: IBinderClient;
  logger?: IngestDependencies['logger'];
  metrics?: IngestDependencies['metrics'];
  /** Where message visibility changes go. Default: the SQS simulator that delivered the message. */
  visibility?: IngestDependencies['visibility'];
}

/** The iBinder HTTP client pointed at the emulator. */
export function createLocalIBinderClient(
  services: Pick<LocalServices, 'emulator'>,
  options: LocalIngestOptions['ibinder'] = {},
): IBinderClient {
  return createIBinderClient({
    apiBaseUrl: services.emulator.apiBaseUrl,
    tokenUrl: services.emulator.tokenUrl,
    tenantId: services.emulator.tenantId,
    credentials: emulatorCredentials(services.emulator),
    ...options,
  });
}

export function createLocalIngestDependencies(services: LocalServices, options: LocalIngestOptions): IngestDependencies {
  const now = options.now ?? (() => new Date());
  const client = options.ibinderClient ?? createLocalIBinderClient(services, options.ibinder);
  return {
    config: options.config,
    inboxBucket: services.inboxBucket,
    s3: services.s3.client,
    ledger: new IngestLedger({
      client: services.dynamodb.documentClient,
      tableName: services.ledgerTable,
      leaseSeconds: options.config.claimLeaseSeconds,
      now: () => now().getTime(),
    }),
    connectors: configuredConnectors({ config: options.config, ibinder: { client } }),
    metrics: options.metrics ?? ingestMetrics(createMetrics('ingest')),
    logger: options.logger ?? sharedLogger,
    now,
    visibility: options.visibility ?? simulatedMessageVisibility(),
  };
}
