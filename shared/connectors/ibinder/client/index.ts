/**
 * Entry point of the iBinder client (the connector's HTTP side). Business logic imports the `IBinderClient` interface and
 * asks `createIBinderClient` for the HTTP implementation; tests hand in a fake instead.
 */
import { HttpIBinderClient, type HttpIBinderClientOptions } from './client.js';
import type { IBinderClient } from './types.js';

/**
 * Creates the HTTP client. Cheap: tokens live in the process-wide token cache (see auth.ts),
 * so a client per invocation and a client at module scope share one token in a warm Lambda.
 */
export function createIBinderClient(options: HttpIBinderClientOptions): IBinderClient {
  return new HttpIBinderClient(options);
}

export { HttpIBinderClient, isExpiredLinkError } from './client.js';
export type { HttpIBinderClientOptions } from './client.js';
export { TokenCache, TokenSource, processTokenCache } from './auth.js';
export { PresignedStorageError } from './http.js';
export { parseRetryAfter } from './retry.js';
export * from './errors.js';
export * from './schemas.js';
export type * from './types.js';
export { runWithDeadline } from './deadline.js';
export { retryAfterMsOf } from './retry.js';
