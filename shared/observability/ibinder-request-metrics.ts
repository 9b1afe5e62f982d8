/**
 * Counts the iBinder client's HTTP exchanges as metrics, through the client's `onRequest` hook
 * (one call per exchange: every attempt, the repeat after a refused token, token requests and
 * presigned transfers alike).
 *
 * Three kinds of exchange are counted apart, because they answer different questions:
 * - API calls (`IBinderApiCalls`, and by status class `IBinderApiClientErrors` 4xx,
 *   `IBinderApiServerErrors` 5xx, `IBinderApiNoResponse` for timeouts and lost connections):
 *   the load this pipeline puts on iBinder's rate limits and how iBinder answers.
 * - Token requests (`IBinderTokenRequests`, `IBinderTokenFailures`): a burst of them means the
 *   token cache is not working or the credentials are wrong.
 * - Presigned storage transfers (`StorageTransfers`, `StorageTransferFailures`): bytes moving,
 *   not API calls, and not subject to the API's rate limit.
 * `IBinderRateLimited` counts every 429, from the API or the token endpoint.
 *
 * The hook reports method and path only (never the host, query or headers), so the kind is
 * told from the path: the token endpoint's path, the API's own routes (`/binders...`,
 * `/documents...`, relative to the API base URL), and everything else (presigned URLs, PUT
 * bodies) is storage.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { IBinderClientOptions } from '../connectors/ibinder/client/types.js';
import { METRIC, type MetricName } from './metric-names.js';

export type RequestObserver = NonNullable<IBinderClientOptions['onRequest']>;
export type RequestEvent = Parameters<RequestObserver>[0];

export type ExchangeKind = 'api' | 'token' | 'storage';

/** Every path the iBinder client calls below the API base URL starts so (client.ts). */
const API_ROUTE = /^\/(?:binders|documents)(?:\/|$)/;

export function exchangeKindOf(event: Pick<RequestEvent, 'method' | 'path'>, tokenPath: string): ExchangeKind {
  const method = event.method.toUpperCase();
  if (method === 'POST' && event.path === tokenPath) return 'token';
  // The API has no PUT route: a PUT is always a presigned upload.
  if (method !== 'PUT' && API_ROUTE.test(event.path)) return 'api';
  return 'storage';
}

/** The metrics one exchange adds (each with the value 1). */
export function metricsForExchange(event: RequestEvent, tokenPath: string): MetricName[] {
  const { status } = event;
  const failed = status === undefined || status < 200 || status >= 300;
  const names: MetricName[] = [];
  switch (exchangeKindOf(event, tokenPath)) {
    case 'api':
      names.push(METRIC.apiCalls);
      if (status === undefined) names.push(METRIC.apiNoResponse);
      else if (status >= 500) names.push(METRIC.apiServerErrors);
      else if (status >= 400) names.push(METRIC.apiClientErrors);
      break;
    case 'token':
      names.push(METRIC.tokenRequests);
      if (failed) names.push(METRIC.tokenFailures);
      break;
    case 'storage':
      names.push(METRIC.storageTransfers);
      if (failed) names.push(METRIC.storageTransferFailures);
      break;
  }
  if (status === 429) names.push(METRIC.rateLimited);
  return names;
}

function pathOfUrl(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/**
 * The `onRequest` hook for a client of `tokenUrl` that adds to `metrics` (flushed with the
 * function's other metrics at the end of the invocation).
 */
export function ibinderRequestMetrics(metrics: Metrics, options: { tokenUrl: string }): RequestObserver {
  const tokenPath = pathOfUrl(options.tokenUrl);
  return (event) => {
    for (const name of metricsForExchange(event, tokenPath)) metrics.addMetric(name, MetricUnit.Count, 1);
  };
}
