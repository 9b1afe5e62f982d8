/**
 * Brands and metaproperties. The metaproperty list is a dictionary keyed by a label-like key
 * that differs from `name` (the published example keys "Colours" with name "colours"), so a
 * client that relies on the key, rather than the values' `id` and `name`, is caught here.
 */
import { authenticate } from './auth.js';
import type { BynderHandler } from './context.js';
import { pageParams } from './paging.js';
import { sendJson, sendMessage } from './replies.js';
import { metapropertyToWire, optionToWire } from './wire-format.js';

export const listBrands: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  sendJson(
    request.res,
    200,
    ctx.state.listBrands().map((b) => ({ id: b.id, name: b.name, description: b.description, image: b.image, subBrands: b.subBrands })),
  );
};

export const listMetaproperties: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const dictionary: Record<string, unknown> = {};
  for (const mp of ctx.state.listMetaproperties()) dictionary[mp.key] = metapropertyToWire(mp, ctx.options.inlineOptionLimit);
  sendJson(request.res, 200, dictionary);
};

export const getMetaproperty: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const mp = ctx.state.getMetaproperty(request.params.id ?? '');
  if (!mp) {
    sendMessage(request.res, 404, 'Metaproperty not found');
    return;
  }
  sendJson(request.res, 200, metapropertyToWire(mp, ctx.options.inlineOptionLimit));
};

/** `GET /api/v4/metaproperties/{id}/options/?limit=&page=`: a plain array, limit at most 1000 (default 50). */
export const listMetapropertyOptions: BynderHandler = (ctx, request) => {
  if (!authenticate(ctx, request)) return;
  const mp = ctx.state.getMetaproperty(request.params.id ?? '');
  if (!mp) {
    sendMessage(request.res, 404, 'Metaproperty not found');
    return;
  }
  const paging = pageParams(request.url.searchParams);
  if (!paging.ok) {
    sendMessage(request.res, 400, paging.message);
    return;
  }
  const start = (paging.page - 1) * paging.limit;
  const page = mp.options.slice(start, start + paging.limit).map((o, i) => optionToWire(o, start + i));
  sendJson(request.res, 200, page);
};
