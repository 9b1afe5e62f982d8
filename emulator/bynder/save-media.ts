/**
 * Save: turn an import into a new asset (`POST /api/v4/media/save/{importId}`) or a new version
 * of one (`POST /api/v4/media/{mediaId}/save/{importId}`), with the body-`importId` readings
 * (`/api/v4/media/save/`, `/api/v4/media/{id}/save/`, and JAVA's `id` field on `/media/save/`).
 * Like the live API, save is not idempotent: the same import saved twice makes two assets, so a
 * client that re-saves after a lost response leaves a duplicate for the tests to find.
 */
import { authenticate } from './auth.js';
import type { BynderContext, BynderHandler, BynderRequest } from './context.js';
import { field, readForm } from './form-body.js';
import { newUuid } from './ids.js';
import { isImportConverted } from './import-conversion.js';
import { sendJson, sendMessage } from './replies.js';
import type { AssetRecord, ImportRecord, MediaItemRecord } from './state.js';

type Metadata = { ok: true; values: Record<string, string[]> } | { ok: false; message: string };

/** `metaproperty.<ID>=<optionId>,...`: ids must exist, options must belong, single-select takes one. */
function metadataOf(ctx: BynderContext, fields: Map<string, string>): Metadata {
  const values: Record<string, string[]> = {};
  for (const [key, raw] of fields) {
    const m = /^metaproperty\.(.+)$/i.exec(key);
    if (!m) continue;
    const mpId = m[1] as string;
    const mp = ctx.state.getMetaproperty(mpId) ?? ctx.state.getMetaproperty(mpId.toUpperCase());
    if (!mp) return { ok: false, message: `Metaproperty '${mpId}' does not exist (field ${key}).` };
    if (mp.options.length === 0) {
      values[mp.id] = [raw];
      continue;
    }
    const ids = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const id of ids) {
      if (!mp.options.some((o) => o.id.toUpperCase() === id.toUpperCase())) {
        return { ok: false, message: `Option '${id}' is not an option of metaproperty '${mp.name}' (${mp.id}); send option ids.` };
      }
    }
    if (!mp.isMultiselect && ids.length > 1) {
      return { ok: false, message: `Metaproperty '${mp.name}' (${mp.id}) is single-select; got ${ids.length} options.` };
    }
    values[mp.id] = ids.map((id) => mp.options.find((o) => o.id.toUpperCase() === id.toUpperCase())?.id ?? id);
  }
  return { ok: true, values };
}

/** The 201 reply, or, when a lost response is pending, a destroyed socket after the work was done. */
function saveReply(ctx: BynderContext, request: BynderRequest, asset: AssetRecord, item: MediaItemRecord): void {
  if (ctx.pendingFaults.take('lostSaveResponse')) {
    request.req.socket.destroy();
    return;
  }
  sendJson(request.res, 201, {
    accessRequestId: newUuid(),
    mediaid: asset.id,
    batchId: newUuid(),
    success: true,
    mediaitems: [{ id: item.id, original: 1, version: item.version, destination: `${ctx.origin()}/m/${asset.idHash}` }],
  });
}

/** The import named by the path or the body; false when a 400/404/303 was sent. */
function readyImport(ctx: BynderContext, request: BynderRequest, fields: Map<string, string>): ImportRecord | undefined {
  const importId = request.params.importId ?? field(fields, 'importId', 'importid');
  if (importId === undefined) {
    sendMessage(request.res, 400, 'No importId provided: name it in the path (/save/{importId}) or as the importId field.');
    return undefined;
  }
  const record = ctx.state.getImport(importId);
  if (!record) {
    sendMessage(request.res, 404, 'Import ID not found');
    return undefined;
  }
  if (!isImportConverted(ctx, record)) {
    sendMessage(request.res, 303, 'Import not converted yet, please poll');
    return undefined;
  }
  return record;
}

async function save(ctx: BynderContext, request: BynderRequest, pathMediaId: string | undefined): Promise<void> {
  if (!authenticate(ctx, request)) return;
  const form = await readForm(request.req);
  if (!form.ok) {
    sendMessage(request.res, form.status, form.message);
    return;
  }
  const fields = form.fields;
  const record = readyImport(ctx, request, fields);
  if (!record) return;
  const mediaId = pathMediaId ?? field(fields, 'id', 'mediaId');
  if (mediaId !== undefined) {
    const asset = ctx.state.liveAsset(mediaId);
    if (!asset) {
      sendMessage(request.res, 404, 'Media not found');
      return;
    }
    const item = ctx.state.addVersion(asset.id, record.fileName, record.blob);
    record.saves.push(asset.id);
    saveReply(ctx, request, asset, item);
    return;
  }

  const brandId = field(fields, 'brandId', 'brandid');
  if (brandId === undefined) {
    sendMessage(request.res, 400, 'No brandid provided');
    return;
  }
  if (!ctx.state.hasBrand(brandId)) {
    sendMessage(request.res, 400, `Brand '${brandId}' does not exist; use an id from GET /api/v4/brands/.`);
    return;
  }
  const metadata = metadataOf(ctx, fields);
  if (!metadata.ok) {
    sendMessage(request.res, 400, metadata.message);
    return;
  }
  if (ctx.options.enforceRequiredMetaproperties) {
    const missing = ctx.state.listMetaproperties().filter((mp) => mp.isRequired && (metadata.values[mp.id]?.length ?? 0) === 0);
    if (missing.length > 0) {
      sendMessage(request.res, 400, `Required metaproperties missing: ${missing.map((mp) => `${mp.name} (${mp.id})`).join(', ')}.`);
      return;
    }
  }
  const tags = (field(fields, 'tags') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const description = field(fields, 'description');
  const copyright = field(fields, 'copyright');
  const asset = ctx.state.addAsset({
    name: field(fields, 'name') ?? record.fileName.replace(/\.[^.]+$/, ''),
    brandId,
    fileName: record.fileName,
    blob: record.blob,
    tags,
    metadata: metadata.values,
    ...(description === undefined ? {} : { description }),
    ...(copyright === undefined ? {} : { copyright }),
  });
  record.saves.push(asset.id);
  saveReply(ctx, request, asset, ctx.state.activeItem(asset));
}

export const saveNew: BynderHandler = (ctx, request) => save(ctx, request, undefined);

export const saveVersion: BynderHandler = (ctx, request) => save(ctx, request, request.params.id);
