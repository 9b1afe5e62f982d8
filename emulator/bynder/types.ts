/**
 * The Bynder emulator's public shapes: the options that switch between the readings the
 * reference pages leave open, and the handle a test or the CLI gets back.
 */
import type { CallCounter } from '../call-counter.js';
import type { FaultController } from '../fault-controller.js';
import type { RateLimiter } from './rate-limiter.js';
import type { BynderState } from './state.js';
import type { SeedPortal } from './seed.js';

export interface ImportConversionOptions {
  /** The import is converted once it has been polled this many times. */
  polls?: number;
  /** ... or once this many milliseconds (emulator clock) have passed since it was finalised. */
  ms?: number;
}

export interface BynderEmulatorOptions {
  port?: number;
  host?: string;
  /** `default` (three brands, five metaproperties, a few assets), `empty`, or your own portal. */
  seed?: 'default' | 'empty' | SeedPortal;
  clientId?: string;
  clientSecret?: string;
  /** A fixed token that is always accepted (Bynder's permanent tokens); none by default. */
  permanentToken?: string;
  /** `expires_in` of issued tokens (default 3600). */
  tokenTtlSeconds?: number;
  /** Body of a 401 for wrong client credentials: OAuth's `{error}` (default) or `{message, statuscode}`. */
  tokenErrorStyle?: 'oauth' | 'message';
  /** Lifetime of `s3_file` download links (default 300 s). */
  downloadLinkTtlSeconds?: number;
  /** `dateModified` as "after": `strict` (>, default) or `inclusive` (>=). */
  dateModifiedBoundary?: 'strict' | 'inclusive';
  /** Deleted assets still appear in `GET /api/v4/media/` (the collection quirk); they 404 on GET. */
  listDeletedAssets?: boolean;
  /** Options listed inline in `GET /api/v4/metaproperties/` per metaproperty; the rest only via `/options/`. Default: all. */
  inlineOptionLimit?: number;
  /** When an import counts as converted; until then save answers 303. Default: at once. */
  importConversion?: ImportConversionOptions;
  /** Refuse a save that leaves a required metaproperty empty (unconfirmed on a live portal; default false). */
  enforceRequiredMetaproperties?: boolean;
  /** Largest file-service chunk body (default 5 MiB); larger -> 413. */
  maxChunkBytes?: number;
  /** Rate limit per client address: `limit` requests in any `windowSeconds`; then blocked until `quietSeconds` pass without a request. */
  rateLimit?: { limit?: number; windowSeconds?: number; quietSeconds?: number };
  /** Where chunks and parts are written (default: a temporary directory removed on close). */
  dataDir?: string;
  now?: () => number;
  log?: (line: string) => void;
}

export interface BynderEmulator {
  /** Origin, e.g. `http://127.0.0.1:54321`: the portal URL a client is configured with. */
  url: string;
  /** `<url>/v6/authentication/oauth2/token` (the SDKs' token URL). */
  tokenUrl: string;
  /** `<url>/v6/authentication/oauth2/token/client-credentials` (the outline's). */
  clientCredentialsTokenUrl: string;
  clientId: string;
  clientSecret: string;
  permanentToken: string | undefined;
  state: BynderState;
  faults: BynderFaults;
  calls: CallCounter;
  rateLimiter: RateLimiter;
  /** Requests that carried an `Authorization` header to a storage URL (refused with 400). */
  storageAuthorizationAttempts(): number;
  close(): Promise<void>;
}

/** The generic fault controller plus named shortcuts for the faults Bynder clients must survive. */
export interface BynderFaults {
  controller: FaultController;
  /** The next `times` chunk uploads (both path readings) answer 500. */
  failChunkUploads(times?: number): void;
  /** The next `times` requests (any route, or `route`) lose their connection before being read. */
  dropConnection(times?: number, route?: string): void;
  /** The next `times` saves create their asset, then lose the response. */
  loseSaveResponse(times?: number): void;
  /** The next `times` finalise calls (file service and legacy) answer 500 `{"message":"Could not complete upload","retry":1}`. */
  failFinalise(times?: number): void;
  /** Every token issued so far stops working (401); the permanent token keeps working. */
  expireTokens(): void;
  /** Every `s3_file` link issued so far answers 403. */
  expireDownloadLinks(): void;
  /** Start a rate-limit block now (429 until the quiet period passes without requests). */
  rateLimitNow(): void;
  clear(): void;
}
