/**
 * An in-memory IBinderClient for unit tests: binders with folder trees and metadata schemas,
 * one-shot presigned uploads whose bodies are consumed as streams, commits that are idempotent
 * by uploadId, and faults queued per method. It records every call so tests can assert what was
 * (and was not) sent.
 */
import { Readable } from 'node:stream';
import { IBinderApiError, kindOfStatus } from '../../shared/connectors/ibinder/client/errors.js';
import type {
  Binder,
  CommitUploadRequest,
  DocumentPage,
  DocumentSearch,
  DocumentVersion,
  DownloadLink,
  Folder,
  IBinderDocument,
  MetadataElement,
  PresignedUpload,
} from '../../shared/connectors/ibinder/client/schemas.js';
import type { DownloadStream, IBinderClient, UploadBody } from '../../shared/connectors/ibinder/client/types.js';

export interface FakeFolderSpec {
  id: string;
  name: string;
  children?: FakeFolderSpec[];
}

export interface FakeBinderSpec {
  id: string;
  name?: string;
  folders?: FakeFolderSpec[];
  schema?: MetadataElement[];
}

export interface RecordedTransfer {
  uploadId: string;
  contentLength: number;
  contentType?: string | undefined;
  /** The body handed to putPresigned was a stream, not a buffer. */
  bodyWasReadable: boolean;
  receivedBytes: number;
  chunks: number;
  content: Buffer;
}

export interface RecordedCommit {
  binderId: string;
  folderId: string;
  request: CommitUploadRequest;
}

type Method = keyof IBinderClient;

/** A problem-details refusal as the HTTP client would throw it. */
export function apiError(
  status: number,
  options: { title?: string; traceId?: string; fieldErrors?: Record<string, string[]>; path?: string } = {},
): IBinderApiError {
  return new IBinderApiError(
    `iBinder answered ${status} to POST ${options.path ?? '/test'}${options.traceId ? ` (traceId ${options.traceId})` : ''}`,
    kindOfStatus(status),
    { method: 'POST', path: options.path ?? '/test' },
    status,
    options.title,
    options.fieldErrors ?? {},
    options.traceId,
    undefined,
  );
}

export class FakeIBinderClient implements IBinderClient {
  readonly transfers: RecordedTransfer[] = [];
  readonly commits: RecordedCommit[] = [];
  readonly calls: Partial<Record<Method, number>> = {};
  private readonly binders = new Map<string, FakeBinderSpec>();
  private readonly faults = new Map<Method, Error[]>();
  private readonly uploads = new Map<string, { url: string; used: boolean; transferred: boolean }>();
  private readonly versionsByUpload = new Map<string, DocumentVersion>();
  private readonly documents = new Map<string, { doc: IBinderDocument; versions: DocumentVersion[] }>();
  private counter = 0;

  constructor(binders: FakeBinderSpec[] = []) {
    for (const b of binders) this.binders.set(b.id, b);
  }

  /** The next call of `method` throws `error` (queue several for several calls). */
  failNext(method: Method, ...errors: Error[]): this {
    this.faults.set(method, [...(this.faults.get(method) ?? []), ...errors]);
    return this;
  }

  callCount(method: Method): number {
    return this.calls[method] ?? 0;
  }

  /** Test hook: an upload the consumer crashed after transferring (for resume tests). */
  seedTransferredUpload(uploadId: string): void {
    this.uploads.set(uploadId, { url: `https://storage.test/upload/${uploadId}?X-Sig=secret`, used: true, transferred: true });
  }

  async listBinders(): Promise<Binder[]> {
    this.enter('listBinders');
    return [...this.binders.values()].map((b) => ({ id: b.id, name: b.name ?? b.id, type: undefined, createdAt: undefined }));
  }

  async getMetadataElements(binderId: string): Promise<MetadataElement[]> {
    this.enter('getMetadataElements');
    return this.binder(binderId).schema ?? [];
  }

  async searchDocuments(_search: DocumentSearch): Promise<DocumentPage> {
    this.enter('searchDocuments');
    const items = [...this.documents.values()].map((d) => d.doc);
    return { items, totalCount: items.length, pageNumber: 1, pageSize: items.length };
  }

  async listTopFolders(binderId: string): Promise<Folder[]> {
    this.enter('listTopFolders');
    return (this.binder(binderId).folders ?? []).map((f) => toFolder(f, undefined));
  }

  async listSubFolders(binderId: string, folderId: string): Promise<Folder[]> {
    this.enter('listSubFolders');
    const folder = findFolder(this.binder(binderId).folders ?? [], folderId);
    if (!folder) throw apiError(404, { title: 'Not Found', path: `/documents/drives/binders/${binderId}/${folderId}` });
    return (folder.children ?? []).map((f) => toFolder(f, folder.id));
  }

  async listFolderDocuments(): Promise<IBinderDocument[]> {
    this.enter('listFolderDocuments');
    return [];
  }

