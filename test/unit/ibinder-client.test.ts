import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpIBinderClient, type HttpIBinderClientOptions } from '../../shared/connectors/ibinder/client/client.js';
import { createIBinderClient } from '../../shared/connectors/ibinder/index.js';
import { TokenCache } from '../../shared/connectors/ibinder/client/auth.js';
import { IBinderApiError, IBinderResponseError } from '../../shared/connectors/ibinder/client/errors.js';
import { logger } from '../../shared/observability/logger.js';
import { startHttpStubServer, type HttpStubServer } from '../helpers/http-stub-server.js';

const CLIENT_SECRET = 'client-secret-must-not-leak';
const TOKEN = 'bearer-token-must-not-leak';
const TENANT = 'org-123';
const BINDER = 'AB12CD34E';
const FOLDER = '3f2b8c1e-0000-4000-8000-000000000001';
const DOC = '3f2b8c1e-0000-4000-8000-0000000000d1';
const VERSION = '3f2b8c1e-0000-4000-8000-0000000000f1';

const document = { id: DOC, fileName: 'plan.pdf', folderId: FOLDER, binderId: BINDER, metadata: [], latestVersionId: VERSION };
const version = {
  id: VERSION,
  documentId: DOC,
  version: 'A',
  status: 'Published',
  metadata: [{ metadataElementId: 'm-1', valueId: 'v-1' }],
};
const folder = { id: FOLDER, name: 'Drawings', type: 'Tab', parentId: null };

let stub: HttpStubServer;
let sleeps: number[];

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', '/connect/token', { json: { access_token: TOKEN, expires_in: 3600 } });
  sleeps = [];
});
afterEach(async () => {
  await stub.close();
});

function options(overrides: Partial<HttpIBinderClientOptions> = {}): HttpIBinderClientOptions {
  return {
    apiBaseUrl: `${stub.url}/api/`,
    tokenUrl: `${stub.url}/connect/token`,
    tenantId: TENANT,
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: CLIENT_SECRET }),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    tokenCache: new TokenCache(),
    downloadLinkRoutes: new Map(),
    ...overrides,
  };
}

const client = (overrides: Partial<HttpIBinderClientOptions> = {}) => new HttpIBinderClient(options(overrides));

