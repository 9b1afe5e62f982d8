/**
 * Factories for the export's unit tests:
 * - `FakeExportIBinder`: an in-memory IBinderClient with binders, documents, versions and their
 *   bytes, counting every call and able to answer with an expired link, a gone version, a
 *   transient failure or a truncated download;
 * - `startLedgerTable`: a DynamoDB-compatible server (dynalite, in-process on 127.0.0.1, port 0)
 *   with a fresh export ledger table, so conditional writes behave as DynamoDB's do;
 * - `createFakeArchive`: an S3Client whose commands (aws-sdk-client-mock) keep objects in a Map,
 *   multipart uploads included, and answer SHA-256 checksums the way S3 does;
 * - `createQueueRecorder`: an SQSClient mock that records SendMessageBatch entries;
 * - `makeExportDeps`: the export's dependencies wired to the above.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandOutput,
  type S3ClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { crc32 } from 'node:zlib';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { startLocalDynamoDb } from '../../local/local-dynamodb.js';
import { createExportDeps, silentExportLogger, type ExportDeps, type PlannerDeps } from '../../shared/export/deps.js';
import { SqsExportJobQueue, type ExportJobQueue } from '../../shared/export/job-queue.js';
import { parseExportJob, type ExportJob } from '../../shared/export/job.js';
import { exportSettingsFrom, type ExportSettings } from '../../shared/export/settings.js';
import { PresignedStorageError } from '../../shared/connectors/ibinder/client/http.js';
import { IBinderApiError } from '../../shared/connectors/ibinder/client/errors.js';
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
import { IBinderSource } from '../../shared/connectors/ibinder/export-source.js';

// ---------------------------------------------------------------------------------------------
// iBinder

export interface FakeVersion {
  id: string;
  documentId: string;
  version?: string;
  status?: string;
  modifiedAt?: string;
  metadata: { metadataElementId: string; valueId: string }[];
  content: Buffer;
}

export interface FakeDocument {
  id: string;
  binderId: string;
  fileName: string;
  metadata: { metadataElementId: string; valueId: string }[];
  versions: FakeVersion[];
}

export type FakeCall = 'listBinders' | 'getMetadataElements' | 'searchDocuments' | 'listVersions' | 'getDownloadLink' | 'openDownload';

export const SIGNATURE = 'X-Amz-Signature=do-not-leak';

/** An in-memory iBinder tenant; the export's calls only. */
export class FakeExportIBinder implements IBinderClient {
  readonly binders: Binder[] = [];
  readonly metadataElements = new Map<string, MetadataElement[]>();
  readonly documents: FakeDocument[] = [];
  readonly calls: Record<FakeCall, number> = {
    listBinders: 0,
    getMetadataElements: 0,
    searchDocuments: 0,
    listVersions: 0,
    getDownloadLink: 0,
    openDownload: 0,
  };
  /** Search requests as received (page number and size). */
  readonly searches: { pageNumber: number; pageSize: number; binderId: string | undefined }[] = [];
  /** The largest page the "server" returns, whatever is asked for. */
  maxPageSize = 1000;
  /** This many next openDownload calls answer 403 as an expired presigned URL does. */
  expiredOpens = 0;
  /** Errors thrown by the next calls of a method for an id (documentId or versionId), in order. */
  private readonly scripted = new Map<string, Error[]>();
  /** Versions whose download stream stops after this many bytes while announcing the full length. */
  readonly truncateAfter = new Map<string, number>();
  private counter = 0;

  addBinder(id: string, elements: MetadataElement[] = []): this {
    this.binders.push({ id, name: `Binder ${id}`, type: undefined, createdAt: undefined });
    this.metadataElements.set(id, elements);
    return this;
  }

  /** Adds a document with one version per entry of `versions` (content as text or bytes). */
  addDocument(
    binderId: string,
    fileName: string,
    versions: (string | Buffer | (Partial<Omit<FakeVersion, 'content'>> & { content: string | Buffer }))[],
    metadata: { metadataElementId: string; valueId: string }[] = [],
  ): FakeDocument {
    const id = `doc-${String(++this.counter).padStart(4, '0')}`;
    const document: FakeDocument = { id, binderId, fileName, metadata, versions: [] };
    this.documents.push(document);
    for (const v of versions) this.addVersion(id, typeof v === 'string' || Buffer.isBuffer(v) ? { content: v } : v);
    return document;
  }

