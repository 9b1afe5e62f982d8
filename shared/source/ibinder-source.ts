/**
 * iBinder as an export source: the documents of a binder come from `POST /documents` filtered
 * by the reserved `GLOBAL_BinderId` element, versions from `GET /documents/{id}/versions`, and
 * bytes from a short-lived presigned link (`/raw`, or `/downloadlink`: the client decides)
 * that is fetched without an `Authorization` header (the client guarantees that too).
 */
import { isExpiredLinkError as isIBinderExpiredLinkError } from '../ibinder/client.js';
import type { IBinderDocument } from '../ibinder/schemas.js';
import type { IBinderClient } from '../ibinder/types.js';
import type {
  ExportSource,
  OpenedVersion,
  SourceDocument,
  SourceDocumentPage,
  SourceMetadataElement,
  SourceVersion,
  VersionRef,
} from './types.js';

/** The reserved metadata element that scopes a search to one binder (vendor API reference). */
export const BINDER_FILTER_ELEMENT = 'GLOBAL_BinderId';

export interface IBinderSourceOptions {
  /** Recognises an expired presigned link; default the HTTP client's `isExpiredLinkError`. */
  isExpiredLinkError?: (err: unknown) => boolean;
}

export class IBinderSource implements ExportSource {
  readonly name = 'ibinder';
  private readonly expiredLink: (err: unknown) => boolean;

  constructor(
    private readonly client: IBinderClient,
    options: IBinderSourceOptions = {},
  ) {
    this.expiredLink = options.isExpiredLinkError ?? isIBinderExpiredLinkError;
  }

  async listBinderIds(): Promise<string[]> {
    const binders = await this.client.listBinders();
    return binders.map((b) => b.id);
  }

  /**
   * The last page is the one that reaches `totalCount` (or comes back empty). The page size
   * the server reports wins over the one asked for: a server that caps it at 50 still has its
   * pages numbered in steps of 50, and stopping at `pageNumber * 100` would skip half.
   */
  async listDocuments(binderId: string, page: { pageNumber: number; pageSize: number }): Promise<SourceDocumentPage> {
    const result = await this.client.searchDocuments({
      pageNumber: page.pageNumber,
      pageSize: page.pageSize,
      metadataFilters: [{ metadataElementId: BINDER_FILTER_ELEMENT, valueId: binderId }],
    });
    const effectivePageSize = result.pageSize && result.pageSize > 0 ? result.pageSize : page.pageSize;
    const documents = result.items.map((d) => toSourceDocument(d, binderId));
    return {
      documents,
      pageNumber: page.pageNumber,
      totalCount: result.totalCount,
      isLastPage: documents.length === 0 || page.pageNumber * effectivePageSize >= result.totalCount,
    };
  }

  async listVersions(document: SourceDocument): Promise<SourceVersion[]> {
    const versions = await this.client.listVersions(document.documentId);
    return versions.map((v) => ({
      versionId: v.id,
      documentId: document.documentId,
      binderId: document.binderId,
      fileName: document.fileName,
      ...(v.version !== undefined ? { versionLabel: v.version } : {}),
      ...(v.status !== undefined ? { status: v.status } : {}),
      ...(v.modifiedAt !== undefined ? { modifiedAt: v.modifiedAt } : {}),
      // A version that carries no metadata of its own is described by its document's.
      metadata: v.metadata.length > 0 ? v.metadata : document.metadata,
    }));
  }

  async describeMetadata(binderId: string): Promise<SourceMetadataElement[]> {
    const elements = await this.client.getMetadataElements(binderId);
    return elements.map((e) => ({ id: e.id, label: e.label, allowedValues: e.allowedValues }));
  }

  async openVersion(ref: VersionRef): Promise<OpenedVersion> {
    const link = await this.client.getDownloadLink(ref.documentId, ref.versionId);
    const download = await this.client.openDownload(link.url);
    return {
      body: download.body,
      ...(download.contentLength !== undefined ? { contentLength: download.contentLength } : {}),
      ...(download.contentType !== undefined ? { contentType: download.contentType } : {}),
    };
  }

  isExpiredLinkError(err: unknown): boolean {
    return this.expiredLink(err);
  }
}

/** The search filters by binder, so a document without `binderId` belongs to the one asked for. */
function toSourceDocument(d: IBinderDocument, binderId: string): SourceDocument {
  return {
    documentId: d.id,
    binderId: d.binderId ?? binderId,
    fileName: d.fileName,
    ...(d.latestVersionId ? { latestVersionId: d.latestVersionId } : {}),
    metadata: d.metadata,
  };
}
