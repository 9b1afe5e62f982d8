/**
 * The iBinder emulator against its contract (the vendor's API reference pages): every response is parsed with
 * the client's zod schemas, and the behaviours clients must survive (expiring URLs, one-shot
 * uploads, faults, the documented discrepancies) are exercised over real sockets.
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS, seedBulkDocuments, startEmulator, type Emulator } from '../../emulator/index.js';
import {
  BinderListSchema,
  DocumentListSchema,
  DocumentPageSchema,
  DocumentSchema,
  DocumentVersionListSchema,
  DocumentVersionSchema,
  DownloadLinkSchema,
  FolderListSchema,
  MetadataElementListSchema,
  PresignedUploadSchema,
  ProblemDetailsSchema,
  TokenResponseSchema,
} from '../../shared/connectors/ibinder/client/schemas.js';

const TRACE_ID = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;
const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;
const RIVERSIDE = DEFAULT_SEED_IDS.riversideHousing;
const START = Date.parse('2025-03-03T08:00:00Z');

interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A fetch-based client of one emulator, deliberately independent of the project's client. */
class TestClient {
  private token: string | undefined;

  constructor(readonly emulator: Emulator) {}

  async fetchToken(form: Record<string, string> = {}): Promise<Response> {
    return fetch(this.emulator.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: this.emulator.clientId,
        client_secret: this.emulator.clientSecret,
        scope: 'ibinder_public',
        ...form,
      }),
    });
  }

  async accessToken(): Promise<string> {
    if (!this.token) {
      const res = await this.fetchToken();
      this.token = TokenResponseSchema.parse(await res.json()).access_token;
    }
    return this.token;
  }

  forgetToken(): void {
    this.token = undefined;
  }

  async call(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; tenant?: string | null } = {},
  ): Promise<JsonResponse> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.accessToken()}`, ...options.headers };
    if (options.tenant !== null) headers['x-ibinder-tenantid'] = options.tenant ?? this.emulator.tenantId;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.emulator.apiBaseUrl}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  get(path: string, options: { headers?: Record<string, string>; tenant?: string | null } = {}): Promise<JsonResponse> {
    return this.call('GET', path, options);
  }

  /** The three upload steps; returns the commit response. */
  async upload(
    target: { binderId: string; folderId: string },
    fileName: string,
    content: Buffer,
    metadata: { metadataElementId: string; value: string }[],
  ): Promise<JsonResponse> {
    const presigned = PresignedUploadSchema.parse((await this.get('/documents/uploads/personalstorage/presignedupload')).body);
    const put = await fetch(presigned.presignedUrl, { method: 'PUT', body: content });
    expect(put.status).toBe(200);
    return this.commit(target, { fileName, uploadId: presigned.uploadId, additionalMetadata: metadata });
  }

  commit(target: { binderId: string; folderId: string }, body: unknown): Promise<JsonResponse> {
    return this.call('POST', `/documents/drives/binders/${target.binderId}/${target.folderId}/upload`, { body });
  }
}

/** A request with full control over headers (no Content-Length, chunked body, Authorization). */
function rawRequest(
  url: string,
  options: { method: string; headers?: Record<string, string>; chunks?: Buffer[] },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function sha256OfResponse(res: Response): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  if (!res.body) throw new Error('response has no body');
  for await (const chunk of res.body) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest('hex'), size };
}

function deterministicBytes(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, i = 0; offset < size; offset += 32, i++) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, offset);
  return out;
}

function problem(response: JsonResponse): ReturnType<typeof ProblemDetailsSchema.parse> {
  return ProblemDetailsSchema.parse(response.body);
}

describe('iBinder emulator', () => {
  let clock = START;
  const logLines: string[] = [];
  let emulator: Emulator;
  let client: TestClient;

  beforeAll(async () => {
    emulator = await startEmulator({ now: () => clock, log: (line) => logLines.push(line) });
    client = new TestClient(emulator);
  });

  afterAll(async () => {
    await emulator.close();
  });

  afterEach(() => {
    clock = START;
    emulator.faults.clear();
  });

  describe('token endpoint', () => {
    it('issues a bearer token for the client credentials and scope ibinder_public', async () => {
      const res = await client.fetchToken();
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const token = TokenResponseSchema.parse(await res.json());
      expect(token.token_type).toBe('Bearer');
      expect(token.expires_in).toBe(3600);
    });

    it.each([
      ['a wrong secret', { client_secret: 'wrong' }, 400, 'invalid_client'],
      ['an unknown client', { client_id: 'someone-else' }, 400, 'invalid_client'],
      ['another grant type', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ['another scope', { scope: 'ibinder_admin' }, 400, 'invalid_scope'],
    ])('refuses %s with an OAuth error body', async (_case, form, status, error) => {
      const res = await client.fetchToken(form);
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error });
    });

    it('answers 401 invalid_client to wrong HTTP Basic client credentials', async () => {
      const res = await fetch(emulator.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('x:y').toString('base64')}` },
        body: 'grant_type=client_credentials&scope=ibinder_public',
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    });
  });

  describe('authentication and tenant header', () => {
    it('answers 401 with the short problem body when the token is missing or unknown', async () => {
      for (const authorization of [undefined, 'Bearer not-a-token', 'Basic abc']) {
        const res = await fetch(`${emulator.apiBaseUrl}/binders`, {
          headers: { 'x-ibinder-tenantid': emulator.tenantId, ...(authorization ? { authorization } : {}) },
        });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const body = (await res.json()) as Record<string, unknown>;
        expect(Object.keys(body).sort()).toEqual(['status', 'title', 'type']);
        expect(body.status).toBe(401);
      }
    });

    it('expires tokens after expires_in by the injected clock', async () => {
      const local = new TestClient(emulator);
      expect((await local.get('/binders')).status).toBe(200);
      clock = START + 3600 * 1000 + 1;
      expect((await local.get('/binders')).status).toBe(401);
      local.forgetToken();
      expect((await local.get('/binders')).status).toBe(200);
    });

    it('revokeTokens() invalidates every issued token; new ones work', async () => {
      const local = new TestClient(emulator);
      expect((await local.get('/binders')).status).toBe(200);
      emulator.revokeTokens();
      expect((await local.get('/binders')).status).toBe(401);
      local.forgetToken();
      expect((await local.get('/binders')).status).toBe(200);
      client.forgetToken();
    });

    it('revokes tokens through POST /__emulator/revoke-tokens', async () => {
      const local = new TestClient(emulator);
      expect((await local.get('/binders')).status).toBe(200);
      expect((await fetch(`${emulator.url}/__emulator/revoke-tokens`, { method: 'POST' })).status).toBe(204);
      expect((await local.get('/binders')).status).toBe(401);
      client.forgetToken();
    });

    it('answers 400 problem details with a field error when x-ibinder-tenantid is missing', async () => {
      const res = await client.get('/binders', { tenant: null });
      expect(res.status).toBe(400);
      const body = problem(res);
      expect(body.errors?.['x-ibinder-tenantid']?.[0]).toMatch(/required/);
      expect(body.traceId).toMatch(TRACE_ID);
    });

    it("hides another tenant's resources (404) and refuses its collections (403)", async () => {
      const doc = emulator.state.listDocuments()[0];
      expect(doc).toBeDefined();
      expect((await client.get(`/documents/${doc?.id}`, { tenant: 'another-tenant' })).status).toBe(404);
      expect((await client.get(`/binders/${HARBOUR.binderId}/metadataelements`, { tenant: 'another-tenant' })).status).toBe(404);
      expect((await client.get('/binders', { tenant: 'another-tenant' })).status).toBe(403);
      expect((await client.call('POST', '/documents', { tenant: 'another-tenant', body: {} })).status).toBe(403);
    });

    it('lets the presign call go without the tenant header (discrepancy C), but not with a wrong one', async () => {
      const res = await client.get('/documents/uploads/personalstorage/presignedupload', { tenant: null });
      expect(res.status).toBe(200);
      PresignedUploadSchema.parse(res.body);
      expect((await client.get('/documents/uploads/personalstorage/presignedupload', { tenant: 'another-tenant' })).status).toBe(403);
    });
  });

  describe('endpoints match the reference shapes', () => {
    it('GET /binders returns a bare array of the seeded binders', async () => {
      const res = await client.get('/binders');
      expect(res.status).toBe(200);
      expect(Array.isArray(res.body)).toBe(true);
      const binders = BinderListSchema.parse(res.body);
      expect(binders.map((b) => b.id)).toEqual([HARBOUR.binderId, RIVERSIDE.binderId]);
      for (const b of binders) expect(b.id).toMatch(/^[A-Za-z0-9_-]{9}$/);
    });

    it('GET /binders/{id}/metadataelements lists a required list element, a free-text and an optional list element', async () => {
      const res = await client.get(`/binders/${HARBOUR.binderId}/metadataelements`);
      const elements = MetadataElementListSchema.parse(res.body);
      const discipline = elements.find((e) => e.id === 'discipline');
      expect(discipline?.required).toBe(true);
      expect(discipline?.allowedValues.map((v) => v.id)).toEqual(['ARC', 'STR', 'HVAC', 'ELE']);
      expect(elements.find((e) => e.id === 'documentNumber')).toMatchObject({ required: false, allowedValues: [] });
      expect(elements.find((e) => e.id === 'status')?.allowedValues.map((v) => v.label)).toEqual(['For review', 'Approved']);
      expect((await client.get('/binders/NOSUCHBND/metadataelements')).status).toBe(404);
    });

    it('lists top-level folders, sub-folders and folder documents of a drive', async () => {
      const tabs = FolderListSchema.parse((await client.get(`/documents/drives/binders/${HARBOUR.binderId}`)).body);
      expect(tabs.map((f) => f.name)).toEqual(['01 Architecture', '02 Structural', '03 MEP', 'Contracts']);
      const architecture = tabs[0];
      expect(architecture?.parentId).toBeUndefined();

      const subs = FolderListSchema.parse(
        (await client.get(`/documents/drives/binders/${HARBOUR.binderId}/${HARBOUR.folders.architecture}`)).body,
      );
      expect(subs.map((f) => f.name)).toEqual(['Drawings', 'Specifications']);
      expect(subs.every((f) => f.parentId === HARBOUR.folders.architecture)).toBe(true);

      const docs = DocumentListSchema.parse(
        (await client.get(`/documents/drives/binders/${HARBOUR.binderId}/${HARBOUR.folders.floorPlans}/documents`)).body,
      );
      expect(docs.map((d) => d.fileName)).toEqual(['A-101 Ground floor plan.pdf']);
      expect(docs[0]?.metadata).toEqual(
        expect.arrayContaining([
          { metadataElementId: 'GLOBAL_BinderId', valueId: HARBOUR.binderId },
          { metadataElementId: 'GLOBAL_TabId', valueId: HARBOUR.folders.architecture },
          { metadataElementId: 'discipline', valueId: 'ARC' },
        ]),
      );
      expect((await client.get(`/documents/drives/binders/${HARBOUR.binderId}/${RIVERSIDE.folders.design}`)).status).toBe(404);
      expect((await client.get(`/documents/drives/projects/${HARBOUR.binderId}`)).status).toBe(404);
    });

    it('GET document, its versions (by creation date), one version, /raw and /downloadlink', async () => {
      const [doc] = DocumentListSchema.parse(
        (await client.get(`/documents/drives/binders/${HARBOUR.binderId}/${HARBOUR.folders.floorPlans}/documents`)).body,
      );
      if (!doc?.latestVersionId) throw new Error('seed document missing');
      expect(DocumentSchema.parse((await client.get(`/documents/${doc.id}`)).body)).toEqual(doc);

      const versions = DocumentVersionListSchema.parse((await client.get(`/documents/${doc.id}/versions`)).body);
      expect(versions.map((v) => v.version)).toEqual(['A', 'B', 'C']);
      const times = versions.map((v) => Date.parse(v.modifiedAt ?? ''));
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      expect(versions.at(-1)?.id).toBe(doc.latestVersionId);

      const version = DocumentVersionSchema.parse((await client.get(`/documents/${doc.id}/versions/${doc.latestVersionId}`)).body);
      expect(version).toMatchObject({ documentId: doc.id, status: 'Published', version: 'C' });

      for (const path of ['raw', 'downloadlink']) {
        const link = DownloadLinkSchema.parse((await client.get(`/documents/${doc.id}/versions/${doc.latestVersionId}/${path}`)).body);
        expect(Date.parse(link.expiresAt ?? '')).toBe(START + 300_000);
        const res = await fetch(link.url);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain('Revision C');
      }
      const fromDownloadUrl = await fetch(version.downloadUrl ?? '');
      expect(await fromDownloadUrl.text()).toContain('Approved for construction');
    });

    it('answers 404 problem details for unknown documents, versions and binders', async () => {
      const doc = emulator.state.listDocuments()[0];
      for (const path of [
        '/documents/00000000-0000-0000-0000-000000000000',
        '/documents/00000000-0000-0000-0000-000000000000/versions',
        `/documents/${doc?.id}/versions/00000000-0000-0000-0000-000000000000`,
        `/documents/${doc?.id}/versions/00000000-0000-0000-0000-000000000000/raw`,
        '/documents/drives/binders/NOSUCHBND',
      ]) {
        const res = await client.get(path);
        expect(res.status, path).toBe(404);
        expect(problem(res).traceId).toMatch(TRACE_ID);
      }
    });
  });

  describe('upload: presign, PUT, commit', () => {
    const target = { binderId: HARBOUR.binderId, folderId: HARBOUR.folders.structuralDrawings };

    it('round-trips bytes: the downloaded version has the uploaded sha256, a second upload of the same name is a new version', async () => {
      const first = deterministicBytes(200_000, 'first');
      const res = await client.upload(target, 'S-200 Beam layout.pdf', first, [
        { metadataElementId: 'discipline', value: 'STR' },
        { metadataElementId: 'status', value: 'For review' },
        { metadataElementId: 'documentNumber', value: 'S-200' },
      ]);
      expect(res.status).toBe(200);
      const v1 = DocumentVersionSchema.parse(res.body);
      expect(v1.metadata).toEqual(
        expect.arrayContaining([
          { metadataElementId: 'discipline', valueId: 'STR' },
          { metadataElementId: 'status', valueId: 'FOR_REVIEW' },
          { metadataElementId: 'GLOBAL_TabId', valueId: HARBOUR.folders.structural },
        ]),
      );
      const link = DownloadLinkSchema.parse((await client.get(`/documents/${v1.documentId}/versions/${v1.id}/raw`)).body);
      const download = await fetch(link.url);
      expect(download.headers.get('content-length')).toBe(String(first.length));
      expect(await sha256OfResponse(download)).toEqual({ sha256: sha256(first), size: first.length });
      expect(await emulator.state.versionContent(v1.id)).toEqual({ sha256: sha256(first), size: first.length });

      const second = deterministicBytes(1234, 'second');
      const v2 = DocumentVersionSchema.parse(
        (await client.upload(target, 'S-200 Beam layout.pdf', second, [{ metadataElementId: 'discipline', value: 'STR' }])).body,
      );
      expect(v2.documentId).toBe(v1.documentId);
      const doc = DocumentSchema.parse((await client.get(`/documents/${v1.documentId}`)).body);
      expect(doc.latestVersionId).toBe(v2.id);
      const versions = DocumentVersionListSchema.parse((await client.get(`/documents/${v1.documentId}/versions`)).body);
      expect(versions.map((v) => v.id)).toEqual([v1.id, v2.id]);
      expect(emulator.state.documentsInFolder(target.folderId).map((d) => d.fileName)).toEqual(['S-200 Beam layout.pdf']);
    });

    it('makes presigned upload URLs one-shot', async () => {
      const { presignedUrl } = PresignedUploadSchema.parse((await client.get('/documents/uploads/personalstorage/presignedupload')).body);
      expect((await fetch(presignedUrl, { method: 'PUT', body: 'one' })).status).toBe(200);
      const again = await fetch(presignedUrl, { method: 'PUT', body: 'two' });
      expect(again.status).toBe(403);
      expect(await again.text()).toContain('<Code>AccessDenied</Code>');
    });

    it('expires presigned upload URLs after presignTtlSeconds', async () => {
      const { presignedUrl } = PresignedUploadSchema.parse((await client.get('/documents/uploads/personalstorage/presignedupload')).body);
      clock = START + 901 * 1000;
      const res = await fetch(presignedUrl, { method: 'PUT', body: 'late' });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('Request has expired');
    });

    it('refuses a PUT carrying an Authorization header, a chunked PUT, and a tampered signature', async () => {
      const { presignedUrl } = PresignedUploadSchema.parse((await client.get('/documents/uploads/personalstorage/presignedupload')).body);
      const withAuth = await fetch(presignedUrl, {
        method: 'PUT',
        body: 'x',
        headers: { authorization: `Bearer ${await client.accessToken()}` },
      });
      expect(withAuth.status).toBe(400);
      expect(await withAuth.text()).toContain('InvalidArgument');

      const chunked = await rawRequest(presignedUrl, { method: 'PUT', chunks: [Buffer.from('abc'), Buffer.from('def')] });
      expect(chunked.status).toBe(411);
      expect(chunked.body).toContain('MissingContentLength');

      const tampered = presignedUrl.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000');
      expect(tampered).not.toBe(presignedUrl);
      const bad = await fetch(tampered, { method: 'PUT', body: 'x' });
      expect(bad.status).toBe(403);
      expect(await bad.text()).toContain('SignatureDoesNotMatch');

      // None of the refusals used the URL up.
      expect((await fetch(presignedUrl, { method: 'PUT', body: 'finally' })).status).toBe(200);
    });

    it('is idempotent by uploadId: the same commit returns the same version; another target is a conflict', async () => {
      const { presignedUrl, uploadId } = PresignedUploadSchema.parse(
        (await client.get('/documents/uploads/personalstorage/presignedupload')).body,
      );
      await fetch(presignedUrl, { method: 'PUT', body: 'idempotent' });
      const body = {
        fileName: 'Idempotent.pdf',
        version: 'A',
        uploadId,
        additionalMetadata: [{ metadataElementId: 'discipline', value: 'ARC' }],
      };
      const first = await client.commit(target, body);
      const versionsBefore = emulator.state.versionCount;
      const second = await client.commit(target, body);
      expect(first.status).toBe(200);
      expect(second.status).toBe(200);
      expect(DocumentVersionSchema.parse(second.body).id).toBe(DocumentVersionSchema.parse(first.body).id);
      expect(emulator.state.versionCount).toBe(versionsBefore);

      const elsewhere = await client.commit(target, { ...body, fileName: 'Other.pdf' });
      expect(elsewhere.status).toBe(409);
      expect(problem(elsewhere).traceId).toMatch(TRACE_ID);
    });

    it('accepts an allowed value by label and stores its id', async () => {
      const v = DocumentVersionSchema.parse(
        (await client.upload(target, 'Label.pdf', Buffer.from('label'), [{ metadataElementId: 'discipline', value: 'electrical' }])).body,
      );
      expect(v.metadata).toContainEqual({ metadataElementId: 'discipline', valueId: 'ELE' });
    });

    async function storedUploadId(): Promise<string> {
      const { presignedUrl, uploadId } = PresignedUploadSchema.parse(
        (await client.get('/documents/uploads/personalstorage/presignedupload')).body,
      );
      expect((await fetch(presignedUrl, { method: 'PUT', body: 'validation' })).status).toBe(200);
      return uploadId;
    }

    it.each([
      [
        'an unknown element',
        'ok.pdf',
        [
          { metadataElementId: 'discipline', value: 'ARC' },
          { metadataElementId: 'colour', value: 'red' },
        ],
        'additionalMetadata[1].metadataElementId',
      ],
      ['a value that is not allowed', 'ok.pdf', [{ metadataElementId: 'discipline', value: 'PLUMBING' }], 'additionalMetadata[0].value'],
      ['a missing required element', 'ok.pdf', [{ metadataElementId: 'status', value: 'APPROVED' }], 'additionalMetadata'],
      [
        'a reserved GLOBAL_ element',
        'ok.pdf',
        [
          { metadataElementId: 'discipline', value: 'ARC' },
          { metadataElementId: 'GLOBAL_TabId', value: 'x' },
        ],
        'additionalMetadata[1].metadataElementId',
      ],
      ['a file name with a slash', 'plans/a.pdf', [{ metadataElementId: 'discipline', value: 'ARC' }], 'fileName'],
      ['a file name with a control character', 'a\u0007.pdf', [{ metadataElementId: 'discipline', value: 'ARC' }], 'fileName'],
      ['a file name longer than 255 characters', `${'x'.repeat(252)}.pdf`, [{ metadataElementId: 'discipline', value: 'ARC' }], 'fileName'],
      ['an empty file name', '', [{ metadataElementId: 'discipline', value: 'ARC' }], 'fileName'],
    ])('refuses %s with 400 problem details naming the field', async (_case, fileName, additionalMetadata, field) => {
      const uploadId = await storedUploadId();
      const versionsBefore = emulator.state.versionCount;
      const res = await client.commit(target, { fileName, uploadId, additionalMetadata });
      expect(res.status).toBe(400);
      const body = problem(res);
      expect(body.status).toBe(400);
      expect(body.traceId).toMatch(TRACE_ID);
      expect(Object.keys(body.errors ?? {})).toContain(field);
      expect(emulator.state.versionCount).toBe(versionsBefore);
    });

    it('refuses an uploadId that is unknown or was never PUT', async () => {
      const { uploadId } = PresignedUploadSchema.parse((await client.get('/documents/uploads/personalstorage/presignedupload')).body);
      for (const id of [uploadId, '11111111-2222-4333-8444-555555555555']) {
        const res = await client.commit(target, {
          fileName: 'x.pdf',
          uploadId: id,
          additionalMetadata: [{ metadataElementId: 'discipline', value: 'ARC' }],
        });
        expect(res.status).toBe(400);
        expect(problem(res).errors?.uploadId?.[0]).toBeTruthy();
      }
      const missing = await client.commit(target, { fileName: 'x.pdf', additionalMetadata: [] });
      expect(problem(missing).errors?.uploadId).toEqual(['The uploadId field is required.']);
    });

    it('answers 404 for a folder that is not in the binder', async () => {
      const uploadId = await storedUploadId();
      const res = await client.commit(
        { binderId: HARBOUR.binderId, folderId: RIVERSIDE.folders.sitePhotos },
        { fileName: 'x.pdf', uploadId, additionalMetadata: [{ metadataElementId: 'discipline', value: 'ARC' }] },
      );
      expect(res.status).toBe(404);
      expect(problem(res).traceId).toMatch(TRACE_ID);
    });
  });

  describe('download links', () => {
    it('expire after downloadLinkTtlSeconds and refuse an Authorization header', async () => {
      const doc = emulator.state.listDocuments()[0];
      const link = DownloadLinkSchema.parse((await client.get(`/documents/${doc?.id}/versions/${doc?.latestVersionId}/raw`)).body);
      const withAuth = await fetch(link.url, { headers: { authorization: 'Bearer x' } });
      expect(withAuth.status).toBe(400);
      const head = await fetch(link.url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe((await emulator.state.versionContent(doc?.latestVersionId ?? '')).size);
      clock = START + 301 * 1000;
      const late = await fetch(link.url);
      expect(late.status).toBe(403);
      expect(await late.text()).toMatch(/<Code>AccessDenied<\/Code>.*Request has expired/s);
    });

    it('stream a synthetic large version with the right length and sha256', async () => {
      const doc = emulator.state.listDocuments()[1];
      if (!doc) throw new Error('seed document missing');
      const size = 5 * 1024 * 1024 + 123;
      const version = emulator.state.addSyntheticVersion(doc.id, size);
      const link = DownloadLinkSchema.parse((await client.get(`/documents/${doc.id}/versions/${version.id}/raw`)).body);
      const res = await fetch(link.url);
      expect(res.headers.get('content-length')).toBe(String(size));
      const got = await sha256OfResponse(res);
      expect(got).toEqual(await emulator.state.versionContent(version.id));
      expect(got.size).toBe(size);
      const other = emulator.state.addSyntheticVersion(doc.id, size);
      expect((await emulator.state.versionContent(other.id)).sha256).not.toBe(got.sha256);
    });
  });

  describe('faults', () => {
    it('answers 429 with Retry-After for the next matching call only', async () => {
      emulator.faults.add({ route: '/binders', status: 429, retryAfterSeconds: 7 });
      const limited = await client.get('/binders');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
      expect(problem(limited).status).toBe(429);
      expect((await client.get('/binders')).status).toBe(200);
    });

    it('applies a fault `times` times, after `after` untouched calls, to one method and route', async () => {
      const doc = emulator.state.listDocuments()[0];
      emulator.faults.add({ route: 'GET /documents/{documentId}', status: 500, times: 2, after: 1 });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await client.get(`/documents/${doc?.id}`)).status);
      expect(statuses).toEqual([200, 500, 500, 200]);
      expect((await client.get('/binders')).status).toBe(200);
    });

    it('gives 429 a default Retry-After of 1 second', async () => {
      emulator.faults.add({ route: 'api', status: 429 });
      expect((await client.get('/binders')).headers.get('retry-after')).toBe('1');
    });

    it('delays a call by latencyMs', async () => {
      emulator.faults.add({ route: '/binders', latencyMs: 300 });
      await expect(fetch(`${emulator.apiBaseUrl}/binders`, { signal: AbortSignal.timeout(50) })).rejects.toThrow();
      const started = performance.now();
      emulator.faults.add({ route: '/binders', latencyMs: 200 });
      expect((await client.get('/binders')).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    });

    it('drops the connection', async () => {
      emulator.faults.add({ route: '/binders', dropConnection: true });
      await expect(client.get('/binders')).rejects.toThrow();
      expect((await client.get('/binders')).status).toBe(200);
    });

    it('faults storage URLs with an S3-style XML error', async () => {
      const { presignedUrl } = PresignedUploadSchema.parse((await client.get('/documents/uploads/personalstorage/presignedupload')).body);
      emulator.faults.add({ route: 'storage', status: 503, retryAfterSeconds: 2 });
      const res = await fetch(presignedUrl, { method: 'PUT', body: 'x' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(await res.text()).toContain('<Code>SlowDown</Code>');
      expect((await fetch(presignedUrl, { method: 'PUT', body: 'x' })).status).toBe(200);
    });

    it('takes faults over POST /__emulator/faults and clears them with DELETE', async () => {
      const add = await fetch(`${emulator.url}/__emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ route: '/binders', status: 503, times: 'always' }),
      });
      expect(add.status).toBe(201);
      expect((await client.get('/binders')).status).toBe(503);
      expect((await client.get('/binders')).status).toBe(503);
      const listed = (await (await fetch(`${emulator.url}/__emulator/faults`)).json()) as { faults: { remaining: number | null }[] };
      expect(listed.faults).toEqual([expect.objectContaining({ remaining: null })]);
      expect((await fetch(`${emulator.url}/__emulator/faults`, { method: 'DELETE' })).status).toBe(204);
      expect((await client.get('/binders')).status).toBe(200);

      const invalid = await fetch(`${emulator.url}/__emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"route":"/binders"}',
      });
      expect(invalid.status).toBe(400);
    });
  });

  describe('dropped responses and the fault mix', () => {
    const target = { binderId: HARBOUR.binderId, folderId: HARBOUR.folders.architectureDrawings };
    const metadata = [{ metadataElementId: 'discipline', value: 'ARC' }];

    /** Status of a GET, or `network` when the connection died without an answer. */
    async function statusOf(path: string): Promise<number | 'network'> {
      try {
        return (await client.get(path)).status;
      } catch {
        return 'network';
      }
    }

    it('commits, then drops the answer: the client sees a network error, and the repeated commit returns the same single version', async () => {
      const { presignedUrl, uploadId } = PresignedUploadSchema.parse(
        (await client.get('/documents/uploads/personalstorage/presignedupload')).body,
      );
      expect((await fetch(presignedUrl, { method: 'PUT', body: 'dropped answer' })).status).toBe(200);
      const fileName = `Dropped answer ${Date.now()}.pdf`;
      const body = { fileName, uploadId, additionalMetadata: metadata };
      emulator.calls.reset();
      emulator.faults.add({ route: 'POST /documents/drives/{domain}/{id}/{folderId}/upload', dropResponse: true });

      await expect(client.commit(target, body)).rejects.toThrow();
      const document = emulator.state.findDocumentByName(target.folderId, fileName);
      expect(document).toBeDefined();
      expect(emulator.state.listVersions(document?.id ?? '')).toHaveLength(1);
      expect(emulator.calls.count('POST /documents/drives/{domain}/{id}/{folderId}/upload', 0)).toBe(1);

      const retried = await client.commit(target, body);
      expect(retried.status).toBe(200);
      expect(DocumentVersionSchema.parse(retried.body).id).toBe(document?.latestVersionId);
      expect(emulator.state.listVersions(document?.id ?? '')).toHaveLength(1);
      expect(emulator.faults.injected().byKind).toMatchObject({ 'dropped-response': 1 });
    });

    it('stores a PUT, then drops the answer: the one-shot URL is used up although the client heard nothing', async () => {
      const { presignedUrl, uploadId } = PresignedUploadSchema.parse(
        (await client.get('/documents/uploads/personalstorage/presignedupload')).body,
      );
      emulator.faults.add({ route: 'storage', dropResponse: true });
      await expect(fetch(presignedUrl, { method: 'PUT', body: 'stored, unanswered' })).rejects.toThrow();
      expect(emulator.state.getUpload(uploadId)?.state).toBe('stored');
      const again = await fetch(presignedUrl, { method: 'PUT', body: 'stored, unanswered' });
      expect(again.status).toBe(403);
      expect(await again.text()).toContain('already been used');
    });

    it('faults exactly the share of API calls the rate asks for, per hundred calls, with every kind, and counts each kind', async () => {
      await client.accessToken();
      emulator.faults.resetInjected();
      emulator.faults.setMix({ rate: 0.3, seed: 11, retryAfterSeconds: 1 });
      const outcomes: (number | 'network')[] = [];
      const retryAfters = new Set<string | null>();
      for (let i = 0; i < 300; i++) {
        try {
          const res = await client.get('/binders');
          outcomes.push(res.status);
          if (res.status === 429) retryAfters.add(res.headers.get('retry-after'));
        } catch {
          outcomes.push('network');
        }
      }
      const injected = emulator.faults.injected();
      const faulted = outcomes.filter((o) => o !== 200).length;
      expect(injected.total).toBe(faulted);
      // Exactly 30 of every 100 matching calls, not 30 % on average.
      expect(faulted).toBe(90);
      expect(Object.keys(injected.byKind).sort()).toEqual(['429', '500', '503', 'dropped-connection', 'dropped-response']);
      expect(outcomes.filter((o) => o === 429)).toHaveLength(injected.byKind['429'] ?? -1);
      expect(outcomes.filter((o) => o === 500)).toHaveLength(injected.byKind['500'] ?? -1);
      expect(outcomes.filter((o) => o === 503)).toHaveLength(injected.byKind['503'] ?? -1);
      expect(outcomes.filter((o) => o === 'network')).toHaveLength(
        (injected.byKind['dropped-connection'] ?? 0) + (injected.byKind['dropped-response'] ?? 0),
      );
      expect([...retryAfters]).toEqual(['1']);
    });

    it('repeats the same decisions for the same seed, and leaves the token endpoint alone by default', async () => {
      const run = async (): Promise<(number | 'network')[]> => {
        emulator.faults.setMix({ rate: 0.5, seed: 'drill-seed', kinds: { '500': 1, '503': 1 } });
        const statuses: (number | 'network')[] = [];
        for (let i = 0; i < 40; i++) statuses.push(await statusOf('/binders'));
        return statuses;
      };
      await client.accessToken();
      const first = await run();
      const second = await run();
      expect(second).toEqual(first);
      expect(first.filter((s) => s !== 200).every((s) => s === 500 || s === 503)).toBe(true);
      expect(first.some((s) => s !== 200)).toBe(true);

      emulator.faults.setMix({ rate: 1 });
      for (let i = 0; i < 5; i++) expect((await client.fetchToken()).status).toBe(200);
      expect([500, 503, 429, 'network']).toContain(await statusOf('/binders'));
    });

    it('takes a mix over POST /__emulator/fault-mix, shows it and the injected counts, and refuses a bad one', async () => {
      const control = `${emulator.url}/__emulator`;
      emulator.faults.resetInjected();
      const set = await fetch(`${control}/fault-mix`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rate: 1, seed: 3, routes: ['GET /binders'], kinds: { '503': 1 } }),
      });
      expect(set.status).toBe(201);
      await client.accessToken();
      expect((await client.get('/binders')).status).toBe(503);
      const shown = (await (await fetch(`${control}/faults`)).json()) as {
        mix: { rate: number; routes: string[] };
        injected: { total: number; byKind: Record<string, number> };
      };
      expect(shown.mix).toMatchObject({ rate: 1, routes: ['GET /binders'] });
      expect(shown.injected).toEqual({ total: 1, byKind: { '503': 1 } });

      const bad = await fetch(`${control}/fault-mix`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rate: 1.5 }),
      });
      expect(bad.status).toBe(400);
      const noKind = await fetch(`${control}/fault-mix`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rate: 0.5, kinds: { '500': 0 } }),
      });
      expect(noKind.status).toBe(400);
      expect((await fetch(`${control}/fault-mix`, { method: 'DELETE' })).status).toBe(204);
      expect((await client.get('/binders')).status).toBe(200);
      expect((await fetch(`${control}/reset-injected`, { method: 'POST' })).status).toBe(204);
      expect(emulator.faults.injected()).toEqual({ total: 0, byKind: {} });
    });
  });

  describe('call counter', () => {
    it('counts calls per route template and status, not control calls', async () => {
      const doc = emulator.state.listDocuments()[0];
      await client.accessToken();
      emulator.calls.reset();
      await client.get(`/documents/${doc?.id}/versions`);
      await client.get(`/documents/${doc?.id}/versions`);
      await client.get('/documents/00000000-0000-0000-0000-000000000000/versions');
      await client.get('/binders');
      await fetch(`${emulator.url}/__emulator/calls`);

      expect(emulator.calls.count('GET /documents/{documentId}/versions')).toBe(3);
      expect(emulator.calls.count('/api/documents/{documentId}/versions', 404)).toBe(1);
      expect(emulator.calls.count('GET /binders')).toBe(1);
      expect(emulator.calls.total()).toBe(4);
      expect(emulator.calls.total('api')).toBe(4);
      expect(emulator.calls.log().map((c) => [c.method, c.route, c.status])).toEqual([
        ['GET', '/documents/{documentId}/versions', 200],
        ['GET', '/documents/{documentId}/versions', 200],
        ['GET', '/documents/{documentId}/versions', 404],
        ['GET', '/binders', 200],
      ]);

      const overHttp = (await (await fetch(`${emulator.url}/__emulator/calls`)).json()) as {
        total: number;
        byRoute: Record<string, number>;
      };
      expect(overHttp.total).toBe(4);
      expect(overHttp.byRoute['GET /documents/{documentId}/versions']).toBe(3);
      expect((await fetch(`${emulator.url}/__emulator/reset-calls`, { method: 'POST' })).status).toBe(204);
      expect(emulator.calls.total()).toBe(0);
    });

    it('never logs tokens or signatures', async () => {
      const token = await client.accessToken();
      const doc = emulator.state.listDocuments()[0];
      const link = DownloadLinkSchema.parse((await client.get(`/documents/${doc?.id}/versions/${doc?.latestVersionId}/raw`)).body);
      await (await fetch(link.url)).arrayBuffer();
      const signature = new URL(link.url).searchParams.get('X-Amz-Signature') ?? '';
      expect(signature).not.toBe('');
      expect(logLines.length).toBeGreaterThan(0);
      for (const line of logLines) {
        expect(line).not.toContain(token);
        expect(line).not.toContain(signature);
        expect(line).not.toContain('X-Amz');
      }
    });
  });
});

