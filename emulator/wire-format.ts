/**
 * Records to the response shapes of the reference pages. Every field the reference lists is
 * present; `thumbnailUrl` is null (no thumbnails are rendered), which clients must tolerate.
 */
import type { EmulatorContext } from './context.js';
import type { BinderRecord, DocumentRecord, FolderRecord, MetadataElementRecord, VersionRecord } from './types.js';

export function binderDto(binder: BinderRecord): { id: string; name: string; type: string; createdAt: string } {
  return { id: binder.id, name: binder.name, type: binder.type, createdAt: binder.createdAt };
}

export function metadataElementDto(element: MetadataElementRecord): {
  id: string;
  label: string;
  dataType: string;
  allowedValues: { id: string; label: string }[];
  required: boolean;
} {
  return {
    id: element.id,
    label: element.label,
    dataType: element.dataType,
    allowedValues: element.allowedValues.map((v) => ({ id: v.id, label: v.label })),
    required: element.required,
  };
}

export function folderDto(folder: FolderRecord): { id: string; name: string; type: string; parentId: string | null } {
  return { id: folder.id, name: folder.name, type: folder.type, parentId: folder.parentId };
}

export function documentDto(
  ctx: EmulatorContext,
  document: DocumentRecord,
): {
  id: string;
  fileName: string;
  folderId: string;
  binderId: string;
  metadata: { metadataElementId: string; valueId: string }[];
  latestVersionId: string;
} {
  return {
    id: document.id,
    fileName: document.fileName,
    folderId: document.folderId,
    binderId: document.binderId,
    metadata: ctx.state.wireMetadata(document.binderId, document.folderId, document.metadata),
    latestVersionId: document.latestVersionId,
  };
}

/** A presigned GET for a version's bytes, valid for `downloadLinkTtlSeconds`. */
export function downloadLink(ctx: EmulatorContext, versionId: string): { url: string; expiresAt: string } {
  const path = `/storage/download/${encodeURIComponent(versionId)}`;
  const { query, expiresAt } = ctx.signer.sign('GET', path, ctx.options.downloadLinkTtlSeconds);
  return { url: `${ctx.publicUrl()}${path}?${query}`, expiresAt: expiresAt.toISOString() };
}

export function versionDto(
  ctx: EmulatorContext,
  version: VersionRecord,
): {
  id: string;
  documentId: string;
  version: string;
  status: string;
  modifiedAt: string;
  description: string;
  metadata: { metadataElementId: string; valueId: string }[];
  downloadUrl: string;
  thumbnailUrl: string | null;
} {
  const document = ctx.state.getDocument(version.documentId);
  return {
    id: version.id,
    documentId: version.documentId,
    version: version.version,
    status: version.status,
    modifiedAt: new Date(version.createdAt).toISOString(),
    description: version.description,
    metadata: document ? ctx.state.wireMetadata(document.binderId, document.folderId, version.metadata) : version.metadata,
    downloadUrl: downloadLink(ctx, version.id).url,
    thumbnailUrl: null,
  };
}
