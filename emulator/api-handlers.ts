/**
 * Handlers of the read endpoints of the reference table, the presign call (upload step 1) and
 * the download-link calls (`/raw`, and `/downloadlink` as the quickstart spells it).
 */
import { guard } from './api-guards.js';
import type { EmulatorContext, Handler, RequestContext } from './context.js';
import { sendJson, sendProblem } from './problem.js';
import type { BinderRecord, DocumentRecord, FolderRecord, VersionRecord } from './types.js';
import { binderDto, documentDto, downloadLink, folderDto, metadataElementDto, versionDto } from './wire-format.js';

function param(request: RequestContext, name: string): string {
  return request.params[name] ?? '';
}

function findBinder(ctx: EmulatorContext, request: RequestContext, binderId: string): BinderRecord | undefined {
  const binder = ctx.state.getBinder(binderId);
  if (!binder) sendProblem(request.res, 404, { detail: `Binder '${binderId}' was not found in this tenant.` });
  return binder;
}

/** Resolves the `{domain}/{id}` of a drive; only the `binders` domain exists here. */
export function findDrive(ctx: EmulatorContext, request: RequestContext): BinderRecord | undefined {
  const domain = param(request, 'domain');
  if (domain.toLowerCase() !== 'binders') {
    sendProblem(request.res, 404, { detail: `Drive domain '${domain}' was not found; documents live in the 'binders' domain.` });
    return undefined;
  }
  return findBinder(ctx, request, param(request, 'id'));
}

export function findFolder(ctx: EmulatorContext, request: RequestContext, binder: BinderRecord): FolderRecord | undefined {
  const folderId = param(request, 'folderId');
  const folder = ctx.state.getFolder(folderId);
  if (!folder || folder.binderId !== binder.id) {
    sendProblem(request.res, 404, { detail: `Folder '${folderId}' was not found in binder ${binder.id}.` });
    return undefined;
  }
  return folder;
}

function findDocument(ctx: EmulatorContext, request: RequestContext): DocumentRecord | undefined {
  const documentId = param(request, 'documentId');
  const document = ctx.state.getDocument(documentId);
  if (!document) sendProblem(request.res, 404, { detail: `Document '${documentId}' was not found in this tenant.` });
  return document;
}

function findVersion(ctx: EmulatorContext, request: RequestContext, document: DocumentRecord): VersionRecord | undefined {
  const versionId = param(request, 'versionId');
  const version = ctx.state.getVersion(versionId);
  if (!version || version.documentId !== document.id) {
    sendProblem(request.res, 404, { detail: `Version '${versionId}' of document ${document.id} was not found.` });
    return undefined;
  }
  return version;
}

export const listBinders: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'collection')) return;
  const binders = ctx.state.listBinders().map(binderDto);
  sendJson(request.res, 200, ctx.options.bindersResponse === 'items' ? { items: binders } : binders);
};

export const metadataElements: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const binder = findBinder(ctx, request, param(request, 'id'));
  if (!binder) return;
  sendJson(request.res, 200, ctx.state.metadataElements(binder.id).map(metadataElementDto));
};

export const driveFolders: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const binder = findDrive(ctx, request);
  if (!binder) return;
  sendJson(request.res, 200, ctx.state.listFolders(binder.id, null).map(folderDto));
};

export const subFolders: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const binder = findDrive(ctx, request);
  const folder = binder && findFolder(ctx, request, binder);
  if (!binder || !folder) return;
  sendJson(request.res, 200, ctx.state.listFolders(binder.id, folder.id).map(folderDto));
};

export const folderDocuments: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const binder = findDrive(ctx, request);
  const folder = binder && findFolder(ctx, request, binder);
  if (!binder || !folder) return;
  sendJson(
    request.res,
    200,
    ctx.state.documentsInFolder(folder.id).map((d) => documentDto(ctx, d)),
  );
};

export const presignedUpload: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'presign')) return;
  const upload = ctx.state.createUpload(ctx.options.presignTtlSeconds);
  const path = `/storage/upload/${upload.id}`;
  const { query } = ctx.signer.sign('PUT', path, ctx.options.presignTtlSeconds);
  sendJson(request.res, 200, { presignedUrl: `${ctx.publicUrl()}${path}?${query}`, uploadId: upload.id });
};

export const getDocument: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const document = findDocument(ctx, request);
  if (!document) return;
  sendJson(request.res, 200, documentDto(ctx, document));
};

export const listVersions: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const document = findDocument(ctx, request);
  if (!document) return;
  sendJson(
    request.res,
    200,
    ctx.state.listVersions(document.id).map((v) => versionDto(ctx, v)),
  );
};

export const getVersion: Handler = (ctx, request) => {
  if (!guard(ctx, request, 'resource')) return;
  const document = findDocument(ctx, request);
  const version = document && findVersion(ctx, request, document);
  if (!version) return;
  sendJson(request.res, 200, versionDto(ctx, version));
};

/** `/raw` or `/downloadlink`; a path switched off by `downloadLinkPaths` does not exist. */
export function downloadLinkHandler(path: 'raw' | 'downloadlink'): Handler {
  return (ctx, request) => {
    if (!ctx.options.downloadLinkPaths.has(path)) {
      sendProblem(request.res, 404, { detail: `This API has no '/${path}' endpoint.` });
      return;
    }
    if (!guard(ctx, request, 'resource')) return;
    const document = findDocument(ctx, request);
    const version = document && findVersion(ctx, request, document);
    if (!version) return;
    sendJson(request.res, 200, downloadLink(ctx, version.id));
  };
}