  addVersion(documentId: string, spec: Partial<Omit<FakeVersion, 'content'>> & { content: string | Buffer }): FakeVersion {
    const document = this.documents.find((d) => d.id === documentId);
    if (!document) throw new Error(`fake iBinder: no document ${documentId}`);
    const number = document.versions.length + 1;
    const version: FakeVersion = {
      id: spec.id ?? `${documentId}-v${number}`,
      documentId,
      version: spec.version ?? String.fromCharCode(64 + number),
      status: spec.status ?? 'Published',
      modifiedAt: spec.modifiedAt ?? new Date(Date.UTC(2026, 0, number)).toISOString(),
      metadata: spec.metadata ?? [],
      content: Buffer.isBuffer(spec.content) ? spec.content : Buffer.from(spec.content),
    };
    document.versions.push(version);
    return version;
  }

  /** The next calls of `method` for `id` throw these errors, in order. */
  failNext(method: FakeCall, id: string, ...errors: Error[]): void {
    this.scripted.set(`${method}:${id}`, [...(this.scripted.get(`${method}:${id}`) ?? []), ...errors]);
  }

  private scriptedError(method: FakeCall, id: string): Error | undefined {
    const queue = this.scripted.get(`${method}:${id}`);
    return queue?.shift();
  }

  findVersion(versionId: string): FakeVersion | undefined {
    for (const d of this.documents) {
      const v = d.versions.find((x) => x.id === versionId);
      if (v) return v;
    }
    return undefined;
  }

  listBinders(): Promise<Binder[]> {
    this.calls.listBinders++;
    return Promise.resolve([...this.binders]);
  }

  async getMetadataElements(binderId: string): Promise<MetadataElement[]> {
    this.calls.getMetadataElements++;
    const error = this.scriptedError('getMetadataElements', binderId);
    if (error) throw error;
    const elements = this.metadataElements.get(binderId);
    if (!elements) throw apiError(404, 'GET', `/binders/${binderId}/metadataelements`);
    return elements;
  }

  async searchDocuments(search: DocumentSearch): Promise<DocumentPage> {
    this.calls.searchDocuments++;
    const binderId = search.metadataFilters?.find((f) => f.metadataElementId === 'GLOBAL_BinderId')?.valueId;
    const pageNumber = search.pageNumber ?? 1;
    const pageSize = Math.min(search.pageSize ?? 50, this.maxPageSize);
    this.searches.push({ pageNumber, pageSize: search.pageSize ?? 50, binderId });
    const error = this.scriptedError('searchDocuments', binderId ?? '');
    if (error) throw error;
    if (binderId !== undefined && !this.binders.some((b) => b.id === binderId)) {
      throw apiError(403, 'POST', '/documents');
    }
    const matching = this.documents.filter((d) => binderId === undefined || d.binderId === binderId);
    const items = matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize).map((d) => toDocument(d));
    return { items, totalCount: matching.length, pageNumber, pageSize };
  }

  async listVersions(documentId: string): Promise<DocumentVersion[]> {
    this.calls.listVersions++;
    const error = this.scriptedError('listVersions', documentId);
    if (error) throw error;
    const document = this.documents.find((d) => d.id === documentId);
    if (!document) throw apiError(404, 'GET', `/documents/${documentId}/versions`);
    return document.versions.map((v) => toVersion(v));
  }

  async getDownloadLink(documentId: string, versionId: string): Promise<DownloadLink> {
    this.calls.getDownloadLink++;
    const error = this.scriptedError('getDownloadLink', versionId);
    if (error) throw error;
    if (!this.findVersion(versionId)) throw apiError(404, 'GET', `/documents/${documentId}/versions/${versionId}/raw`);
    return { url: `https://storage.example.test/blobs/${versionId}?${SIGNATURE}`, expiresAt: undefined };
  }

  async openDownload(url: string): Promise<DownloadStream> {
    this.calls.openDownload++;
    const parsed = new URL(url);
    const versionId = decodeURIComponent(parsed.pathname.split('/').pop() ?? '');
    const error = this.scriptedError('openDownload', versionId);
    if (error) throw error;
    if (this.expiredOpens > 0) {
      this.expiredOpens--;
      throw new PresignedStorageError(
        `storage GET ${parsed.pathname} answered 403 "Forbidden" — the presigned link expired`,
        'permanent',
        { method: 'GET', path: parsed.pathname },
        403,
        'Forbidden',
        {},
        undefined,
        undefined,
      );
    }
    const version = this.findVersion(versionId);
    if (!version) throw apiError(404, 'GET', parsed.pathname);
    const cut = this.truncateAfter.get(versionId);
    const bytes = cut !== undefined ? version.content.subarray(0, cut) : version.content;
    return { body: chunked(bytes), contentLength: version.content.length, contentType: 'application/pdf' };
  }

  listTopFolders(): Promise<Folder[]> {
    return notUsed('listTopFolders');
  }
  listSubFolders(): Promise<Folder[]> {
    return notUsed('listSubFolders');
  }
  listFolderDocuments(): Promise<IBinderDocument[]> {
    return notUsed('listFolderDocuments');
  }
  createPresignedUpload(): Promise<PresignedUpload> {
    return notUsed('createPresignedUpload');
  }
  putPresigned(_url: string, _upload: UploadBody): Promise<void> {
    return notUsed('putPresigned');
  }
  commitUpload(_b: string, _f: string, _r: CommitUploadRequest): Promise<DocumentVersion> {
    return notUsed('commitUpload');
  }
  getDocument(): Promise<IBinderDocument> {
    return notUsed('getDocument');
  }
  getVersion(): Promise<DocumentVersion> {
    return notUsed('getVersion');
  }
}

