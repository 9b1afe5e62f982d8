/**
 * Assets: the list (a plain array; `total=1` and `count=1` wrap it as the C# and JS SDKs read
 * it), one asset (with `versions=1`: `mediaItems` and `activeVersion`), and the download
 * location (`{s3_file}`, a short-lived signed storage URL on this emulator). A deleted asset
 * answers 404 `Media not found`, though a switch keeps it in listings (the collection quirk).
 */
import { authenticate } from './auth.js';
import type { BynderContext, BynderHandler, BynderRequest } from './context.js';
import { parseMediaQuery, runMediaQuery } from './media-query.js';
import { pageParams } from './paging.js';
import { sendJson, sendMessage } from './replies.js';
import type { AssetRecord, MediaItemRecord } from './state.js';
import { assetToWire, assetWithVersionsToWire } from './wire-format.js';

const truthy = (raw: string | null): boolean => raw !== null && ['1', 'true', 'yes'].includes(raw.trim().toLowerCase());

export const listMedia: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const params = request.url.searchParams;
  const paging = pageParams(params);
  if (!paging.ok) {
    sendMessage(request.res, 400, paging.message);
    return;
  }
  const parsed = parseMediaQuery(ctx.state, params, ctx.options.dateModifiedBoundary);
  if (!parsed.ok) {
    sendMessage(request.res, 400, parsed.message);
    return;
  }
  const candidates = ctx.state.allAssets().filter((a) => ctx.options.listDeletedAssets || !a.deleted);
  const matched = runMediaQuery(candidates, parsed.query);
  const start = (paging.page - 1) * paging.limit;
  const media = matched.slice(start, start + paging.limit).map((a) => assetToWire(ctx.state, a, ctx.origin()));
  const withTotal = truthy(params.get('total'));
  const withCount = truthy(params.get('count'));
  if (!withTotal && !withCount) {
    sendJson(request.res, 200, media);
    return;
  }
  const body: Record<string, unknown> = {};
  if (withTotal) body.total = { count: matched.length };
  if (withCount) body.count = { total: matched.length };
  body.media = media;
  sendJson(request.res, 200, body);
};

function findLive(ctx: BynderContext, request: BynderRequest): AssetRecord | undefined {
  const asset = ctx.state.liveAsset(request.params.id ?? '');
  if (!asset) sendMessage(request.res, 404, 'Media not found');
  return asset;
}

export const getMedia: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const asset = findLive(ctx, request);
  if (!asset) return;
  const body = truthy(request.url.searchParams.get('versions'))
    ? assetWithVersionsToWire(ctx.state, asset, ctx.origin())
    : assetToWire(ctx.state, asset, ctx.origin());
  sendJson(request.res, 200, body);
};

/** `DELETE /api/v4/media/{id}/` -> 204; afterwards GET answers 404 (listings may still show it, by the switch). */
export const deleteMedia: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const asset = findLive(ctx, request);
  if (!asset) return;
  ctx.state.deleteAsset(asset.id);
  request.res.writeHead(204);
  request.res.end();
};

/** A signed storage URL for one media item; the generation in the path lets `expireDownloadLinks` void it. */
export function downloadUrl(ctx: BynderContext, item: MediaItemRecord): string {
  const path = `/storage/${ctx.linkGeneration.value}/${encodeURIComponent(item.id)}/${encodeURIComponent(item.fileName)}`;
  const { query } = ctx.signer.sign('GET', path, ctx.options.downloadLinkTtlSeconds);
  return `${ctx.origin()}${path}?${query}`;
}

function sendDownload(ctx: BynderContext, request: BynderRequest, pick: (asset: AssetRecord) => MediaItemRecord | undefined): void {
  if (!authenticate(ctx, request)) return;
  const asset = findLive(ctx, request);
  if (!asset) return;
  const item = pick(asset);
  if (!item) {
    sendMessage(request.res, 404, 'Media item not found');
    return;
  }
  sendJson(request.res, 200, { s3_file: downloadUrl(ctx, item) });
}

export const downloadActive: BynderHandler = (ctx, request) => sendDownload(ctx, request, (asset) => ctx.state.activeItem(asset));

export const downloadVersion: BynderHandler = (ctx, request) => {
  const version = Number(request.params.version);
  sendDownload(ctx, request, (asset) => asset.items.find((i) => i.version === version));
};

export const downloadItem: BynderHandler = (ctx, request) => {
  const itemId = (request.params.itemId ?? '').toUpperCase();
  sendDownload(ctx, request, (asset) => asset.items.find((i) => i.id.toUpperCase() === itemId));
};
