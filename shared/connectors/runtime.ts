/**
 * The connectors as a deployed function builds them at cold start: the one place where the
 * functions reach every system's runtime entry point (`<system>/runtime-client.ts`: its client
 * with credentials from the environment's secret and its exchanges counted in the function's
 * metrics). A handler asks this module for "the connectors this environment configures" and
 * never names a system, so a third system is added here and in the registry, not in a handler.
 *
 * Every import here is static: a function's one-file bundle must hold no `import()` (see
 * shared/connectors/bynder/runtime-client.ts and test/unit/cold-start-bundles.test.ts).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { PipelineConfig } from '../config/runtime.js';
import { runtimeBynderConnectorFactory } from './bynder/runtime-client.js';
import { createRuntimeIBinderClient } from './ibinder/runtime-client.js';
import { type BynderConnectorFactory, configuredConnectors } from './registry.js';
import type { IngestConnector } from './types.js';

export interface RuntimeConnectorsOptions {
  config: PipelineConfig;
  /** The function's Metrics: every client counts its exchanges there. */
  metrics: Metrics;
  env?: NodeJS.ProcessEnv | undefined;
  /** Builds the Bynder connector when the environment configures `bynder`; default the deployed one. Tests hand in their own. */
  bynderConnectorFactory?: BynderConnectorFactory | undefined;
}

/** The ingest connectors the environment configures (registry.ts), each over its deployed client. */
export function createRuntimeConnectors(options: RuntimeConnectorsOptions): IngestConnector[] {
  const { config, metrics, env = process.env } = options;
  return configuredConnectors({
    config,
    ibinder: { client: createRuntimeIBinderClient(config, metrics, env) },
    bynderConnectorFactory: options.bynderConnectorFactory ?? runtimeBynderConnectorFactory(metrics),
  });
}
