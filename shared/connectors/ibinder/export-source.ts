/**
 * iBinder as an export source: the documents of a binder come from `POST /documents` filtered
 * by the reserved `GLOBAL_BinderId` element, versions from `GET /documents/{id}/versions`, and
 * bytes from a short-lived presigned link (`/raw`, or `/downloadlink`: the client decides)
 * that is fetched without an `Authorization` header (the client guarantees that too).
 */
import { isExpiredLinkError as isIBinderExpiredLinkError } from './client/client.js';
import { IBinderApiError } from './client/errors.js';
import { logger } from '../../observability/logger.js';
import type { IBinderDocument } from './client/schemas.js';
import type { IBinderClient } from './client/types.js';
import type {
  ExportSource,
  OpenedVersion,
  SourceDocument,
  SourceDocumentPage,
  SourceMetadataElement,
  SourceVersion,
  VersionRef,
} from '../../export-source/types.js';

/** The reserved metadata element that scopes a search to one binder (vendor API reference). */
export const BINDER_FILTER_ELEMENT = 'GLOBAL_BinderId';

/**
 * The explicit order of the export's document search: creation order, oldest first. Paging is
 * by page number, so the order must not change between two page calls while the binder
 * changes: documents created meanwhile then land after every page already read (nothing is
 * skipped, nothing read twice), whereas an unspecified server order may reshuffle. The
 * reference names the search's `SortBy[{metadataElementId, direction}]` but lists only the
 * reserved elements GLOBAL_BinderId, GLOBAL_TabId and GLOBAL_Category, none of which orders
 * documents uniquely; the creation-date element follows the reserved `GLOBAL_` naming. Should
 * a server refuse it (a 400 naming SortBy), the search goes on unsorted (see listDocuments).
 */
export const DOCUMENT_SEARCH_SORT: readonly { metadataElementId: string; direction: 'asc' | 'desc' }[] = [
  { metadataElementId: 'GLOBAL_CreatedDate', direction: 'asc' },
];

export interface IBinderSourceOptions {
  /** Recognises an expired presigned link; default the HTTP client's `isExpiredLinkError`. */
  isExpiredLinkError?: (err: unknown) => boolean;
}

export class IBinderSource implements ExportSource {
  readonly name = 'ibinder';
  private readonly expiredLink: (err: unknown) => boolean;
  /** Set once the server refused the explicit sort: later searches of this process go without it. */
  private sortRefused = false;

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
    const search = {
      pageNumber: page.pageNumber,
      pageSize: page.pageSize,
      metadataFilters: [{ metadataElementId: BINDER_FILTER_ELEMENT, valueId: binderId }],
    };
    let result;
    if (this.sortRefused) {
      result = await this.client.searchDocuments(search);
    } else {
      try {
        result = await this.client.searchDocuments({ ...search, sortBy: DOCUMENT_SEARCH_SORT.map((s) => ({ ...s })) });
      } catch (err) {
        if (!isSortRefusal(err)) throw err;
        this.sortRefused = true;
        logger.warn(
          "iBinder refused the explicit sort of the document search; paging on in the server's own order, where documents created during a run may shift pages (the next run picks up what this one missed)",
          { binderId, sortBy: DOCUMENT_SEARCH_SORT, status: err.status, traceId: err.traceId, fieldErrors: err.fieldErrors },
        );
        result = await this.client.searchDocuments(search);
      }
    }
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

/** A 400 whose field errors name the search's `SortBy`: the server does not know the sort element. */
function isSortRefusal(err: unknown): err is IBinderApiError {
  return err instanceof IBinderApiError && err.status === 400 && Object.keys(err.fieldErrors).some((field) => /^sortby/i.test(field));
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