function notUsed(name: string): Promise<never> {
  return Promise.reject(new Error(`fake iBinder: ${name} is not used by the export`));
}

export function apiError(status: number, method: string, path: string, traceId = 'trace-123'): IBinderApiError {
  const kind = status === 401 ? 'auth' : status === 429 || status >= 500 ? 'transient' : 'permanent';
  return new IBinderApiError(
    `iBinder ${method} ${path} answered ${status} traceId=${traceId}`,
    kind,
    { method, path },
    status,
    undefined,
    {},
    traceId,
    undefined,
  );
}

function toDocument(d: FakeDocument): IBinderDocument {
  return {
    id: d.id,
    fileName: d.fileName,
    folderId: undefined,
    binderId: d.binderId,
    metadata: d.metadata,
    latestVersionId: d.versions.at(-1)?.id,
  };
}

function toVersion(v: FakeVersion): DocumentVersion {
  return {
    id: v.id,
    documentId: v.documentId,
    version: v.version,
    status: v.status,
    modifiedAt: v.modifiedAt,
    description: undefined,
    metadata: v.metadata,
    downloadUrl: undefined,
    thumbnailUrl: undefined,
  };
}

/** A stream of the bytes in 64 KiB chunks, like a network body. */
export function chunked(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A binder schema with a list element and a free-text element. */
export function sampleMetadataElements(): MetadataElement[] {
  return [
    {
      id: 'discipline',
      label: 'Discipline',
      dataType: 'list',
      required: true,
      allowedValues: [
        { id: 'arch', label: 'Architecture' },
        { id: 'elec', label: 'Electrical' },
      ],
    },
    { id: 'note', label: 'Note', dataType: 'text', required: false, allowedValues: [] },
  ];
}

// ---------------------------------------------------------------------------------------------
// DynamoDB (dynalite)

export interface LedgerServer {
  endpoint: string;
  /** Creates a fresh, empty export ledger table; returns its name and a document client. */
  newTable(): Promise<{ tableName: string; doc: DynamoDBDocumentClient }>;
  close(): Promise<void>;
}

/** The local DynamoDB server the demo uses, with a fresh ledger table per test. */
export async function startLedgerServer(): Promise<LedgerServer> {
  const local = await startLocalDynamoDb();
  let tables = 0;
  return {
    endpoint: local.endpoint,
    async newTable() {
      const tableName = `export-ledger-${++tables}`;
      await local.createLedgerTable(tableName);
      return { tableName, doc: local.documentClient };
    },
    close: local.stop,
  };
}

// ---------------------------------------------------------------------------------------------
// S3 (aws-sdk-client-mock over an in-memory bucket)

export interface StoredObject {
  body: Buffer;
  contentType?: string;
  checksumAlgorithm?: string;
}

export interface FakeArchive {
  s3: S3Client;
  mock: AwsStub<ServiceInputTypes, ServiceOutputTypes, S3ClientResolvedConfig>;
  bucket: string;
  objects: Map<string, StoredObject>;
  /** Keys of multipart uploads begun and not completed or aborted. */
  openUploads: Map<string, { key: string; parts: Map<number, Buffer>; checksumAlgorithm?: string }>;
  aborted: string[];
  /** Part uploads seen, with their checksum algorithm. */
  partUploads: { key: string; partNumber: number; checksumAlgorithm?: string }[];
  /** Keys whose PutObject fails (an S3 outage for that prefix). */
  failPutsUnder: string[];
  text(key: string): string;
  json(key: string): unknown;
  keys(): string[];
}

function bodyToBuffer(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  throw new Error(`fake S3: unsupported body type ${Object.prototype.toString.call(body)}`);
}

const sha256Base64 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('base64');

/** S3's ChecksumCRC32 of `body`: big-endian CRC32, base64. */
export function crc32Base64(body: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(body) >>> 0, 0);
  return out.toString('base64');
}

