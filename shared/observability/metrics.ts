/**
 * CloudWatch metrics of the ingest, written as EMF log lines by Powertools Metrics and flushed
 * once per invocation (the `logMetrics` middy middleware). Business logic records through the
 * small `IngestMetrics` interface, so tests can count calls without parsing log output.
 * Names, namespace and dimensions come from `metric-names.ts`, which the stack's alarms read too.
 *
 * - FilesIngested (Count), BytesIngested (Bytes), UploadDurationMs (Milliseconds): one per commit.
 * - FilesRejected (Count): one per rejection; once more with the dimension `reason` (the first
 *   problem's code) for the breakdown.
 * - RecordsRetried (Count): one per record handed back to SQS (transient failure).
 * - RecordsThrottled (Count, dimension `connector`): one per record handed back because its
 *   document system blocked the integration (a `throttled` classification).
 *
 * Every finished file writes both FilesIngested and FilesRejected (1 and 0): the rejection-rate
 * alarm divides one by their sum, and CloudWatch metric math gives no value for a period in
 * which one of the two has no datapoint at all, so an hour of nothing but rejections would
 * otherwise look like an hour without data.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ConnectorName } from '../connectors/types.js';
import type { ProblemCode } from '../ledger/types.js';
import { DIMENSION, EXPORT_RUNS_SERVICE, METRIC, METRICS_NAMESPACE } from './metric-names.js';

export { METRICS_NAMESPACE, SERVICE_NAMES } from './metric-names.js';

export interface IngestMetrics {
  fileIngested(bytes: number, uploadDurationMs: number): void;
  fileRejected(reason: ProblemCode): void;
  recordRetried(): void;
  /** Optional so that test doubles written before it need no change. */
  fileSuperseded?(): void;
  /** A record retried because `connector` throttled the integration. Optional like fileSuperseded. */
  recordThrottled?(connector: ConnectorName): void;
}

/**
 * The Powertools Metrics instance of a function. In Lambda the stack sets
 * POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME; the defaults are the same values,
 * so a function run by hand publishes where the alarms look.
 */
export function createMetrics(serviceName: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
}

/**
 * The metrics of export runs as a whole (service EXPORT_RUNS_SERVICE, whichever function
 * notices a run's outcome), each published at once. A Metrics instance of its own, because
 * the service dimension of a function's instance cannot be replaced without a warning line.
 */
export function createRunOutcomeMetrics(environment: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName: EXPORT_RUNS_SERVICE,
    defaultDimensions: { [DIMENSION.environment]: environment },
    singleMetric: true,
  });
}

/**
 * Adds the `environment` dimension to every metric published from now on. Environments may
 * share an account and region; without it their alarms would count each other's files.
 * Called where the environment's config is read (the dependency factories).
 */
export function setEnvironmentDimension(metrics: Metrics, environment: string): void {
  metrics.setDefaultDimensions({ [DIMENSION.environment]: environment });
}

export function ingestMetrics(metrics: Metrics): IngestMetrics {
  return {
    fileIngested(bytes, uploadDurationMs) {
      metrics.addMetric(METRIC.filesIngested, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.filesRejected, MetricUnit.Count, 0);
      metrics.addMetric(METRIC.bytesIngested, MetricUnit.Bytes, bytes);
      metrics.addMetric(METRIC.uploadDurationMs, MetricUnit.Milliseconds, uploadDurationMs);
    },
    fileRejected(reason) {
      metrics.addMetric(METRIC.filesRejected, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.filesIngested, MetricUnit.Count, 0);
      // The breakdown needs its own dimension set: a single-metric blob, written at once.
      const byReason = metrics.singleMetric();
      byReason.addDimension(DIMENSION.reason, reason);
      byReason.addMetric(METRIC.filesRejected, MetricUnit.Count, 1);
    },
    recordRetried() {
      metrics.addMetric(METRIC.recordsRetried, MetricUnit.Count, 1);
    },
    fileSuperseded() {
      metrics.addMetric(METRIC.filesSuperseded, MetricUnit.Count, 1);
    },
    recordThrottled(connector) {
      const byConnector = metrics.singleMetric();
      byConnector.addDimension(DIMENSION.connector, connector);
      byConnector.addMetric(METRIC.recordsThrottled, MetricUnit.Count, 1);
    },
  };
}