/** Everything the logger was asked to write, as one string. */
function captureLogs(): () => string {
  const spies = (['debug', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(logger, level));
  return () => JSON.stringify(spies.flatMap((s) => s.mock.calls));
}

describe('endpoints', () => {
  it('calls every endpoint of the reference with bearer token and tenant header, and parses the answers', async () => {
    stub.route('GET', '/api/binders', { json: [{ id: BINDER, name: 'Site A', type: 'Project', createdAt: '2024-01-15T08:30:00Z' }] });
    stub.route('GET', `/api/binders/${BINDER}/metadataelements`, {
      json: [{ id: 'm-1', label: 'Discipline', dataType: 'List', allowedValues: [{ id: 'v-1', label: 'Architecture' }], required: true }],
    });
    stub.route('POST', '/api/documents', { json: { items: [document], totalCount: 1, pageNumber: 1, pageSize: 10 } });
    stub.route('GET', `/api/documents/drives/binders/${BINDER}`, { json: [folder] });
    stub.route('GET', `/api/documents/drives/binders/${BINDER}/${FOLDER}`, { json: [] });
    stub.route('GET', `/api/documents/drives/binders/${BINDER}/${FOLDER}/documents`, { json: [document] });
    stub.route('GET', '/api/documents/uploads/personalstorage/presignedupload', {
      json: { presignedUrl: 'https://storage.example/u/1?X-Amz-Signature=abc', uploadId: 'upload-1' },
    });
    stub.route('POST', `/api/documents/drives/binders/${BINDER}/${FOLDER}/upload`, { status: 201, json: version });
    stub.route('GET', `/api/documents/${DOC}`, { json: document });
    stub.route('GET', `/api/documents/${DOC}/versions`, { json: [version] });
    stub.route('GET', `/api/documents/${DOC}/versions/${VERSION}`, { json: version });
    stub.route('GET', `/api/documents/${DOC}/versions/${VERSION}/raw`, {
      json: { url: 'https://storage.example/d/1?sig=x', expiresAt: '2024-01-15T09:00:00Z' },
    });

    const c = createIBinderClient(options());
    expect(await c.listBinders()).toEqual([{ id: BINDER, name: 'Site A', type: 'Project', createdAt: '2024-01-15T08:30:00Z' }]);
    expect((await c.getMetadataElements(BINDER))[0]?.allowedValues).toEqual([{ id: 'v-1', label: 'Architecture' }]);
    const page = await c.searchDocuments({
      pageSize: 10,
      pageNumber: 1,
      searchTerm: 'plan',
      metadataFilters: [{ metadataElementId: 'GLOBAL_BinderId', valueId: BINDER }],
      sortBy: [{ metadataElementId: 'GLOBAL_Category', direction: 'asc' }],
    });
    expect(page.items[0]?.latestVersionId).toBe(VERSION);
    expect(await c.listTopFolders(BINDER)).toEqual([{ id: FOLDER, name: 'Drawings', type: 'Tab', parentId: undefined }]);
    expect(await c.listSubFolders(BINDER, FOLDER)).toEqual([]);
    expect((await c.listFolderDocuments(BINDER, FOLDER))[0]?.id).toBe(DOC);
    expect((await c.createPresignedUpload()).uploadId).toBe('upload-1');
    const committed = await c.commitUpload(BINDER, FOLDER, {
      fileName: 'plan.pdf',
      version: 'A',
      uploadId: 'upload-1',
      additionalMetadata: [{ metadataElementId: 'm-1', value: 'v-1' }],
    });
    expect(committed.id).toBe(VERSION);
    expect((await c.getDocument(DOC)).fileName).toBe('plan.pdf');
    expect((await c.listVersions(DOC))[0]?.version).toBe('A');
    expect((await c.getVersion(DOC, VERSION)).status).toBe('Published');
    expect((await c.getDownloadLink(DOC, VERSION)).url).toBe('https://storage.example/d/1?sig=x');

    const api = stub.requests.filter((r) => r.path.startsWith('/api/'));
    expect(api).toHaveLength(12);
    for (const r of api) {
      expect(r.headers.authorization, `${r.method} ${r.path}`).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['x-ibinder-tenantid'], `${r.method} ${r.path}`).toBe(TENANT);
    }

    const [search] = stub.requestsTo('POST', '/api/documents');
    expect(Object.fromEntries(search?.query ?? [])).toEqual({ pageSize: '10', pageNumber: '1', searchTerm: 'plan' });
    expect(search?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(search?.body.toString() ?? '')).toEqual({
      MetadataFilters: [{ metadataElementId: 'GLOBAL_BinderId', valueId: BINDER }],
      SortBy: [{ metadataElementId: 'GLOBAL_Category', direction: 'asc' }],
    });
    const [commit] = stub.requestsTo('POST', `/api/documents/drives/binders/${BINDER}/${FOLDER}/upload`);
    expect(JSON.parse(commit?.body.toString() ?? '')).toEqual({
      fileName: 'plan.pdf',
      version: 'A',
      uploadId: 'upload-1',
      additionalMetadata: [{ metadataElementId: 'm-1', value: 'v-1' }],
    });
  });

  it('sends the tenant header on the presign call (discrepancy C)', async () => {
    stub.route('GET', '/api/documents/uploads/personalstorage/presignedupload', {
      json: { presignedUrl: 'https://storage.example/u/1?X-Amz-Signature=abc', uploadId: 'upload-1' },
    });
    await client().createPresignedUpload();
    const [presign] = stub.requestsTo('GET', '/api/documents/uploads/personalstorage/presignedupload');
    expect(presign?.headers['x-ibinder-tenantid']).toBe(TENANT);
  });

  it('accepts GET /binders as a bare array and as {items} (discrepancy A)', async () => {
    stub.route('GET', '/api/binders', [{ json: [{ id: BINDER, name: 'Site A' }] }, { json: { items: [{ id: BINDER, name: 'Site A' }] } }]);
    const c = client();
    const expected = [{ id: BINDER, name: 'Site A' }];
    expect(await c.listBinders()).toEqual(expected);
    expect(await c.listBinders()).toEqual(expected);
  });

  it('encodes ids into the path and uses another drive domain when asked', async () => {
    stub.route('GET', '/api/documents/drives/projects/a%2Fb', { json: [] });
    await client().listTopFolders('a/b', 'projects');
    expect(stub.requestsTo('GET', '/api/documents/drives/projects/a%2Fb')).toHaveLength(1);
  });
});

