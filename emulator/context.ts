/**
 * What every handler of the emulator works with: the state, the resolved options, and the
 * signer and token store that make presigned URLs and bearer tokens checkable.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallCounter } from './call-counter.js';
import type { FaultController } from './fault-controller.js';
import type { UrlSigner } from './presigned-url.js';
import type { EmulatorState } from './state.js';
import type { TokenStore } from './token-store.js';

export interface ResolvedOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  tokenTtlSeconds: number;
  presignTtlSeconds: number;
  downloadLinkTtlSeconds: number;
  bindersResponse: 'array' | 'items';
  downloadLinkPaths: ReadonlySet<'raw' | 'downloadlink'>;
  requireTenantOnPresign: boolean;
  blobDir: string;
}

export interface EmulatorContext {
  options: ResolvedOptions;
  state: EmulatorState;
  signer: UrlSigner;
  tokens: TokenStore;
  faults: FaultController;
  calls: CallCounter;
  now: () => number;
  /** Origin written into presigned URLs; set once the server listens. */
  publicUrl: () => string;
  log: ((line: string) => void) | undefined;
}

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (ctx: EmulatorContext, request: RequestContext) => Promise<void> | void;