/** As S3 refuses a body whose x-amz-checksum-crc32 does not match it (BadDigest). */
function refuseWrongCrc32(what: string, body: Buffer, sent: string | undefined): void {
  if (sent !== undefined && sent !== crc32Base64(body)) {
    throw Object.assign(new Error(`fake S3: the CRC32 of ${what} is ${crc32Base64(body)}, not ${sent}`), {
      name: 'BadDigest',
      $metadata: { httpStatusCode: 400 },
    });
  }
}

export function createFakeArchive(bucket = 'archive-bucket'): FakeArchive {
  const s3 = new S3Client({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const stub = mockClient(s3);
  const archive: FakeArchive = {
    s3,
    mock: stub,
    bucket,
    objects: new Map(),
    openUploads: new Map(),
    aborted: [],
    partUploads: [],
    failPutsUnder: [],
    text: (key) => {
      const object = archive.objects.get(key);
      if (!object) throw new Error(`fake S3: no object ${key}`);
      return object.body.toString('utf-8');
    },
    json: (key) => JSON.parse(archive.text(key)) as unknown,
    keys: () => [...archive.objects.keys()].sort(),
  };
  let uploads = 0;
  stub
    .on(PutObjectCommand)
    .callsFake(async (input: { Key: string; Body: unknown; ContentType?: string; ChecksumAlgorithm?: string; ChecksumCRC32?: string }) => {
      if (archive.failPutsUnder.some((prefix) => input.Key.startsWith(prefix))) {
        throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
          name: 'InternalError',
          $metadata: { httpStatusCode: 500 },
        });
      }
      const body = bodyToBuffer(input.Body);
      refuseWrongCrc32(input.Key, body, input.ChecksumCRC32);
      archive.objects.set(input.Key, {
        body,
        ...(input.ContentType ? { contentType: input.ContentType } : {}),
        ...(input.ChecksumAlgorithm ? { checksumAlgorithm: input.ChecksumAlgorithm } : {}),
      });
      return {
        ETag: '"etag"',
        ...(input.ChecksumAlgorithm === 'SHA256' ? { ChecksumSHA256: sha256Base64(body) } : {}),
        ...(input.ChecksumAlgorithm === 'CRC32' ? { ChecksumCRC32: crc32Base64(body) } : {}),
      };
    });
  stub.on(CreateMultipartUploadCommand).callsFake(async (input: { Key: string; ChecksumAlgorithm?: string }) => {
    const uploadId = `upload-${++uploads}`;
    archive.openUploads.set(uploadId, {
      key: input.Key,
      parts: new Map(),
      ...(input.ChecksumAlgorithm ? { checksumAlgorithm: input.ChecksumAlgorithm } : {}),
    });
    return { UploadId: uploadId };
  });
  stub
    .on(UploadPartCommand)
    .callsFake(
      async (input: {
        Key: string;
        UploadId: string;
        PartNumber: number;
        Body: unknown;
        ChecksumAlgorithm?: string;
        ChecksumCRC32?: string;
      }) => {
        const upload = archive.openUploads.get(input.UploadId);
        if (!upload) throw new Error(`fake S3: no upload ${input.UploadId}`);
        const body = bodyToBuffer(input.Body);
        refuseWrongCrc32(`${input.Key} part ${input.PartNumber}`, body, input.ChecksumCRC32);
        upload.parts.set(input.PartNumber, body);
        archive.partUploads.push({
          key: input.Key,
          partNumber: input.PartNumber,
          ...(input.ChecksumAlgorithm ? { checksumAlgorithm: input.ChecksumAlgorithm } : {}),
        });
        return {
          ETag: `"part-${input.PartNumber}"`,
          ...(input.ChecksumAlgorithm === 'SHA256' ? { ChecksumSHA256: sha256Base64(body) } : {}),
          ...(input.ChecksumAlgorithm === 'CRC32' ? { ChecksumCRC32: crc32Base64(body) } : {}),
        };
      },
    );
  stub.on(CompleteMultipartUploadCommand).callsFake(async (input: { UploadId: string; ContentType?: string }) => {
    const upload = archive.openUploads.get(input.UploadId);
    if (!upload) throw new Error(`fake S3: no upload ${input.UploadId}`);
    const numbers = [...upload.parts.keys()].sort((a, b) => a - b);
    const body = Buffer.concat(numbers.map((n) => upload.parts.get(n) as Buffer));
    archive.objects.set(upload.key, {
      body,
      ...(input.ContentType ? { contentType: input.ContentType } : {}),
      ...(upload.checksumAlgorithm ? { checksumAlgorithm: upload.checksumAlgorithm } : {}),
    });
    archive.openUploads.delete(input.UploadId);
    return { ETag: '"mpu"', ...(upload.checksumAlgorithm === 'SHA256' ? { ChecksumSHA256: `composite-${numbers.length}` } : {}) };
  });
  stub.on(AbortMultipartUploadCommand).callsFake(async (input: { UploadId: string }) => {
    archive.openUploads.delete(input.UploadId);
    archive.aborted.push(input.UploadId);
    return {};
  });
  stub.on(ListObjectsV2Command).callsFake(async (input: { Prefix?: string }) => {
    const keys = archive.keys().filter((k) => k.startsWith(input.Prefix ?? ''));
    return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false, KeyCount: keys.length };
  });
  stub.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
    const object = archive.objects.get(input.Key);
    if (!object)
      throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const body = { transformToString: () => Promise.resolve(object.body.toString('utf-8')) };
    return { Body: body as unknown as GetObjectCommandOutput['Body'] };
  });
  return archive;
}