describe('getDownloadLink (discrepancy B)', () => {
  const raw = `/api/documents/${DOC}/versions/${VERSION}/raw`;
  const downloadlink = `/api/documents/${DOC}/versions/${VERSION}/downloadlink`;
  const link = { url: 'https://storage.example/d/1?sig=x', expiresAt: '2024-01-15T09:00:00Z' };

  it.each([404, 405])('falls back to /downloadlink after a %i from /raw and remembers it for the process', async (status) => {
    stub.route('GET', raw, { status, json: { title: 'Not Found', status } });
    stub.route('GET', downloadlink, { json: link });
    const processMemory = new Map();
    await expect(client({ downloadLinkRoutes: processMemory }).getDownloadLink(DOC, VERSION)).resolves.toEqual(link);
    // a second client of the same process
    await expect(client({ downloadLinkRoutes: processMemory }).getDownloadLink(DOC, VERSION)).resolves.toEqual(link);
    expect(processMemory.get(`${stub.url}/api`)).toBe('downloadlink');
    expect(stub.requestsTo('GET', raw)).toHaveLength(1);
    expect(stub.requestsTo('GET', downloadlink)).toHaveLength(2);
  });

  it('throws the /raw 404 when /downloadlink is 404 too: the version does not exist', async () => {
    stub.route('GET', raw, { status: 404, json: { title: 'Version not found', status: 404, traceId: '00-raw' } });
    stub.route('GET', downloadlink, { status: 404, json: { title: 'Not Found', status: 404, traceId: '00-dl' } });
    const err = await client()
      .getDownloadLink(DOC, VERSION)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect((err as IBinderApiError).request.path).toBe(raw.slice('/api'.length));
    expect((err as IBinderApiError).traceId).toBe('00-raw');
    expect((err as IBinderApiError).kind).toBe('permanent');
  });

  it('stays with /raw while it answers, without probing /downloadlink', async () => {
    stub.route('GET', raw, { json: link });
    stub.route('GET', downloadlink, { json: link });
    const c = client();
    await c.getDownloadLink(DOC, VERSION);
    await c.getDownloadLink(DOC, VERSION);
    expect(stub.requestsTo('GET', raw)).toHaveLength(2);
    expect(stub.requestsTo('GET', downloadlink)).toHaveLength(0);
  });

  it('probes /downloadlink again when the remembered /raw starts to answer 404, and remembers it instead', async () => {
    stub.route('GET', raw, [{ json: link }, { status: 404, json: { title: 'Not Found', status: 404 } }]);
    stub.route('GET', downloadlink, { json: link });
    const memory = new Map();
    const c = client({ downloadLinkRoutes: memory });
    await c.getDownloadLink(DOC, VERSION);
    expect(memory.get(`${stub.url}/api`)).toBe('raw');
    await expect(c.getDownloadLink(DOC, VERSION)).resolves.toEqual(link);
    expect(memory.get(`${stub.url}/api`)).toBe('downloadlink');
    // From now on /downloadlink first: /raw is not asked again.
    await expect(c.getDownloadLink(DOC, VERSION)).resolves.toEqual(link);
    expect(stub.requestsTo('GET', raw)).toHaveLength(2);
    expect(stub.requestsTo('GET', downloadlink)).toHaveLength(2);
  });

  it('probes /raw again when the remembered /downloadlink starts to answer 405', async () => {
    stub.route('GET', raw, { json: link });
    stub.route('GET', downloadlink, { status: 405, json: { title: 'Method Not Allowed', status: 405 } });
    const memory = new Map([[`${stub.url}/api`, 'downloadlink' as const]]);
    await expect(client({ downloadLinkRoutes: memory }).getDownloadLink(DOC, VERSION)).resolves.toEqual(link);
    expect(memory.get(`${stub.url}/api`)).toBe('raw');
  });

  it('keeps the remembered path when both answer 404 (the version is gone), throwing its own 404', async () => {
    stub.route('GET', raw, { status: 404, json: { title: 'Version not found', status: 404, traceId: '00-raw' } });
    stub.route('GET', downloadlink, { status: 404, json: { title: 'Not Found', status: 404, traceId: '00-dl' } });
    const memory = new Map([[`${stub.url}/api`, 'downloadlink' as const]]);
    const err = await client({ downloadLinkRoutes: memory })
      .getDownloadLink(DOC, VERSION)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, traceId: '00-dl', kind: 'permanent' });
    expect(memory.get(`${stub.url}/api`)).toBe('downloadlink');
  });
});