describe('iBinder emulator search', () => {
  let emulator: Emulator;
  let client: TestClient;

  beforeAll(async () => {
    emulator = await startEmulator();
    seedBulkDocuments(emulator.state, {
      binderId: RIVERSIDE.binderId,
      count: 23,
      fileNamePrefix: 'paging',
      folderIds: [RIVERSIDE.folders.sitePhotos, RIVERSIDE.folders.siteInspections2024],
    });
    client = new TestClient(emulator);
  });

  afterAll(async () => {
    await emulator.close();
  });

  const search = (query: string, body: unknown = {}): Promise<JsonResponse> => client.call('POST', `/documents${query}`, { body });

  it('pages with a 1-based pageNumber and a totalCount', async () => {
    const ids: string[] = [];
    const counts: number[] = [];
    for (let pageNumber = 1; pageNumber <= 4; pageNumber++) {
      const page = DocumentPageSchema.parse((await search(`?pageSize=10&pageNumber=${pageNumber}&searchTerm=PAGING-`)).body);
      expect(page).toMatchObject({ totalCount: 23, pageNumber, pageSize: 10 });
      counts.push(page.items.length);
      ids.push(...page.items.map((d) => d.id));
    }
    expect(counts).toEqual([10, 10, 3, 0]);
    expect(new Set(ids).size).toBe(23);
  });

  it('rejects a pageNumber below 1 and a non-numeric pageSize with field errors', async () => {
    const res = await search('?pageSize=abc&pageNumber=0');
    expect(res.status).toBe(400);
    expect(Object.keys(problem(res).errors ?? {}).sort()).toEqual(['pageNumber', 'pageSize']);
  });

  it('rejects a filter without metadataElementId, keyed as the reference writes it', async () => {
    const res = await search('', { MetadataFilters: [{ valueId: 'x' }] });
    expect(res.status).toBe(400);
    expect(problem(res).errors?.['MetadataFilters[0].metadataElementId']).toEqual(['The metadataElementId field is required.']);
  });

  it('filters by binder, by tab, by custom element (OR within an element, AND across) and sorts', async () => {
    const byBinder = DocumentPageSchema.parse(
      (await search('?pageSize=100', { MetadataFilters: [{ metadataElementId: 'GLOBAL_BinderId', valueId: HARBOUR.binderId }] })).body,
    );
    expect(byBinder.totalCount).toBe(emulator.state.documentsInBinder(HARBOUR.binderId).length);
    expect(byBinder.items.every((d) => d.binderId === HARBOUR.binderId)).toBe(true);

    const byTab = DocumentPageSchema.parse(
      (await search('', { MetadataFilters: [{ metadataElementId: 'GLOBAL_TabId', valueId: HARBOUR.folders.architecture }] })).body,
    );
    expect(byTab.items.map((d) => d.fileName).sort()).toEqual([
      'A-101 Ground floor plan.pdf',
      'A-201 Sections.pdf',
      'Facade specification.docx',
    ]);

    const strOrHvac = DocumentPageSchema.parse(
      (
        await search('', {
          MetadataFilters: [
            { metadataElementId: 'GLOBAL_BinderId', valueId: HARBOUR.binderId },
            { metadataElementId: 'discipline', valueId: 'STR' },
            { metadataElementId: 'discipline', valueId: 'HVAC' },
          ],
        })
      ).body,
    );
    expect(strOrHvac.items.map((d) => d.fileName).sort()).toEqual(['M-301 Ventilation schematic.dwg', 'S-CALC-001 Foundations.pdf']);

    const none = DocumentPageSchema.parse(
      (
        await search('', {
          MetadataFilters: [
            { metadataElementId: 'GLOBAL_BinderId', valueId: RIVERSIDE.binderId },
            { metadataElementId: 'documentNumber', valueId: 'A-101' },
          ],
        })
      ).body,
    );
    expect(none.totalCount).toBe(0);

    const sorted = DocumentPageSchema.parse(
      (
        await search('', {
          MetadataFilters: [{ metadataElementId: 'GLOBAL_BinderId', valueId: HARBOUR.binderId }],
          SortBy: [{ metadataElementId: 'documentNumber', direction: 'desc' }],
        })
      ).body,
    );
    const numbers = sorted.items.map((d) => d.metadata.find((m) => m.metadataElementId === 'documentNumber')?.valueId);
    expect(numbers.slice(0, 4)).toEqual(['S-CALC-001', 'M-301', 'A-201', 'A-101']);
    expect(numbers.slice(4).every((n) => n === undefined)).toBe(true);
  });
});

