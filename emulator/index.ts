/**
 * The iBinder API emulator: a real HTTP server on loopback that follows the vendor's reference
 * pages (token endpoint, the 13 API endpoints, presigned storage), with switchable faults, call
 * counting and an injectable clock, so that the client, the functions, the demo and the
 * benchmarks run against sockets instead of mocks.
 *
 * ```ts
 * const emulator = await startEmulator();
 * // emulator.apiBaseUrl, emulator.tokenUrl, emulator.tenantId, emulator.clientId, emulator.clientSecret
 * emulator.faults.add({ route: '/documents/{documentId}/versions', status: 429, retryAfterSeconds: 1 });
 * await emulator.close();
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallCounter } from './call-counter.js';
import type { EmulatorContext, ResolvedOptions } from './context.js';
import { FaultController } from './fault-controller.js';
import { UrlSigner } from './presigned-url.js';
import { applySeed, defaultSeedData } from './seed.js';
import { createRequestListener } from './server.js';
import { EmulatorState } from './state.js';
import { TokenStore } from './token-store.js';
import type { Emulator, EmulatorOptions } from './types.js';

/** Demo credentials; anything that reaches a real iBinder must come from Secrets Manager. */
export const DEFAULT_TENANT_ID = '3f6c1d2e-8a4b-4c7d-9e0f-1a2b3c4d5e6f';
export const DEFAULT_CLIENT_ID = 'ibinder-emulator-client';
export const DEFAULT_CLIENT_SECRET = 'emulator-secret-not-for-production';

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const now = options.now ?? Date.now;
  const ownsBlobDir = options.blobDir === undefined;
  const blobDir = options.blobDir ?? (await mkdtemp(join(tmpdir(), 'ibinder-emulator-')));

  const resolved: ResolvedOptions = {
    tenantId: options.tenantId ?? DEFAULT_TENANT_ID,
    clientId: options.clientId ?? DEFAULT_CLIENT_ID,
    clientSecret: options.clientSecret ?? DEFAULT_CLIENT_SECRET,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    presignTtlSeconds: options.presignTtlSeconds ?? 900,
    downloadLinkTtlSeconds: options.downloadLinkTtlSeconds ?? 300,
    bindersResponse: options.bindersResponse ?? 'array',
    downloadLinkPaths: new Set(options.downloadLinkPaths ?? ['raw', 'downloadlink']),
    requireTenantOnPresign: options.requireTenantOnPresign ?? false,
    blobDir,
  };

  const state = new EmulatorState(resolved.tenantId, now);
  const seed = options.seed ?? 'default';
  if (seed === 'default') applySeed(state, defaultSeedData());
  else if (seed !== 'empty') applySeed(state, seed);

  let publicUrl = options.publicUrl?.replace(/\/+$/, '') ?? '';
  const ctx: EmulatorContext = {
    options: resolved,
    state,
    signer: new UrlSigner(now),
    tokens: new TokenStore(now, resolved.tokenTtlSeconds),
    faults: new FaultController(),
    calls: new CallCounter(),
    now,
    publicUrl: () => publicUrl,
    log: options.log,
  };

  const server = createServer({ keepAlive: true }, createRequestListener(ctx));
  // 1 GiB bodies at benchmark speed must not hit Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (ownsBlobDir) await rm(blobDir, { recursive: true, force: true });
    throw err;
  }
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostForUrl}:${address.port}`;
  if (publicUrl === '') publicUrl = url;

  let closed = false;
  return {
    url,
    apiBaseUrl: `${url}/api`,
    tokenUrl: `${url}/connect/token`,
    tenantId: resolved.tenantId,
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
    faults: ctx.faults,
    calls: ctx.calls,
    state,
    revokeTokens: () => ctx.tokens.revokeAll(),
    close: async () => {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownsBlobDir) await rm(blobDir, { recursive: true, force: true });
    },
  };
}

export { CallCounter, type CallRecord } from './call-counter.js';
export { FaultController, type ActiveFault, type FaultAction, type FaultSpec, type InjectedFaults } from './fault-controller.js';
export { FAULT_MIX_KINDS, FaultMix, type FaultMixDescription, type FaultMixKind, type FaultMixSpec } from './fault-mix.js';
export { seededRandom, type RandomSource } from './seeded-random.js';
export { EmulatorState, StateError, type AddDocumentInput, type AddVersionInput } from './state.js';
export {
  DEFAULT_SEED_IDS,
  applySeed,
  defaultSeedData,
  deterministicGuid,
  seedBulkDocuments,
  type BulkSeedOptions,
  type BulkSeedResult,
} from './seed.js';
export type * from './types.js';
export {
  DEFAULT_BYNDER_SEED_IDS,
  seedBulkAssets,
  startBynderEmulator,
  type BynderEmulator,
  type BynderEmulatorOptions,
  type BynderFaults,
} from './bynder/index.js';
