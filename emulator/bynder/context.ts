/**
 * What every handler of the Bynder emulator works with: the portal state, the resolved
 * options, the token store, the URL signer for download links, and the upload sessions.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallCounter } from '../call-counter.js';
import type { FaultController } from '../fault-controller.js';
import type { UrlSigner } from '../presigned-url.js';
import type { RateLimiter } from './rate-limiter.js';
import type { PendingFaults } from './pending-faults.js';
import type { BynderState } from './state.js';
import type { BynderTokenStore } from './token-store.js';
import type { ImportConversionOptions } from './types.js';
import type { UploadSessions } from './upload-sessions.js';

export interface ResolvedBynderOptions {
  clientId: string;
  clientSecret: string;
  tokenErrorStyle: 'oauth' | 'message';
  downloadLinkTtlSeconds: number;
  dateModifiedBoundary: 'strict' | 'inclusive';
  listDeletedAssets: boolean;
  inlineOptionLimit: number | undefined;
  importConversion: ImportConversionOptions;
  enforceRequiredMetaproperties: boolean;
  maxChunkBytes: number;
  dataDir: string;
}

export interface BynderContext {
  options: ResolvedBynderOptions;
  state: BynderState;
  tokens: BynderTokenStore;
  signer: UrlSigner;
  faults: FaultController;
  /** Chunk 500s, finalise 500s and lost save responses, whichever path reading is used. */
  pendingFaults: PendingFaults;
  calls: CallCounter;
  rateLimiter: RateLimiter;
  uploads: UploadSessions;
  now: () => number;
  origin: () => string;
  /** Download links carry this in their path; bumping it expires every link issued before. */
  linkGeneration: { value: number };
  /** Requests that brought an Authorization header to a storage URL. */
  storageAuthorizationAttempts: { value: number };
  log: ((line: string) => void) | undefined;
}

export interface BynderRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type BynderHandler = (ctx: BynderContext, request: BynderRequest) => Promise<void> | void;
