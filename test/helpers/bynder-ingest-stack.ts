/**
 * The local stack (local S3, local DynamoDB, the SQS simulator, the real ingest handler) with the
 * Bynder emulator beside the iBinder one, and ingest dependencies whose registry holds the real
 * Bynder connector over the real HTTP client: the integration tests of the Bynder ingest.
 *
 * The Bynder emulator, the client's rate budget and the connector share the stack's simulated
 * clock, so that a 429 block, its pause and the commit's settle window pass when the queue's
 * redelivery moves time, not in real time. The client's own clock stays the wall clock, the clock
 * of the per-record deadline. Backoffs, polls and chunks are small and fast.
 */
import type { BynderEmulator, BynderEmulatorOptions } from '../../emulator/bynder/index.js';
import { startBynderEmulator } from '../../emulator/bynder/index.js';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import { bynderRequestMetrics } from '../../shared/connectors/bynder/client/request-metrics.js';
import { type BynderConnector, createBynderConnector } from '../../shared/connectors/bynder/connector.js';
import { type BynderConfigInput, BynderConfigSchema } from '../../shared/connectors/bynder/config.js';
import { configuredConnectors } from '../../shared/connectors/registry.js';
import type { ConnectorName, IngestConnector } from '../../shared/connectors/types.js';
import type { MetricName } from '../../shared/observability/metric-names.js';
import type { DrainOptions, DrainReport } from '../../local/sqs-simulator.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from './local-stack.js';

export interface BynderIngestStackOptions {
  /** The environment's `bynder` block (portal URL and secret name are filled in). */
  bynder?: Partial<BynderConfigInput>;
  emulator?: BynderEmulatorOptions;
  /** Tuning of the Bynder HTTP client beyond the fast test defaults. */
  client?: Partial<HttpBynderClientOptions>;
  /** How long after a save a marker search that finds nothing is not believed (default: the connector's 2 minutes). */
  commitSettleMs?: number;
  stack?: LocalStackOptions;
}

export interface BynderIngestStack {
  stack: LocalStack;
  bynder: BynderEmulator;
  client: HttpBynderClient;
  connector: BynderConnector;
  /** Ingest dependencies with iBinder and Bynder configured. */
  deps: IngestDependencies;
  /** The Bynder client's metrics (BynderApiCalls, BynderTokenRequests, BynderThrottled...), in order. */
  clientMetrics: MetricName[];
  /** Connectors the flow counted as throttling (`recordThrottled`). */
  throttledConnectors: ConnectorName[];
  /** The same dependencies with the Bynder connector replaced by `wrap(connector)` (crashes, faults). */
  withBynder(wrap: (connector: BynderConnector) => IngestConnector): IngestDependencies;
  drain(options?: DrainOptions & { deps?: IngestDependencies }): Promise<DrainReport>;
  /** Assets of the portal (not deleted) with this name. */
  assetsNamed(name: string): ReturnType<BynderEmulator['state']['allAssets']>;
  stop(): Promise<void>;
}

const fastSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 5)));

export async function startBynderIngestStack(options: BynderIngestStackOptions = {}): Promise<BynderIngestStack> {
  const stack = await startLocalStack(options.stack);
  let bynder: BynderEmulator | undefined;
  try {
    const clock = stack.clock;
    bynder = await startBynderEmulator({ host: '127.0.0.1', port: 0, now: () => clock.now(), ...options.emulator });
    const emulator = bynder;
    const bynderConfig = BynderConfigSchema.parse({
      portalUrl: emulator.url,
      credentialsSecretName: 'local/bynder-credentials',
      requestsPerSecond: 1000,
      ...options.bynder,
    });
    const clientMetrics: MetricName[] = [];
    const client = new HttpBynderClient({
      config: bynderConfig,
      credentials: () => Promise.resolve({ clientId: emulator.clientId, clientSecret: emulator.clientSecret }),
      tokenCache: new BynderTokenCache(),
      rateBudget: new RateBudget({
        requestsPerSecond: bynderConfig.requestsPerSecond,
        throttlePauseMs: bynderConfig.throttlePauseSeconds * 1000,
        now: () => clock.now(),
        sleep: fastSleep,
      }),
      sleep: fastSleep,
      baseDelayMs: 5,
      maxDelayMs: 20,
      firstPollDelayMs: 5,
      maxPollDelayMs: 10,
      requestTimeoutMs: 10_000,
      chunkTimeoutMs: 10_000,
      ...bynderRequestMetrics({ addMetric: (name) => clientMetrics.push(name) }),
      ...options.client,
    });
    const config = localPipelineConfig(stack.services, { ...options.stack?.config, bynder: bynderConfig });
    const connector = createBynderConnector({
      config: bynderConfig,
      client,
      untaggedGraceSeconds: config.untaggedGraceSeconds,
      maxFileSizeBytes: config.maxFileSizeBytes,
      now: () => new Date(clock.now()),
      commitSettleMs: options.commitSettleMs,
    });
    const throttledConnectors: ConnectorName[] = [];
    const base = stack.ingestDeps;
    const ibinder = base.connectors.find((c) => c.name === 'ibinder') as IngestConnector;
    const depsWith = (bynderConnector: IngestConnector): IngestDependencies => ({
      ...base,
      config,
      connectors: configuredConnectors({ config, ibinder, bynderConnectorFactory: () => bynderConnector }),
      metrics: {
        ...base.metrics,
        fileIngested: (bytes, ms) => base.metrics.fileIngested(bytes, ms),
        fileRejected: (reason) => base.metrics.fileRejected(reason),
        recordRetried: () => base.metrics.recordRetried(),
        recordThrottled: (name) => throttledConnectors.push(name),
      },
    });
    const deps = depsWith(connector);
    const stopEmulator = emulator.close.bind(emulator);
    return {
      stack,
      bynder: emulator,
      client,
      connector,
      deps,
      clientMetrics,
      throttledConnectors,
      withBynder: (wrap) => depsWith(wrap(connector)),
      drain: ({ deps: chosen, ...drainOptions } = {}) => stack.drainIngest({ deps: chosen ?? deps, ...drainOptions }),
      assetsNamed: (name) => emulator.state.allAssets().filter((a) => a.name === name && !a.deleted),
      stop: async () => {
        await stopEmulator().catch(() => undefined);
        await stack.stop();
      },
    };
  } catch (err) {
    await bynder?.close().catch(() => undefined);
    await stack.stop();
    throw err;
  }
}
