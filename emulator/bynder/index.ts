/**
 * The Bynder API emulator: a real HTTP server on loopback that follows the Bynder notes and
 * outline in the reference pages (token endpoint, brands, metaproperties, media, downloads, the
 * file-service and legacy uploads, save, the rate-limit block), accepting every reading where
 * the pages disagree, with switchable faults, call counting and an injectable clock.
 *
 * ```ts
 * const bynder = await startBynderEmulator({ rateLimit: { limit: 20 } });
 * // bynder.url (the portal URL), bynder.tokenUrl, bynder.clientId, bynder.clientSecret
 * bynder.faults.failChunkUploads(2);
 * await bynder.close();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallCounter } from '../call-counter.js';
import { FaultController } from '../fault-controller.js';
import { UrlSigner } from '../presigned-url.js';
import type { BynderContext, ResolvedBynderOptions } from './context.js';
import { applyFaultPreset } from './fault-presets.js';
import { PendingFaults } from './pending-faults.js';
import { RateLimiter } from './rate-limiter.js';
import { applyBynderSeed, defaultBynderSeed } from './seed.js';
import { createBynderRequestListener } from './server.js';
import { BynderState } from './state.js';
import { BynderTokenStore } from './token-store.js';
import type { BynderEmulator, BynderEmulatorOptions, BynderFaults } from './types.js';
import { UploadSessions } from './upload-sessions.js';

/** Demo credentials; a real portal's come from Secrets Manager. */
export const DEFAULT_BYNDER_CLIENT_ID = 'bynder-emulator-client';
export const DEFAULT_BYNDER_CLIENT_SECRET = 'bynder-emulator-secret-not-for-production';
export const BYNDER_TOKEN_PATH = '/v6/authentication/oauth2/token';
export const BYNDER_CLIENT_CREDENTIALS_TOKEN_PATH = '/v6/authentication/oauth2/token/client-credentials';

export async function startBynderEmulator(options: BynderEmulatorOptions = {}): Promise<BynderEmulator> {
  const now = options.now ?? Date.now;
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'bynder-emulator-')));

  const resolved: ResolvedBynderOptions = {
    clientId: options.clientId ?? DEFAULT_BYNDER_CLIENT_ID,
    clientSecret: options.clientSecret ?? DEFAULT_BYNDER_CLIENT_SECRET,
    tokenErrorStyle: options.tokenErrorStyle ?? 'oauth',
    downloadLinkTtlSeconds: options.downloadLinkTtlSeconds ?? 300,
    dateModifiedBoundary: options.dateModifiedBoundary ?? 'strict',
    listDeletedAssets: options.listDeletedAssets ?? false,
    inlineOptionLimit: options.inlineOptionLimit,
    importConversion: options.importConversion ?? {},
    enforceRequiredMetaproperties: options.enforceRequiredMetaproperties ?? false,
    maxChunkBytes: options.maxChunkBytes ?? 5 * 1024 * 1024,
    dataDir,
  };

  const state = new BynderState(now);
  const seed = options.seed ?? 'default';
  if (seed === 'default') applyBynderSeed(state, defaultBynderSeed());
  else if (seed !== 'empty') applyBynderSeed(state, seed);

  let origin = '';
  const ctx: BynderContext = {
    options: resolved,
    state,
    tokens: new BynderTokenStore(now, options.tokenTtlSeconds ?? 3600, options.permanentToken),
    signer: new UrlSigner(now, 'BYNDEREMULATORS3'),
    faults: new FaultController(),
    pendingFaults: new PendingFaults(),
    calls: new CallCounter(),
    rateLimiter: new RateLimiter(now, options.rateLimit ?? {}),
    uploads: new UploadSessions(dataDir),
    now,
    origin: () => origin,
    linkGeneration: { value: 1 },
    storageAuthorizationAttempts: { value: 0 },
    log: options.log,
  };

  const server = createServer({ keepAlive: true }, createBynderRequestListener(ctx));
  // Large uploads at benchmark speed must not hit Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  const faults: BynderFaults = {
    controller: ctx.faults,
    failChunkUploads: (times = 1) => applyFaultPreset(ctx, 'chunk-500', times),
    dropConnection: (times = 1, route?: string) => applyFaultPreset(ctx, 'drop-connection', times, route),
    loseSaveResponse: (times = 1) => applyFaultPreset(ctx, 'lose-save-response', times),
    failFinalise: (times = 1) => applyFaultPreset(ctx, 'finalise-500', times),
    expireTokens: () => applyFaultPreset(ctx, 'expire-tokens'),
    expireDownloadLinks: () => applyFaultPreset(ctx, 'expire-download-links'),
    rateLimitNow: () => applyFaultPreset(ctx, 'rate-limit-now'),
    clear: () => {
      ctx.faults.clear();
      ctx.pendingFaults.clear();
    },
  };

  let closed = false;
  return {
    url: origin,
    tokenUrl: `${origin}${BYNDER_TOKEN_PATH}`,
    clientCredentialsTokenUrl: `${origin}${BYNDER_CLIENT_CREDENTIALS_TOKEN_PATH}`,
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
    permanentToken: options.permanentToken,
    state,
    faults,
    calls: ctx.calls,
    rateLimiter: ctx.rateLimiter,
    storageAuthorizationAttempts: () => ctx.storageAuthorizationAttempts.value,
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export { RateLimiter, DEFAULT_RATE_LIMIT, type RateLimitSettings } from './rate-limiter.js';
export {
  BynderState,
  BynderStateError,
  type AssetRecord,
  type BrandRecord,
  type ImportRecord,
  type MediaItemRecord,
  type MetapropertyRecord,
} from './state.js';
export {
  DEFAULT_BYNDER_SEED_IDS,
  applyBynderSeed,
  defaultBynderSeed,
  seedBulkAssets,
  type BulkAssetOptions,
  type SeedAsset,
  type SeedPortal,
} from './seed.js';
export { FAULT_PRESETS, type FaultPreset } from './fault-presets.js';
export { COLDFUSION_ID, RFC4122_UUID, deterministicColdFusionId } from './ids.js';
export type * from './types.js';
