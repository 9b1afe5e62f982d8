/**
 * The request listener: resolve the route, count the call, apply the rate limit (API and token
 * calls; the storage URLs stand for S3, which Bynder's limit does not cover), apply a pending
 * fault, then dispatch. Log lines carry method, route template and status only: never a query
 * string (download links carry their signature there) or a token.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { FaultAction } from '../fault-controller.js';
import { tokenEndpoint, tokenRefreshEndpoint } from './auth.js';
import { getMetaproperty, listBrands, listMetaproperties, listMetapropertyOptions } from './catalogue-handlers.js';
import type { BynderContext, BynderHandler } from './context.js';
import { BYNDER_CONTROL_PREFIX, handleBynderControl } from './control-api.js';
import { finaliseUpload, prepareUpload, uploadChunk } from './file-service-upload.js';
import { uploadEndpoint, uploadInit, uploadPoll, uploadRegisterOrFinalise } from './legacy-upload.js';
import { deleteMedia, downloadActive, downloadItem, downloadVersion, getMedia, listMedia } from './media-handlers.js';
import { clientAddress } from './rate-limiter.js';
import { sendJson, sendMessage, sendNoRoute, sendStorageError } from './replies.js';
import { type BynderRouteName, resolveBynderRoute } from './routes.js';
import { saveNew, saveVersion } from './save-media.js';
import { bucketPost, storageDownload } from './storage-handlers.js';
import { withholdResponse } from '../withhold-response.js';

const HANDLERS: Record<BynderRouteName, BynderHandler> = {
  token: tokenEndpoint,
  tokenRefresh: tokenRefreshEndpoint,
  brands: listBrands,
  metaproperties: listMetaproperties,
  metaproperty: getMetaproperty,
  metapropertyOptions: listMetapropertyOptions,
  listMedia,
  getMedia,
  deleteMedia,
  download: downloadActive,
  downloadVersion,
  downloadItem,
  fsPrepare: prepareUpload,
  fsChunk: uploadChunk,
  fsFinalise: finaliseUpload,
  uploadEndpoint,
  uploadInit,
  uploadRegisterOrFinalise,
  uploadPoll,
  saveNew,
  saveVersion,
  bucketPost,
  storageDownload,
};

function sendFault(res: ServerResponse, kind: string, fault: FaultAction & { status: number }): void {
  const headers: Record<string, string> = { connection: 'close' };
  if (fault.retryAfterSeconds !== undefined && fault.status !== 429) headers['retry-after'] = String(fault.retryAfterSeconds);
  if (kind === 'storage')
    sendStorageError(
      res,
      fault.status,
      fault.status === 503 ? 'SlowDown' : 'InternalError',
      'Fault injected by the emulator.',
      {},
      headers,
    );
  else if (kind === 'token')
    sendJson(res, fault.status, { error: 'temporarily_unavailable', error_description: 'Fault injected by the emulator.' }, headers);
  else sendMessage(res, fault.status, fault.status === 429 ? 'Too Many Requests' : 'Fault injected by the emulator.', headers);
}

export function createBynderRequestListener(ctx: BynderContext): RequestListener {
  return (req, res) => {
    void handle(ctx, req, res).catch((err: unknown) => {
      ctx.log?.(`bynder emulator error: ${(err as Error).message}`);
      if (!res.headersSent) sendMessage(res, 500, 'The emulator failed while handling this request.');
      else res.destroy();
    });
  };
}

async function handle(ctx: BynderContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  if (url.pathname === BYNDER_CONTROL_PREFIX || url.pathname.startsWith(`${BYNDER_CONTROL_PREFIX}/`)) {
    await handleBynderControl(ctx, req, res, url);
    return;
  }

  const resolution = resolveBynderRoute(method, url.pathname);
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

  if (kind !== 'storage' && !(resolution.found === false && resolution.kind === 'storage')) {
    const decision = ctx.rateLimiter.admit(clientAddress(req.socket.remoteAddress));
    if (!decision.allowed) {
      // Documented: no rate-limit or Retry-After header; the body is Bynder's usual error shape.
      sendMessage(res, 429, 'Too Many Requests: rate limit exceeded; the block lifts after a quiet period without requests.', {
        connection: 'close',
      });
      return;
    }
  }

  if (!resolution.found) {
    if (resolution.allowedMethods.length > 0) {
      sendMessage(res, 405, `Method ${method} is not allowed here; allowed: ${resolution.allowedMethods.join(', ')}.`, {
        allow: resolution.allowedMethods.join(', '),
      });
    } else if (resolution.kind === 'storage') {
      sendStorageError(res, 404, 'NoSuchKey', 'The specified key does not exist.', {}, { connection: 'close' });
    } else {
      sendNoRoute(res);
    }
    return;
  }

  const fault = ctx.faults.take({ method, template, kind: resolution.route.kind });
  if (fault) {
    if (fault.latencyMs > 0) await delay(fault.latencyMs);
    if (fault.dropConnection) {
      req.socket.destroy();
      return;
    }
    if (fault.dropResponse) withholdResponse(req, res);
    else if (fault.status !== undefined) {
      sendFault(res, resolution.route.kind, { ...fault, status: fault.status });
      return;
    }
  }
  await HANDLERS[resolution.route.name](ctx, { req, res, url, params: resolution.params });
}
