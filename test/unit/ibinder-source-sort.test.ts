/**
 * The export's document search pages by page number, so it must carry an explicit, stable sort:
 * without one, documents created during a run may reshuffle the server's order between page
 * calls, and paging skips or repeats documents. Checked on the wire, through the real client.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { HttpIBinderClient } from '../../shared/connectors/ibinder/client/client.js';
import { BINDER_FILTER_ELEMENT, DOCUMENT_SEARCH_SORT, IBinderSource } from '../../shared/connectors/ibinder/export-source.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const BINDER = 'AB12CD34E';
const DOCUMENTS = {
  items: [{ id: '3f2b8c1e-0000-4000-8000-0000000000d1', fileName: 'plan.pdf', binderId: BINDER, metadata: [], latestVersionId: 'v-1' }],
  totalCount: 1,
  pageNumber: 1,
  pageSize: 100,
};

let stub: HttpStubServer;

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', '/connect/token', { json: { access_token: 'token-1', expires_in: 3600 } });
});
afterEach(async () => {
  await stub.close();
});

function source(): IBinderSource {
  return new IBinderSource(
    new HttpIBinderClient({
      apiBaseUrl: `${stub.url}/api`,
      tokenUrl: `${stub.url}/connect/token`,
      tenantId: 'org-123',
      credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret-1' }),
      sleep: () => Promise.resolve(),
      tokenCache: new TokenCache(),
    }),
  );
}

const bodies = () => stub.requestsTo('POST', '/api/documents').map((r) => JSON.parse(r.body.toString('utf8')) as Record<string, unknown>);

describe('IBinderSource.listDocuments: an explicit, stable sort', () => {
  it('sends SortBy with the creation-order element, ascending, on every page, beside the binder filter', async () => {
    stub.route('POST', '/api/documents', { json: DOCUMENTS });
    const s = source();
    await s.listDocuments(BINDER, { pageNumber: 1, pageSize: 100 });
    await s.listDocuments(BINDER, { pageNumber: 2, pageSize: 100 });
    expect(DOCUMENT_SEARCH_SORT).toEqual([{ metadataElementId: 'GLOBAL_CreatedDate', direction: 'asc' }]);
    for (const body of bodies()) {
      expect(body).toEqual({
        MetadataFilters: [{ metadataElementId: BINDER_FILTER_ELEMENT, valueId: BINDER }],
        SortBy: [{ metadataElementId: 'GLOBAL_CreatedDate', direction: 'asc' }],
      });
    }
    expect(bodies()).toHaveLength(2);
  });

  it('goes on unsorted, and stops asking for the sort, when the server refuses it with a 400 naming SortBy', async () => {
    stub.route('POST', '/api/documents', (request) => {
      const body = JSON.parse(request.body.toString('utf8')) as { SortBy: unknown[] };
      return body.SortBy.length > 0
        ? {
            status: 400,
            json: {
              title: 'One or more validation errors occurred.',
              status: 400,
              errors: { 'SortBy[0].metadataElementId': ['Unknown metadata element.'] },
            },
          }
        : { json: DOCUMENTS };
    });
    const s = source();
    const page = await s.listDocuments(BINDER, { pageNumber: 1, pageSize: 100 });
    expect(page.documents).toHaveLength(1);
    await s.listDocuments(BINDER, { pageNumber: 2, pageSize: 100 });
    expect(bodies().map((b) => b.SortBy)).toEqual([DOCUMENT_SEARCH_SORT, [], []]);
  });

  it('does not mistake another 400 for a refused sort', async () => {
    stub.route('POST', '/api/documents', { status: 400, json: { title: 'bad', status: 400, errors: { pageSize: ['too large'] } } });
    await expect(source().listDocuments(BINDER, { pageNumber: 1, pageSize: 100_000 })).rejects.toMatchObject({ status: 400 });
    expect(bodies()).toHaveLength(1);
  });
});