  async createPresignedUpload(): Promise<PresignedUpload> {
    this.enter('createPresignedUpload');
    const uploadId = `upload-${++this.counter}`;
    const url = `https://storage.test/upload/${uploadId}?X-Sig=secret`;
    this.uploads.set(uploadId, { url, used: false, transferred: false });
    return { presignedUrl: url, uploadId };
  }

  async putPresigned(presignedUrl: string, upload: UploadBody): Promise<void> {
    this.enter('putPresigned');
    const entry = [...this.uploads.entries()].find(([, u]) => u.url === presignedUrl);
    if (!entry) throw apiError(403, { title: 'unknown presigned URL', path: '/upload' });
    const [uploadId, state] = entry;
    if (state.used) throw apiError(403, { title: 'presigned URL already used', path: '/upload' });
    state.used = true;
    const chunks: Buffer[] = [];
    for await (const chunk of upload.body) chunks.push(Buffer.from(chunk as Uint8Array));
    const content = Buffer.concat(chunks);
    this.transfers.push({
      uploadId,
      contentLength: upload.contentLength,
      contentType: upload.contentType,
      bodyWasReadable: upload.body instanceof Readable,
      receivedBytes: content.length,
      chunks: chunks.length,
      content,
    });
    if (content.length !== upload.contentLength) {
      throw apiError(400, { title: `Content-Length ${upload.contentLength} but ${content.length} bytes sent`, path: '/upload' });
    }
    state.transferred = true;
  }

  async commitUpload(binderId: string, folderId: string, request: CommitUploadRequest): Promise<DocumentVersion> {
    this.enter('commitUpload');
    const previous = this.versionsByUpload.get(request.uploadId);
    if (previous) return previous;
    const upload = this.uploads.get(request.uploadId);
    if (!upload?.transferred) {
      throw apiError(400, {
        title: 'One or more validation errors occurred.',
        fieldErrors: { uploadId: ['no completed upload with this id'] },
      });
    }
    this.binder(binderId);
    this.commits.push({ binderId, folderId, request });
    const key = `${binderId}/${folderId}/${request.fileName}`;
    let doc = this.documents.get(key);
    if (!doc) {
      doc = {
        doc: { id: `doc-${++this.counter}`, fileName: request.fileName, folderId, binderId, metadata: [], latestVersionId: undefined },
        versions: [],
      };
      this.documents.set(key, doc);
    }
    const version: DocumentVersion = {
      id: `ver-${++this.counter}`,
      documentId: doc.doc.id,
      version: request.version,
      status: 'Active',
      modifiedAt: new Date(0).toISOString(),
      description: undefined,
      metadata: request.additionalMetadata.map((m) => ({ metadataElementId: m.metadataElementId, valueId: m.value })),
      downloadUrl: undefined,
      thumbnailUrl: undefined,
    };
    doc.versions.push(version);
    doc.doc.latestVersionId = version.id;
    this.versionsByUpload.set(request.uploadId, version);
    return version;
  }

  async getDocument(documentId: string): Promise<IBinderDocument> {
    this.enter('getDocument');
    const found = [...this.documents.values()].find((d) => d.doc.id === documentId);
    if (!found) throw apiError(404, { path: `/documents/${documentId}` });
    return found.doc;
  }

  async listVersions(documentId: string): Promise<DocumentVersion[]> {
    this.enter('listVersions');
    return [...this.documents.values()].find((d) => d.doc.id === documentId)?.versions ?? [];
  }

  async getVersion(documentId: string, versionId: string): Promise<DocumentVersion> {
    this.enter('getVersion');
    const v = (await this.listVersions(documentId)).find((x) => x.id === versionId);
    if (!v) throw apiError(404, { path: `/documents/${documentId}/versions/${versionId}` });
    return v;
  }

  async getDownloadLink(): Promise<DownloadLink> {
    this.enter('getDownloadLink');
    return { url: 'https://storage.test/download', expiresAt: undefined };
  }

  async openDownload(): Promise<DownloadStream> {
    this.enter('openDownload');
    return { body: Readable.from([]) };
  }

  /** Every version committed so far, in order. */
  allVersions(): DocumentVersion[] {
    return [...this.documents.values()].flatMap((d) => d.versions);
  }

  private enter(method: Method): void {
    this.calls[method] = (this.calls[method] ?? 0) + 1;
    const queued = this.faults.get(method);
    const fault = queued?.shift();
    if (fault) throw fault;
  }

  private binder(binderId: string): FakeBinderSpec {
    const b = this.binders.get(binderId);
    if (!b) throw apiError(404, { title: 'Not Found', traceId: 'trace-unknown-binder', path: `/binders/${binderId}` });
    return b;
  }
}

function toFolder(f: FakeFolderSpec, parentId: string | undefined): Folder {
  return { id: f.id, name: f.name, type: 'folder', parentId };
}

function findFolder(folders: FakeFolderSpec[], id: string): FakeFolderSpec | undefined {
  for (const f of folders) {
    if (f.id === id) return f;
    const inner = findFolder(f.children ?? [], id);
    if (inner) return inner;
  }
  return undefined;
}
