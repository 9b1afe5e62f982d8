/**
 * The request listener: resolve the route template, count the call, apply a pending fault,
 * then dispatch. Log lines carry method, route template and status only, never a path with
 * ids' query strings, a token or a signature.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import * as api from './api-handlers.js';
import { commitUpload } from './commit-upload.js';
import type { EmulatorContext, Handler } from './context.js';
import { CONTROL_PREFIX, handleControl } from './control-api.js';
import type { FaultAction } from './fault-controller.js';
import { sendJson, sendProblem, sendStorageError } from './problem.js';
import { resolveRoute, type RouteKind, type RouteName } from './routes.js';
import { searchDocuments } from './search.js';
import { storageDownload, storageUpload } from './storage-handlers.js';
import { tokenEndpoint } from './token-endpoint.js';
import { withholdResponse } from './withhold-response.js';

const HANDLERS: Record<RouteName, Handler> = {
  token: tokenEndpoint,
  listBinders: api.listBinders,
  metadataElements: api.metadataElements,
  searchDocuments,
  driveFolders: api.driveFolders,
  subFolders: api.subFolders,
  folderDocuments: api.folderDocuments,
  presignedUpload: api.presignedUpload,
  commitUpload,
  getDocument: api.getDocument,
  listVersions: api.listVersions,
  getVersion: api.getVersion,
  downloadLinkRaw: api.downloadLinkHandler('raw'),
  downloadLinkLegacy: api.downloadLinkHandler('downloadlink'),
  storageUpload,
  storageDownload,
};

const STORAGE_FAULT_CODES: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'SlowDown',
};

function sendFault(res: ServerResponse, kind: RouteKind, fault: FaultAction & { status: number }): void {
  // A refused storage PUT closes the connection instead of draining a large body.
  const headers: Record<string, string> = kind === 'storage' ? { connection: 'close' } : {};
  if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
  if (kind === 'storage') {
    sendStorageError(
      res,
      fault.status,
      STORAGE_FAULT_CODES[fault.status] ?? 'EmulatedFault',
      'Fault injected by the emulator.',
      {},
      headers,
    );
  } else if (kind === 'token') {
    sendJson(res, fault.status, { error: 'temporarily_unavailable', error_description: 'Fault injected by the emulator.' }, headers);
  } else {
    const short = fault.status === 401 || fault.status === 403;
    sendProblem(res, fault.status, short ? { short } : { detail: 'Fault injected by the emulator.' }, headers);
  }
}

function sendUnmatched(res: ServerResponse, kind: RouteKind | undefined, method: string, allowed: string[]): void {
  const headers: Record<string, string> = allowed.length > 0 ? { allow: allowed.join(', ') } : {};
  const status = allowed.length > 0 ? 405 : 404;
  if (kind === 'storage') {
    sendStorageError(
      res,
      status,
      status === 405 ? 'MethodNotAllowed' : 'NoSuchKey',
      status === 405 ? `The specified method ${method} is not allowed against this resource.` : 'The specified key does not exist.',
      {},
      { ...headers, connection: 'close' },
    );
  } else {
    sendProblem(
      res,
      status,
      { detail: status === 405 ? `Method ${method} is not allowed here; allowed: ${allowed.join(', ')}.` : 'No such endpoint.' },
      headers,
    );
  }
}

export function createRequestListener(ctx: EmulatorContext): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    void handle(ctx, req, res).catch((err: unknown) => {
      ctx.log?.(`emulator error: ${(err as Error).message}`);
      if (!res.headersSent) sendProblem(res, 500, { detail: 'The emulator failed while handling this request.' });
      else res.destroy();
    });
  };
}

async function handle(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  if (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
    await handleControl(ctx, req, res, url);
    return;
  }

  const resolution = resolveRoute(method, url.pathname);
  const template = resolution.found ? resolution.route.template : '(unmatched)';
  const kind = resolution.found ? resolution.route.kind : 'unmatched';
  const startedAt = performance.now();
  const at = ctx.now();
  res.once('close', () => {
    const status = res.headersSent ? res.statusCode : 0;
    const durationMs = Math.round(performance.now() - startedAt);
    ctx.calls.record({ at, method, route: template, kind, status, durationMs });
    ctx.log?.(`${method} ${template} -> ${status || 'dropped'} (${durationMs} ms)`);
  });

  if (!resolution.found) {
    sendUnmatched(res, resolution.kind, method, resolution.allowedMethods);
    return;
  }

  const fault = ctx.faults.take({ method, template, kind: resolution.route.kind });
  if (fault) {
    if (fault.latencyMs > 0) await delay(fault.latencyMs);
    if (fault.dropConnection) {
      req.socket.destroy();
      return;
    }
    if (fault.dropResponse) {
      withholdResponse(req, res);
    } else if (fault.status !== undefined) {
      sendFault(res, resolution.route.kind, { ...fault, status: fault.status });
      return;
    }
  }
  await HANDLERS[resolution.route.name](ctx, { req, res, url, params: resolution.params });
}
