/**
 * The iBinder client's public surface. Business logic depends on this interface, not on the
 * HTTP implementation, so tests can hand in a fake and a second vendor can sit beside it.
 */
import type { Readable } from 'node:stream';
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
} from './schemas.js';

export interface IBinderCredentials {
  clientId: string;
  clientSecret: string;
}

export interface IBinderClientOptions {
  /** e.g. https://api.ibinder.com/api (no trailing slash needed). */
  apiBaseUrl: string;
  /** e.g. https://signin.ibinder.com/connect/token */
  tokenUrl: string;
  /** Organisation id, sent as `x-ibinder-tenantid`. */
  tenantId: string;
  /** Loaded lazily and cached by the caller (Secrets Manager or IBINDER_* variables). */
  credentials: () => Promise<IBinderCredentials>;
  /** Per-request timeout for API calls (ms). Default 30 s. */
  requestTimeoutMs?: number;
  /** Maximum attempts for a retryable call, first included. Default 5. */
  maxAttempts?: number;
  /** Upper bound of the whole retry loop of one call (ms). Default 60 s. */
  maxRetryTimeMs?: number;
  /** Base delay for exponential backoff (ms). Default 200. */
  baseDelayMs?: number;
  /** Seconds subtracted from `expires_in` before a cached token is considered stale. Default 60. */
  tokenExpiryMarginSeconds?: number;
  /** Injected for tests: clock and sleep. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Called for every HTTP exchange (metrics: API calls, 429s). Never receives secrets. */
  onRequest?: (event: { method: string; path: string; status?: number; attempt: number; durationMs: number }) => void;
}

export interface UploadBody {
  body: Readable;
  contentLength: number;
  contentType?: string;
}

export interface DownloadStream {
  body: Readable;
  contentLength?: number;
  contentType?: string;
}

export interface IBinderClient {
  listBinders(): Promise<Binder[]>;
  getMetadataElements(binderId: string): Promise<MetadataElement[]>;
  searchDocuments(search: DocumentSearch): Promise<DocumentPage>;
  /** Top-level folders (tabs) of a binder's drive. */
  listTopFolders(binderId: string, domain?: string): Promise<Folder[]>;
  listSubFolders(binderId: string, folderId: string, domain?: string): Promise<Folder[]>;
  listFolderDocuments(binderId: string, folderId: string, domain?: string): Promise<IBinderDocument[]>;
  /** Upload step 1. */
  createPresignedUpload(): Promise<PresignedUpload>;
  /** Upload step 2: streams the body with its Content-Length; never sends Authorization. */
  putPresigned(presignedUrl: string, upload: UploadBody): Promise<void>;
  /** Upload step 3: idempotent by uploadId, so it is retried like a GET. */
  commitUpload(binderId: string, folderId: string, request: CommitUploadRequest, domain?: string): Promise<DocumentVersion>;
  getDocument(documentId: string): Promise<IBinderDocument>;
  listVersions(documentId: string): Promise<DocumentVersion[]>;
  getVersion(documentId: string, versionId: string): Promise<DocumentVersion>;
  /** Discrepancy B: `/raw`, falling back to `/downloadlink` on 404/405. */
  getDownloadLink(documentId: string, versionId: string): Promise<DownloadLink>;
  /** Opens a presigned download URL as a stream; never sends Authorization. */
  openDownload(url: string): Promise<DownloadStream>;
}
