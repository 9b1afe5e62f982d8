/**
 * The whole local stack for an integration test, in one call: the iBinder emulator, local S3
 * (versioned inbox, archive) and DynamoDB (both ledgers), a simulated ingest queue fed by the
 * inbox's ObjectCreated notifications, and factories for the real ingest and export
 * dependencies wired to them. Stop it in `afterAll`/`afterEach`.
 *
 * ```ts
 * const stack = await startLocalStack();
 * const { versionId } = await stack.putInboxObject('inbox/a.pdf', bytes, { 'ibinder:binder': 'PRJ0001AB', ... });
 * const report = await stack.drainIngest();           // real processBatch, SQS semantics
 * await stack.stop();
 * ```
 *
 * Defaults chosen for fast, quiet tests: the iBinder client's backoff is shortened (Retry-After
 * is capped at 200 ms), the functions' logger is silent and metrics are counted in memory.
 * Time for the ingest (grace periods, leases) and the queue comes from `stack.clock`.
 */
import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch } from '../../functions/ingest/batch.js';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import type { PipelineConfig, PipelineConfigInput } from '../../shared/config/runtime.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import type { IngestMetrics } from '../../shared/observability/metrics.js';
import type { ProblemCode } from '../../shared/ledger/types.js';
import { forwardInboxNotifications, type InboxNotifications } from '../../local/inbox-notifications.js';
import { createLocalExportDependencies, type LocalExportOptions } from '../../local/local-export-dependencies.js';
import { createLocalIngestDependencies, type LocalIngestOptions } from '../../local/local-ingest-dependencies.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import { startLocalServices, type LocalServices, type LocalServicesOptions } from '../../local/services.js';
import { SimulatedClock } from '../../local/simulated-clock.js';
import { SqsSimulator, type DrainOptions, type DrainReport, type SqsLambdaHandler } from '../../local/sqs-simulator.js';

export interface LocalStackOptions {
  services?: LocalServicesOptions;
  /** Overrides of the local PipelineConfig (routing rules, disposition, grace period...). */
  config?: Partial<PipelineConfigInput>;
  /** The ingest queue. Defaults: visibility timeout 120 s, maxReceiveCount 3. */
  queue?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number };
  /** Start of the simulated clock (ms). Default: the real time now. */
  clockStartMs?: number;
  /** Send the s3:TestEvent S3 sends when a notification is configured. Default false. */
  sendTestEvent?: boolean;
}

/** The export queue. Defaults as the stack's: visibility 6 × the worker's 900 s timeout, maxReceiveCount 5. */
export interface ExportQueueOptions {
  queueName?: string;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
}

const EXPORT_QUEUE_DEFAULTS = { queueName: 'ibinder-export-test', visibilityTimeoutSeconds: 6 * 900, maxReceiveCount: 5 } as const;

/** IngestMetrics that count in memory, for assertions. */
export interface CountingIngestMetrics extends IngestMetrics {
  ingested: number;
  bytes: number;
  rejected: ProblemCode[];
  retried: number;
}

export interface IngestDepsOverrides extends Partial<Omit<LocalIngestOptions, 'config'>> {
  config?: Partial<PipelineConfigInput>;
}

export interface LocalStack {
  services: LocalServices;
  clock: SimulatedClock;
  queue: SqsSimulator;
  notifications: InboxNotifications;
  /** The config the default ingest dependencies use. */
  config: PipelineConfig;
  /** The default ingest dependencies (created once; its caches persist across drains). */
  ingestDeps: IngestDependencies;
  metrics: CountingIngestMetrics;
  /** Fresh ingest dependencies, e.g. with another config or a wrapped iBinder client. */
  createIngestDeps(overrides?: IngestDepsOverrides): IngestDependencies;
  /** The SQS-triggered ingest function: `processBatch` with these dependencies. */
  ingestHandler(deps?: IngestDependencies): SqsLambdaHandler;
  /** Drains the ingest queue through the ingest function. */
  drainIngest(options?: DrainOptions & { deps?: IngestDependencies }): Promise<DrainReport>;
  /** PutObject into the inbox bucket, with `x-amz-tagging` when tags are given. */
  putInboxObject(key: string, body: Buffer | string, tags?: Readonly<Record<string, string>>): Promise<{ versionId: string | undefined }>;
  /** PutObjectTagging on an inbox object (a producer tagging after the upload). */
  tagInboxObject(key: string, tags: Readonly<Record<string, string>>, versionId?: string): Promise<void>;
  /** The export's dependencies against the emulator, the archive bucket and the export ledger. */
  createExportDeps(overrides?: Partial<LocalExportOptions>): ExportDeps;
  /**
   * A simulated export queue (the planner's jobs, the worker's batches), on a clock of its own
   * that starts now, so that draining it does not move the ingest's time.
   */
  createExportQueue(options?: ExportQueueOptions): SqsSimulator;
  stop(): Promise<void>;
}

