/**
 * The ingest function's dependencies wired to the local services instead of AWS: the same
 * classes `functions/ingest/dependencies.ts` builds from a Lambda's environment (ledger,
 * connectors, caches, metrics, logger), with the local S3 and DynamoDB clients and the
 * emulators' URLs and credentials. When the config has a `bynder` block, the Bynder connector is
 * built over the HTTP client of the Bynder emulator, as the deployed ingest builds it over the
 * portal's. The demo and the integration tests run the real `processBatch` on these.
 */
import { createMetrics, ingestMetrics } from '../shared/observability/metrics.js';
import { logger as sharedLogger } from '../shared/observability/logger.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { createIBinderClient, type HttpIBinderClientOptions, type IBinderClient } from '../shared/connectors/ibinder/index.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../shared/connectors/bynder/client/index.js';
import { type BynderConfig, type BynderClient, createBynderConnector } from '../shared/connectors/bynder/index.js';
import { type BynderConnectorFactory, configuredConnectors } from '../shared/connectors/registry.js';
import { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import type { IngestDependencies } from '../functions/ingest/types.js';
import { bynderEmulatorCredentials, emulatorCredentials } from './local-credentials.js';
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
  /** Tuning of the Bynder client (timeouts, retries, polls) for tests. */
  bynder?: Partial<Omit<HttpBynderClientOptions, 'config' | 'credentials'>>;
  /** Use this Bynder client instead of the HTTP one. */
  bynderClient?: BynderClient;
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

/** The Bynder HTTP client pointed at the Bynder emulator, with its credentials. */
export function createLocalBynderClient(
  services: Pick<LocalServices, 'bynder'>,
  config: BynderConfig,
  options: LocalIngestOptions['bynder'] = {},
): BynderClient {
  return new HttpBynderClient({ config, credentials: bynderEmulatorCredentials(services.bynder), ...options });
}

/** Builds the Bynder connector of a config with a `bynder` block, over the emulator's client. */
export function localBynderConnectorFactory(
  services: Pick<LocalServices, 'bynder'>,
  options: Pick<LocalIngestOptions, 'bynder' | 'bynderClient' | 'now'> = {},
): BynderConnectorFactory {
  return (bynder, config) =>
    createBynderConnector({
      config: bynder,
      client: options.bynderClient ?? createLocalBynderClient(services, bynder, options.bynder),
      untaggedGraceSeconds: config.untaggedGraceSeconds,
      maxFileSizeBytes: config.maxFileSizeBytes,
      ...(options.now ? { now: options.now } : {}),
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
    connectors: configuredConnectors({
      config: options.config,
      ibinder: { client },
      bynderConnectorFactory: localBynderConnectorFactory(services, { ...options, now }),
    }),
    metrics: options.metrics ?? ingestMetrics(createMetrics('ingest')),
    logger: options.logger ?? sharedLogger,
    now,
    visibility: options.visibility ?? simulatedMessageVisibility(),
  };
}