// ---------------------------------------------------------------------------------------------
// SQS

export interface QueueRecorder {
  sqs: SQSClient;
  queue: ExportJobQueue;
  /** Entries per SendMessageBatch call. */
  batches: string[][];
  jobs(): ExportJob[];
}

export function createQueueRecorder(queueUrl = 'https://sqs.eu-north-1.amazonaws.com/123456789012/export'): QueueRecorder {
  const sqs = new SQSClient({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const batches: string[][] = [];
  mockClient(sqs)
    .on(SendMessageBatchCommand)
    .callsFake(async (input: { Entries: { Id: string; MessageBody: string }[] }) => {
      batches.push(input.Entries.map((e) => e.MessageBody));
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })), Failed: [] };
    });
  return {
    sqs,
    queue: new SqsExportJobQueue(sqs, queueUrl, { sleep: () => Promise.resolve() }),
    batches,
    jobs: () => batches.flat().map((body) => parseExportJob(body)),
  };
}

// ---------------------------------------------------------------------------------------------
// Wiring

/** A clock that stands still until moved. */
export class TestClock {
  constructor(private ms = Date.parse('2026-11-22T02:00:00Z')) {}
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface TestExportDepsOptions {
  ibinder: FakeExportIBinder;
  archive: FakeArchive;
  ledger: { tableName: string; doc: DynamoDBDocumentClient };
  clock?: TestClock;
  settings?: Partial<ExportSettings>;
  queue?: ExportJobQueue;
}

export function makeExportDeps(options: TestExportDepsOptions): PlannerDeps {
  const clock = options.clock ?? new TestClock();
  let runs = 0;
  let owners = 0;
  const deps: ExportDeps = createExportDeps({
    settings: exportSettingsFrom(
      { tenantId: 'acme', exportBinders: undefined, claimLeaseSeconds: 900 },
      { partSizeBytes: 5 * 1024 * 1024, ...options.settings },
    ),
    source: new IBinderSource(options.ibinder),
    s3: options.archive.s3,
    bucket: options.archive.bucket,
    dynamo: options.ledger.doc,
    ledgerTableName: options.ledger.tableName,
    clock: clock.now,
    logger: silentExportLogger,
    newRunId: (startedAt) => `${startedAt.toISOString().slice(0, 10)}-run-${++runs}`,
    newOwnerId: () => `owner-${++owners}`,
  });
  return { ...deps, queue: options.queue ?? createQueueRecorder().queue };
}