describe('iBinder emulator discrepancy switches', () => {
  let emulator: Emulator;
  let client: TestClient;

  beforeAll(async () => {
    emulator = await startEmulator({ bindersResponse: 'items', downloadLinkPaths: ['downloadlink'], requireTenantOnPresign: true });
    client = new TestClient(emulator);
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('answers GET /binders as {items} (the quickstart reading)', async () => {
    const res = await client.get('/binders');
    expect(res.body).toEqual({ items: expect.any(Array) });
    expect(BinderListSchema.parse(res.body)).toHaveLength(2);
  });

  it('serves only the download-link paths that are switched on', async () => {
    const doc = emulator.state.listDocuments()[0];
    expect((await client.get(`/documents/${doc?.id}/versions/${doc?.latestVersionId}/raw`)).status).toBe(404);
    const link = DownloadLinkSchema.parse((await client.get(`/documents/${doc?.id}/versions/${doc?.latestVersionId}/downloadlink`)).body);
    expect((await fetch(link.url)).status).toBe(200);
  });

  it('requires the tenant header on presign when asked to', async () => {
    const res = await client.get('/documents/uploads/personalstorage/presignedupload', { tenant: null });
    expect(res.status).toBe(400);
    expect(problem(res).errors?.['x-ibinder-tenantid']).toBeDefined();
  });
});
