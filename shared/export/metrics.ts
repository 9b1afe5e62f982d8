/**
 * CloudWatch metrics of the export (EMF through Powertools Metrics, flushed once per
 * invocation by the handler). Business logic records through the small `ExportMetrics`
 * interface; the in-process run and the tests use `noExportMetrics` or a counting fake.
 * Names and dimensions come from shared/observability/metric-names.ts, which the alarms read.
 *
 * Planner: DocumentsSeen, DocumentsSkippedUnchanged, VersionsEnqueued (Count).
 * Worker: VersionsExported (Count), BytesExported (Bytes), VersionsAlreadyExported (Count),
 * ExportsFailed (Count: permanent failures), ExportsRetried (Count: jobs handed back to SQS),
 * DownloadLinksRenewed (Count).
 * Runs (service `ibinder-export`, dimension `trigger`, whichever function noticed them):
 * ExportRunsCompleted (a run's manifest was first written with every version settled),
 * ExportRunsIncomplete (first written with versions unfinished: the next scheduled run gave up
 * waiting for them), ExportPlanningFailed (a planner invocation failed; Lambda may retry it).
 * "The nightly export completed" is an ExportRunsCompleted datapoint with trigger=schedule;
 * its absence for a whole window is what the stack alarms on.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { DIMENSION, METRIC } from '../observability/metric-names.js';
import type { RunTrigger } from './run-store.js';

export interface ExportMetrics {
  pagePlanned(documentsSeen: number, skippedUnchanged: number, versionsEnqueued: number): void;
  versionExported(bytes: number): void;
  versionAlreadyExported(): void;
  exportFailed(): void;
  exportRetried(): void;
  downloadLinkRenewed(): void;
  /** A run's manifest was written for the first time; `complete` as in its run line. */
  runFinalized(run: { trigger: RunTrigger; complete: boolean }): void;
  /** Planning a run failed with an error (thrown to Lambda, which may retry). */
  planningFailed(trigger: RunTrigger): void;
}

export const noExportMetrics: ExportMetrics = {
  pagePlanned: () => undefined,
  versionExported: () => undefined,
  versionAlreadyExported: () => undefined,
  exportFailed: () => undefined,
  exportRetried: () => undefined,
  downloadLinkRenewed: () => undefined,
  runFinalized: () => undefined,
  planningFailed: () => undefined,
};

/**
 * @param metrics the function's Metrics instance (flushed by its handler)
 * @param runs the run outcomes' instance (`createRunOutcomeMetrics`), publishing at once
 */
export function exportMetrics(metrics: Metrics, runs: Metrics): ExportMetrics {
  const runOutcome = (name: string, trigger: RunTrigger): void => {
    runs.addDimension(DIMENSION.trigger, trigger);
    runs.addMetric(name, MetricUnit.Count, 1);
  };
  return {
    pagePlanned(documentsSeen, skippedUnchanged, versionsEnqueued) {
      metrics.addMetric(METRIC.documentsSeen, MetricUnit.Count, documentsSeen);
      metrics.addMetric(METRIC.documentsSkippedUnchanged, MetricUnit.Count, skippedUnchanged);
      metrics.addMetric(METRIC.versionsEnqueued, MetricUnit.Count, versionsEnqueued);
    },
    versionExported(bytes) {
      metrics.addMetric(METRIC.versionsExported, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.bytesExported, MetricUnit.Bytes, bytes);
    },
    versionAlreadyExported() {
      metrics.addMetric(METRIC.versionsAlreadyExported, MetricUnit.Count, 1);
    },
    exportFailed() {
      metrics.addMetric(METRIC.exportsFailed, MetricUnit.Count, 1);
    },
    exportRetried() {
      metrics.addMetric(METRIC.exportsRetried, MetricUnit.Count, 1);
    },
    downloadLinkRenewed() {
      metrics.addMetric(METRIC.downloadLinksRenewed, MetricUnit.Count, 1);
    },
    runFinalized({ trigger, complete }) {
      runOutcome(complete ? METRIC.exportRunsCompleted : METRIC.exportRunsIncomplete, trigger);
    },
    planningFailed(trigger) {
      runOutcome(METRIC.exportPlanningFailed, trigger);
    },
  };
}
