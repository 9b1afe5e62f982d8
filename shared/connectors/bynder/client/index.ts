/**
 * The Bynder client's public surface: the interface the connector codes against, its HTTP
 * implementation, the credentials provider, the typed errors and the observer events.
 */
export { processBynderTokenCache, BynderTokenCache } from './auth.js';
export { HttpBynderClient, toBynderDate, type HttpBynderClientOptions } from './client.js';
export { createBynderCredentialsProvider, parseBynderSecret, type BynderSecretOptions } from './credentials.js';
export {
  BynderApiError,
  BynderError,
  BynderNetworkError,
  BynderResponseError,
  BynderThrottledError,
  bynderRetryAfterMsOf,
  isBynderError,
  kindOfBynderStatus,
  type BynderErrorKind,
  type BynderRequestDescription,
} from './errors.js';
export type { BynderEndpoint, BynderRequestEvent } from './http.js';
export { processRateBudget, RateBudget, type RateBudgetOptions, type ThrottleEvent } from './rate-budget.js';
export type * from './types.js';
export { FILE_SERVICE_PATHS, type FileServicePaths, type FileServicePathsSwitch } from './upload-file-service.js';
export { bynderRequestMetrics, metricsForBynderExchange } from './request-metrics.js';