const TEST_IBINDER_TUNING = {
  baseDelayMs: 5,
  maxDelayMs: 200,
  rateLimitFloorMs: 5,
  requestTimeoutMs: 10_000,
  maxRetryTimeMs: 5_000,
} as const;

export function createCountingIngestMetrics(): CountingIngestMetrics {
  const metrics: CountingIngestMetrics = {
    ingested: 0,
    bytes: 0,
    rejected: [],
    retried: 0,
    fileIngested(bytes) {
      metrics.ingested += 1;
      metrics.bytes += bytes;
    },
    fileRejected(reason) {
      metrics.rejected.push(reason);
    },
    recordRetried() {
      metrics.retried += 1;
    },
  };
  return metrics;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const services = await startLocalServices(options.services);
  try {
    const clock = new SimulatedClock(options.clockStartMs ?? Date.now());
    const queue = new SqsSimulator({
      clock,
      queueName: 'ibinder-ingest-test',
      visibilityTimeoutSeconds: options.queue?.visibilityTimeoutSeconds ?? 120,
      maxReceiveCount: options.queue?.maxReceiveCount ?? 3,
    });
    const notifications = forwardInboxNotifications(services.s3, queue, {
      bucket: services.inboxBucket,
      region: services.region,
      sendTestEvent: options.sendTestEvent ?? false,
    });
    const silentLogger = new Logger({ serviceName: 'ingest-test', logLevel: 'SILENT' });
    const metrics = createCountingIngestMetrics();

    const createIngestDeps = (overrides: IngestDepsOverrides = {}): IngestDependencies => {
      const { config: configOverrides, ibinder, ...rest } = overrides;
      return createLocalIngestDependencies(services, {
        config: localPipelineConfig(services, { ...options.config, ...configOverrides }),
        now: () => new Date(clock.now()),
        ibinder: { ...TEST_IBINDER_TUNING, ...ibinder },
        logger: silentLogger,
        metrics,
        ...rest,
      });
    };
    const ingestDeps = createIngestDeps();
    const ingestHandler =
      (deps: IngestDependencies = ingestDeps): SqsLambdaHandler =>
      (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
        processBatch(event, context, deps);

    return {
      services,
      clock,
      queue,
      notifications,
      config: ingestDeps.config,
      ingestDeps,
      metrics,
      createIngestDeps,
      ingestHandler,
      drainIngest: ({ deps, ...drainOptions } = {}) =>
        queue.drainWithLambda(ingestHandler(deps), { batchSize: 10, maxRounds: 20, ...drainOptions }),
      putInboxObject: async (key, body, tags) => {
        const out = await services.s3.client.send(
          new PutObjectCommand({
            Bucket: services.inboxBucket,
            Key: key,
            Body: body,
            ...(tags ? { Tagging: new URLSearchParams(Object.entries(tags)).toString() } : {}),
          }),
        );
        return { versionId: out.VersionId };
      },
      tagInboxObject: async (key, tags, versionId) => {
        await services.s3.client.send(
          new PutObjectTaggingCommand({
            Bucket: services.inboxBucket,
            Key: key,
            VersionId: versionId,
            Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
          }),
        );
      },
      createExportDeps: (overrides = {}) => createLocalExportDependencies(services, { config: ingestDeps.config, ...overrides }),
      createExportQueue: (queueOptions = {}) =>
        new SqsSimulator({ ...EXPORT_QUEUE_DEFAULTS, ...queueOptions, clock: new SimulatedClock(Date.now()) }),
      stop: async () => {
        notifications.stop();
        await services.stop();
      },
    };
  } catch (err) {
    await services.stop();
    throw err;
  }
}
