/**
 * CloudWatch metrics of the export (EMF through Powertools Metrics, flushed once per
 * invocation by the handler). Business logic records through the small `ExportMetrics`
 * interface; the in-process run and the tests use `noExportMetrics` or a counting fake.
 *
 * Planner: DocumentsSeen, DocumentsSkippedUnchanged, VersionsEnqueued (Count).
 * Worker: VersionsExported (Count), BytesExported (Bytes), VersionsAlreadyExported (Count),
 * ExportsFailed (Count: permanent failures), ExportsRetried (Count: jobs handed back to SQS),
 * DownloadLinksRenewed (Count).
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';

export interface ExportMetrics {
  pagePlanned(documentsSeen: number, skippedUnchanged: number, versionsEnqueued: number): void;
  versionExported(bytes: number): void;
  versionAlreadyExported(): void;
  exportFailed(): void;
  exportRetried(): void;
  downloadLinkRenewed(): void;
}

export const noExportMetrics: ExportMetrics = {
  pagePlanned: () => undefined,
  versionExported: () => undefined,
  versionAlreadyExported: () => undefined,
  exportFailed: () => undefined,
  exportRetried: () => undefined,
  downloadLinkRenewed: () => undefined,
};

export function exportMetrics(metrics: Metrics): ExportMetrics {
  return {
    pagePlanned(documentsSeen, skippedUnchanged, versionsEnqueued) {
      metrics.addMetric('DocumentsSeen', MetricUnit.Count, documentsSeen);
      metrics.addMetric('DocumentsSkippedUnchanged', MetricUnit.Count, skippedUnchanged);
      metrics.addMetric('VersionsEnqueued', MetricUnit.Count, versionsEnqueued);
    },
    versionExported(bytes) {
      metrics.addMetric('VersionsExported', MetricUnit.Count, 1);
      metrics.addMetric('BytesExported', MetricUnit.Bytes, bytes);
    },
    versionAlreadyExported() {
      metrics.addMetric('VersionsAlreadyExported', MetricUnit.Count, 1);
    },
    exportFailed() {
      metrics.addMetric('ExportsFailed', MetricUnit.Count, 1);
    },
    exportRetried() {
      metrics.addMetric('ExportsRetried', MetricUnit.Count, 1);
    },
    downloadLinkRenewed() {
      metrics.addMetric('DownloadLinksRenewed', MetricUnit.Count, 1);
    },
  };
}
