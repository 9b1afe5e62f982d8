/**
 * CloudWatch metrics of the ingest, written as EMF log lines by Powertools Metrics and flushed
 * once per invocation (the `logMetrics` middy middleware). Business logic records through the
 * small `IngestMetrics` interface, so tests can count calls without parsing log output.
 *
 * - FilesIngested (Count), BytesIngested (Bytes), UploadDurationMs (Milliseconds): one per commit.
 * - FilesRejected (Count, dimension `reason` = the first problem's code): one per rejection.
 * - RecordsRetried (Count): one per record handed back to SQS (transient failure).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ProblemCode } from '../ledger/types.js';

export const METRICS_NAMESPACE = 'IBinderPipeline';

export interface IngestMetrics {
  fileIngested(bytes: number, uploadDurationMs: number): void;
  fileRejected(reason: ProblemCode): void;
  recordRetried(): void;
}

/** The Powertools Metrics instance of a function; namespace overridable by POWERTOOLS_METRICS_NAMESPACE. */
export function createMetrics(serviceName: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  return new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
    serviceName: env.POWERTOOLS_SERVICE_NAME ?? serviceName,
  });
}

export function ingestMetrics(metrics: Metrics): IngestMetrics {
  return {
    fileIngested(bytes, uploadDurationMs) {
      metrics.addMetric('FilesIngested', MetricUnit.Count, 1);
      metrics.addMetric('BytesIngested', MetricUnit.Bytes, bytes);
      metrics.addMetric('UploadDurationMs', MetricUnit.Milliseconds, uploadDurationMs);
    },
    fileRejected(reason) {
      // A dimension only for this metric: a single-metric blob is emitted at once with it.
      const single = metrics.singleMetric();
      single.addDimension('reason', reason);
      single.addMetric('FilesRejected', MetricUnit.Count, 1);
    },
    recordRetried() {
      metrics.addMetric('RecordsRetried', MetricUnit.Count, 1);
    },
  };
}