describe('a 403: about one binder, or the whole tenant', () => {
  const metadataPath = `/api/binders/${BINDER}/metadataelements`;
  const forbidden = { status: 403, json: { type: 'about:blank', title: 'Forbidden', status: 403, traceId: '00-403' } };

  it('stays a permanent refusal of the binder when the tenant-wide GET /binders answers, and checks once for a burst', async () => {
    stub.route('GET', metadataPath, forbidden);
    stub.route('GET', '/api/binders', { json: [{ id: BINDER, name: 'Site A' }] });
    const c = client();
    for (let i = 0; i < 2; i += 1) {
      const err = await c.getMetadataElements(BINDER).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IBinderApiError);
      expect(err).toMatchObject({ status: 403, kind: 'permanent', traceId: '00-403' });
    }
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('becomes an operator (auth) problem naming the tenant id when GET /binders is refused too', async () => {
    stub.route('GET', metadataPath, forbidden);
    stub.route('GET', '/api/binders', forbidden);
    const err = await client()
      .getMetadataElements(BINDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect(err).toMatchObject({ status: 403, kind: 'auth', traceId: '00-403' });
    const message = (err as Error).message;
    expect(message).toContain(`GET /binders/${BINDER}/metadataelements answered 403`);
    expect(message).toContain(`x-ibinder-tenantid: ${TENANT}`);
    expect(message).toContain('operator problem');
    expect(message).not.toContain('will not succeed on retry');
  });

  it('is an operator problem straight away when GET /binders itself answers 403', async () => {
    stub.route('GET', '/api/binders', forbidden);
    await expect(client().listBinders()).rejects.toMatchObject({ status: 403, kind: 'auth' });
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('is transient, not a rejection, when the tenant-wide check cannot be made', async () => {
    stub.route('GET', metadataPath, forbidden);
    stub.route('GET', '/api/binders', { status: 503 });
    const err = await client({ maxAttempts: 1 })
      .getMetadataElements(BINDER)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, kind: 'transient' });
  });

  it('asks again once the verdict is older than tenantCheckTtlMs', async () => {
    let now = 1_000_000;
    stub.route('GET', metadataPath, forbidden);
    stub.route('GET', '/api/binders', { json: [] });
    const c = client({ now: () => now, tenantCheckTtlMs: 60_000 });
    await c.getMetadataElements(BINDER).catch(() => undefined);
    now += 60_001;
    await c.getMetadataElements(BINDER).catch(() => undefined);
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(2);
  });
});

describe('errors', () => {
  it('names the request, the title, the field errors and the traceId, and says what to do', async () => {
    const path = `/api/documents/drives/binders/${BINDER}/${FOLDER}/upload`;
    stub.route('POST', path, {
      status: 400,
      json: {
        type: 'https://tools.ietf.org/html/rfc9110#section-15.5.1',
        title: 'One or more validation errors occurred.',
        status: 400,
        errors: { fileName: ['The fileName field is required.'] },
        traceId: '00-4b9b9c0e9c4b4a6b8c1d9e3f7a5b6c2d-1a2b3c4d5e6f7a8b-01',
      },
    });
    const logs = captureLogs();
    const err = await client()
      .commitUpload(BINDER, FOLDER, { fileName: '', uploadId: 'u-1', additionalMetadata: [] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    const e = err as IBinderApiError;
    expect(e.message).toBe(
      `iBinder POST /documents/drives/binders/${BINDER}/${FOLDER}/upload answered 400 "One or more validation errors occurred."` +
        ' (fileName: The fileName field is required.) traceId=00-4b9b9c0e9c4b4a6b8c1d9e3f7a5b6c2d-1a2b3c4d5e6f7a8b-01' +
        ' — fix the request data; this will not succeed on retry',
    );
    expect(e).toMatchObject({
      kind: 'permanent',
      status: 400,
      title: 'One or more validation errors occurred.',
      fieldErrors: { fileName: ['The fileName field is required.'] },
      traceId: '00-4b9b9c0e9c4b4a6b8c1d9e3f7a5b6c2d-1a2b3c4d5e6f7a8b-01',
      request: { method: 'POST', path: `/documents/drives/binders/${BINDER}/${FOLDER}/upload` },
    });
    for (const text of [e.message, logs()]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(CLIENT_SECRET);
    }
  });

  it('keeps the query string out of errors and logs', async () => {
    stub.route('POST', '/api/documents', [{ status: 503 }, { status: 403, json: { title: 'Forbidden', status: 403 } }]);
    const logs = captureLogs();
    const err = await client()
      .searchDocuments({ pageNumber: 1, searchTerm: 'confidential-term' })
      .catch((e: unknown) => e);
    const message = (err as Error).message;
    expect(message).toContain('iBinder POST /documents answered 403 "Forbidden"');
    expect(message).toContain('tenant id');
    expect(message).toContain('access rights');
    expect(logs()).toContain('/documents');
    for (const text of [message, logs()]) {
      expect(text).not.toContain('confidential-term');
      expect(text).not.toContain('pageNumber');
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(CLIENT_SECRET);
    }
  });

  it('mentions the tenant and access rights on a 404', async () => {
    stub.route('GET', `/api/documents/${DOC}`, { status: 404, json: { type: 'about:blank', title: 'Not Found', status: 404 } });
    const err = await client()
      .getDocument(DOC)
      .catch((e: unknown) => e);
    expect((err as Error).message).toContain(`iBinder GET /documents/${DOC} answered 404 "Not Found"`);
    expect((err as Error).message).toContain('not visible to this tenant');
    expect((err as Error).message).toContain('access rights');
  });

  it('tolerates an error body that is not JSON', async () => {
    stub.route('GET', '/api/binders', { status: 502, text: '<html><body>Bad gateway</body></html>' });
    const err = await client({ maxAttempts: 1 })
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderApiError);
    expect(err).toMatchObject({ status: 502, kind: 'transient', title: undefined, traceId: undefined, fieldErrors: {} });
    expect((err as Error).message).toContain('iBinder GET /binders answered 502 "Bad Gateway"');
  });

  it('reports a 2xx body that does not match the reference, naming the request and the field', async () => {
    stub.route('GET', '/api/binders', {
      json: [
        { id: BINDER, name: 'ok' },
        { id: 'X1', label: 'no name' },
      ],
    });
    const err = await client()
      .listBinders()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IBinderResponseError);
    expect((err as IBinderResponseError).kind).toBe('permanent');
    expect((err as Error).message).toContain('iBinder GET /binders answered 200 with a body that does not match the reference');
    expect((err as Error).message).toContain('1.name');
    expect((err as Error).message).not.toContain('no name');
    expect(stub.requestsTo('GET', '/api/binders')).toHaveLength(1);
  });

  it('reports a 2xx body that is not JSON', async () => {
    stub.route('GET', `/api/documents/${DOC}`, { text: 'OK' });
    await expect(client().getDocument(DOC)).rejects.toThrow(`iBinder GET /documents/${DOC} answered 200 with a body that is not JSON`);
  });
});

describe('onRequest', () => {
  it('is called once per exchange with method, path, status and attempt, never the query string', async () => {
    stub.route('POST', '/api/documents', [{ status: 429, headers: { 'retry-after': '1' } }, { json: { items: [], totalCount: 0 } }]);
    const events: unknown[] = [];
    await client({ onRequest: (e) => events.push({ ...e, durationMs: typeof e.durationMs }) }).searchDocuments({ pageNumber: 3 });
    expect(events).toEqual([
      { method: 'POST', path: '/connect/token', status: 200, attempt: 1, durationMs: 'number' },
      { method: 'POST', path: '/documents', status: 429, attempt: 1, durationMs: 'number' },
      { method: 'POST', path: '/documents', status: 200, attempt: 2, durationMs: 'number' },
    ]);
  });

  it('does not let a failing hook fail the call', async () => {
    stub.route('GET', '/api/binders', { json: [] });
    const c = client({
      onRequest: () => {
        throw new Error('metrics broke');
      },
    });
    await expect(c.listBinders()).resolves.toEqual([]);
  });
});
