/**
 * The Bynder client's observers as CloudWatch metrics: hand `bynderRequestMetrics(metrics)` to
 * `HttpBynderClient` (`{...options, ...bynderRequestMetrics(metrics)}`).
 *
 * - `BynderApiCalls`: every exchange with the portal's API (each attempt, the repeat after a
 *   refused token): the load on the portal's 4,500-per-5-minutes budget.
 * - `BynderTokenRequests`: a burst means the token cache is not working or the secret is wrong.
 * - `StorageTransfers` / `StorageTransferFailures`: downloads and legacy S3 parts (not API calls).
 * - `BynderThrottled`: a 429 from Bynder (alarmed); calls refused without a request while the
 *   block lasts are not counted again.
 */
import { METRIC, type MetricName } from '../../../observability/metric-names.js';
import type { BynderRequestEvent } from './http.js';
import type { ThrottleEvent } from './rate-budget.js';

/** The metrics one exchange adds (each with the value 1). */
export function metricsForBynderExchange(event: BynderRequestEvent): MetricName[] {
  const failed = event.status === undefined || event.status < 200 || event.status >= 300;
  switch (event.endpoint) {
    case 'api':
      return [METRIC.bynderApiCalls];
    case 'token':
      return [METRIC.bynderTokenRequests];
    case 'storage':
      return failed ? [METRIC.storageTransfers, METRIC.storageTransferFailures] : [METRIC.storageTransfers];
  }
}

/** What the observers need of Powertools' `Metrics` (which fits as is). */
export interface CountSink {
  addMetric(name: MetricName, unit: 'Count', value: number): unknown;
}

export function bynderRequestMetrics(metrics: CountSink): {
  onRequest: (event: BynderRequestEvent) => void;
  onThrottled: (event: ThrottleEvent) => void;
} {
  return {
    onRequest: (event) => {
      for (const name of metricsForBynderExchange(event)) metrics.addMetric(name, 'Count', 1);
    },
    onThrottled: (event) => {
      if (!event.failedFast) metrics.addMetric(METRIC.bynderThrottled, 'Count', 1);
    },
  };
}
