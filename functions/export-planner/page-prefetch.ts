/**
 * Reads a binder's document pages a few ahead of the one being planned. Planning stays page by
 * page, in order (the cursor is saved after each page), but once the first page has said how
 * many documents there are, the next pages are already being fetched while the current one is
 * planned: an unchanged night is mostly waiting on search calls, and one after another they
 * cost their whole latency each.
 *
 * At most `ahead` requests run besides the page being planned (iBinder's rate limits), never
 * past the last page that `totalCount` implies, counted in the page size the server actually
 * used (it may cap the one asked for). A prefetched page that fails fails when the planner
 * comes to it, exactly as if it had been fetched then; pages fetched but never planned (the
 * planner stopped for time) are dropped.
 */
import type { ExportSource, SourceDocumentPage } from '../../shared/export-source/types.js';

export class DocumentPagePrefetch {
  private readonly requested = new Map<number, Promise<SourceDocumentPage>>();

  constructor(
    private readonly source: Pick<ExportSource, 'listDocuments'>,
    readonly binderId: string,
    private readonly pageSize: number,
    private readonly ahead: number,
  ) {}

  /** The page, from a request already in flight when there is one; then starts the next ones. */
  async page(pageNumber: number): Promise<SourceDocumentPage> {
    const inFlight = this.requested.get(pageNumber);
    this.requested.delete(pageNumber);
    const page = await (inFlight ?? this.fetch(pageNumber));
    // Pages behind this one will not be asked for again.
    for (const n of [...this.requested.keys()]) if (n < pageNumber) this.requested.delete(n);
    if (!page.isLastPage && page.documents.length > 0) {
      const lastPage = Math.ceil(page.totalCount / page.documents.length);
      for (let n = pageNumber + 1; n <= Math.min(lastPage, pageNumber + this.ahead); n++) {
        if (!this.requested.has(n)) this.requested.set(n, this.fetch(n));
      }
    }
    return page;
  }

  private fetch(pageNumber: number): Promise<SourceDocumentPage> {
    const request = this.source.listDocuments(this.binderId, { pageNumber, pageSize: this.pageSize });
    // Awaited later, or never (dropped): its failure must not surface as an unhandled rejection.
    request.catch(() => undefined);
    return request;
  }
}
