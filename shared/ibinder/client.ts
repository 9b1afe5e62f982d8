/**
 * The iBinder File API over HTTP: every endpoint of the reference table, typed, each answer
 * validated with its zod schema.
 *
 * - Every API call carries `Authorization: Bearer` and `x-ibinder-tenantid`, the presign call
 *   included (discrepancy C: the introduction says every request needs the tenant).
 * - A 401 refreshes the token once and repeats the request once; a second 401 is an `auth`
 *   error that tells the operator what to check.
 * - All API calls here are reads or the upload commit, which is idempotent by `uploadId`, so
 *   all of them are retried on 429/5xx/408/timeouts/network errors. The presigned PUT is not:
 *   its body stream is consumed, so the caller repeats the whole step with a fresh presign.
 * - Presigned storage URLs get neither the bearer token nor the tenant header.
 */
import type { z } from 'zod';
import { logger, redactUrl } from '../observability/logger.js';
import { TokenSource, type TokenCache } from './auth.js';
import { IBinderApiError, IBinderNetworkError, type RequestDescription } from './errors.js';
import {
  PresignedStorageError,
  errorFromResponse,
  exchangeStream,
  exchangeText,
  parseResponse,
  pathOf,
  typedBodyStream,
  watchProgress,
  type TextResponse,
} from './http.js';
import { DEFAULT_MAX_DELAY_MS, DEFAULT_RATE_LIMIT_FLOOR_MS, withRetries, type RetryPolicy } from './retry.js';
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
  type Binder,
  type CommitUploadRequest,
  type DocumentPage,
  type DocumentSearch,
  type DocumentVersion,
  type DownloadLink,
  type Folder,
  type IBinderDocument,
  type MetadataElement,
  type PresignedUpload,
} from './schemas.js';
import type { DownloadStream, IBinderClient, IBinderClientOptions, UploadBody } from './types.js';

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_MAX_RETRY_TIME_MS = 60_000;
export const DEFAULT_BASE_DELAY_MS = 200;
/** Longest pause in a moving transfer before it counts as hung (ms). */
export const DEFAULT_TRANSFER_IDLE_TIMEOUT_MS = 120_000;
export const DEFAULT_DOMAIN = 'binders';

/** Options beyond the shared interface's; all optional, for tuning and tests. */
export interface HttpIBinderClientOptions extends IBinderClientOptions {
  /** Idle timeout of presigned transfers: no byte moved for this long aborts them. Default 120 s. */
  transferIdleTimeoutMs?: number;
  /** Cap of a single backoff wait or `Retry-After`. Default 20 s. */
  maxDelayMs?: number;
  /** Least wait after a 429 without `Retry-After`. Default 2 s. */
  rateLimitFloorMs?: number;
  /** Jitter source, uniform in [0, 1). */
  random?: () => number;
  /** Token cache; default the process-wide `processTokenCache`. */
  tokenCache?: TokenCache;
  /** Which download-link path works, per API base URL; default the process-wide memory. */
  downloadLinkRoutes?: DownloadLinkRouteMemory;
}

export type DownloadLinkRoute = 'raw' | 'downloadlink';
export type DownloadLinkRouteMemory = Map<string, DownloadLinkRoute>;

/**
 * Which download-link path answered for an API base URL (discrepancy B), remembered for the
 * life of the process so that only the first lookup pays for a fallback.
 */
export const processDownloadLinkRoutes: DownloadLinkRouteMemory = new Map();

/**
 * True for a refusal from storage behind a presigned URL that a fresh link would cure: 403
 * (expired signature, the usual case), 400 (S3 answers some expiries so) or 410. The export
 * worker asks for a new link; the ingest repeats the step with a new presign.
 */
export function isExpiredLinkError(err: unknown): err is PresignedStorageError {
  return err instanceof PresignedStorageError && (err.status === 403 || err.status === 400 || err.status === 410);
}

const seg = encodeURIComponent;

interface ApiCall<S extends z.ZodType> {
  method: 'GET' | 'POST';
  /** Path below the API base URL, ids already encoded; shown in errors and logs. */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  schema: S;
}

export class HttpIBinderClient implements IBinderClient {
  private readonly baseUrl: string;
  private readonly tokens: TokenSource;
  private readonly retryPolicy: RetryPolicy;
  private readonly requestTimeoutMs: number;
  private readonly transferIdleTimeoutMs: number;
  private readonly now: () => number;
  private readonly downloadLinkRoutes: DownloadLinkRouteMemory;

  constructor(private readonly options: HttpIBinderClientOptions) {
    this.baseUrl = options.apiBaseUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.downloadLinkRoutes = options.downloadLinkRoutes ?? processDownloadLinkRoutes;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.transferIdleTimeoutMs = options.transferIdleTimeoutMs ?? DEFAULT_TRANSFER_IDLE_TIMEOUT_MS;
    this.retryPolicy = {
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      maxRetryTimeMs: options.maxRetryTimeMs ?? DEFAULT_MAX_RETRY_TIME_MS,
      baseDelayMs: options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
      rateLimitFloorMs: options.rateLimitFloorMs ?? DEFAULT_RATE_LIMIT_FLOOR_MS,
      now: this.now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
    };
    this.tokens = new TokenSource({
      tokenUrl: options.tokenUrl,
      credentials: options.credentials,
      requestTimeoutMs: this.requestTimeoutMs,
      now: this.now,
      ...(options.tokenExpiryMarginSeconds !== undefined ? { tokenExpiryMarginSeconds: options.tokenExpiryMarginSeconds } : {}),
      ...(options.tokenCache ? { cache: options.tokenCache } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
  }

  listBinders(): Promise<Binder[]> {
    return this.call({ method: 'GET', path: '/binders', schema: BinderListSchema });
  }

  getMetadataElements(binderId: string): Promise<MetadataElement[]> {
    return this.call({ method: 'GET', path: `/binders/${seg(binderId)}/metadataelements`, schema: MetadataElementListSchema });
  }

  searchDocuments(search: DocumentSearch): Promise<DocumentPage> {
    return this.call({
      method: 'POST',
      path: '/documents',
      query: { pageSize: search.pageSize, pageNumber: search.pageNumber, searchTerm: search.searchTerm },
      body: { MetadataFilters: search.metadataFilters ?? [], SortBy: search.sortBy ?? [] },
      schema: DocumentPageSchema,
    });
  }

  listTopFolders(binderId: string, domain = DEFAULT_DOMAIN): Promise<Folder[]> {
    return this.call({ method: 'GET', path: `/documents/drives/${seg(domain)}/${seg(binderId)}`, schema: FolderListSchema });
  }

  listSubFolders(binderId: string, folderId: string, domain = DEFAULT_DOMAIN): Promise<Folder[]> {
    return this.call({
      method: 'GET',
      path: `/documents/drives/${seg(domain)}/${seg(binderId)}/${seg(folderId)}`,
      schema: FolderListSchema,
    });
  }

  listFolderDocuments(binderId: string, folderId: string, domain = DEFAULT_DOMAIN): Promise<IBinderDocument[]> {
    return this.call({
      method: 'GET',
      path: `/documents/drives/${seg(domain)}/${seg(binderId)}/${seg(folderId)}/documents`,
      schema: DocumentListSchema,
    });
  }

  createPresignedUpload(): Promise<PresignedUpload> {
    return this.call({ method: 'GET', path: '/documents/uploads/personalstorage/presignedupload', schema: PresignedUploadSchema });
  }

  commitUpload(binderId: string, folderId: string, request: CommitUploadRequest, domain = DEFAULT_DOMAIN): Promise<DocumentVersion> {
    return this.call({
      method: 'POST',
      path: `/documents/drives/${seg(domain)}/${seg(binderId)}/${seg(folderId)}/upload`,
      body: {
        fileName: request.fileName,
        ...(request.version !== undefined ? { version: request.version } : {}),
        uploadId: request.uploadId,
        additionalMetadata: request.additionalMetadata,
      },
      schema: DocumentVersionSchema,
    });
  }

  getDocument(documentId: string): Promise<IBinderDocument> {
    return this.call({ method: 'GET', path: `/documents/${seg(documentId)}`, schema: DocumentSchema });
  }

  listVersions(documentId: string): Promise<DocumentVersion[]> {
    return this.call({ method: 'GET', path: `/documents/${seg(documentId)}/versions`, schema: DocumentVersionListSchema });
  }

  getVersion(documentId: string, versionId: string): Promise<DocumentVersion> {
    return this.call({
      method: 'GET',
      path: `/documents/${seg(documentId)}/versions/${seg(versionId)}`,
      schema: DocumentVersionSchema,
    });
  }

  /**
   * Discrepancy B: the reference says `/raw`, the quickstart `/downloadlink`. `/raw` is tried
   * first; a 404 or 405 falls back to `/downloadlink`, and whichever answers is remembered
   * for the process. A 404 from both means the version does not exist: the `/raw` error is thrown.
   */
  async getDownloadLink(documentId: string, versionId: string): Promise<DownloadLink> {
    const versionPath = `/documents/${seg(documentId)}/versions/${seg(versionId)}`;
    const fetchVia = (route: DownloadLinkRoute): Promise<DownloadLink> =>
      this.call({ method: 'GET', path: `${versionPath}/${route}`, schema: DownloadLinkSchema });

    const known = this.downloadLinkRoutes.get(this.baseUrl);
    if (known) return fetchVia(known);

    let rawError: IBinderApiError;
    try {
      const link = await fetchVia('raw');
      this.downloadLinkRoutes.set(this.baseUrl, 'raw');
      return link;
    } catch (err) {
      if (!(err instanceof IBinderApiError) || (err.status !== 404 && err.status !== 405)) throw err;
      rawError = err;
    }
    try {
      const link = await fetchVia('downloadlink');
      this.downloadLinkRoutes.set(this.baseUrl, 'downloadlink');
      logger.debug('iBinder download links answer at /downloadlink, not /raw; remembered for this process', {
        path: `${versionPath}/raw`,
        status: rawError.status,
      });
      return link;
    } catch (err) {
      if (err instanceof IBinderApiError && err.status === 404) {
        // /raw 404 and /downloadlink 404: the version is not there. /raw 405 and /downloadlink
        // 404: /raw is not routed, so the /downloadlink answer is the meaningful one.
        throw rawError.status === 404 ? rawError : err;
      }
      throw err;
    }
  }

  /**
   * Streams `upload.body` to storage with an explicit Content-Length (never buffered), with an
   * idle timeout rather than a total one, and without Authorization or tenant header. Inside
   * an invocation it is also cut off at the current deadline (deadline.ts, applied by http.ts)
   * with a transient `DeadlineExceededError`, so a slow 5 GiB upload started late cannot run
   * into the function timeout.
   */
  async putPresigned(presignedUrl: string, upload: UploadBody): Promise<void> {
    const description: RequestDescription = { method: 'PUT', path: pathOf(presignedUrl) };
    const controller = new AbortController();
    const idleMs = this.transferIdleTimeoutMs;
    const watched = watchProgress(upload.body, idleMs, () =>
      controller.abort(
        new IBinderNetworkError(
          `presigned storage PUT ${description.path} made no progress for ${idleMs} ms — transient; repeat the upload with a new presigned URL`,
          description,
          true,
        ),
      ),
    );
    try {
      const response = await exchangeText({
        description,
        endpoint: 'storage',
        url: presignedUrl,
        headers: {
          'content-length': String(upload.contentLength),
          ...(upload.contentType !== undefined ? { 'content-type': upload.contentType } : {}),
        },
        body: watched.stream,
        signal: controller.signal,
        headersTimeoutMs: idleMs,
        bodyTimeoutMs: idleMs,
        attempt: 1,
        now: this.now,
        ...(this.options.onRequest ? { onRequest: this.options.onRequest } : {}),
      });
      if (response.status < 200 || response.status >= 300) {
        throw errorFromResponse(description, 'storage', response, this.now());
      }
      logger.debug('uploaded to presigned storage', { url: redactUrl(presignedUrl), bytes: upload.contentLength });
    } finally {
      watched.stop();
    }
  }

  /**
   * Opens a presigned download URL (no Authorization). Opening is a GET and is retried on
   * transient failures; once the body flows, a failure surfaces on the stream as an
   * IBinderNetworkError. A refused link is a `PresignedStorageError` (see `isExpiredLinkError`).
   * Inside an invocation the body, too, is cut off at the current deadline.
   */
  openDownload(url: string): Promise<DownloadStream> {
    const description: RequestDescription = { method: 'GET', path: pathOf(url) };
    return withRetries(description, this.retryPolicy, async (attempt) => {
      const request = {
        description,
        endpoint: 'storage' as const,
        url,
        headers: {},
        headersTimeoutMs: this.requestTimeoutMs,
        bodyTimeoutMs: this.transferIdleTimeoutMs,
        attempt,
        now: this.now,
        ...(this.options.onRequest ? { onRequest: this.options.onRequest } : {}),
      };
      const response = await exchangeStream(request);
      if (response.status < 200 || response.status >= 300) {
        const text = await response.body.text().catch(() => '');
        throw errorFromResponse(description, 'storage', { ...response, text }, this.now());
      }
      logger.debug('opened presigned download', { url: redactUrl(url), attempt });
      const length = Number(response.headers['content-length']);
      const contentType = response.headers['content-type'];
      return {
        body: typedBodyStream(response.body, request),
        ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}),
        ...(typeof contentType === 'string' ? { contentType } : {}),
      };
    });
  }

  /** One API call: retried as a whole, each attempt authorised and validated. */
  private call<S extends z.ZodType>(spec: ApiCall<S>): Promise<z.output<S>> {
    const description: RequestDescription = { method: spec.method, path: spec.path };
    const url = this.urlOf(spec);
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    return withRetries(description, this.retryPolicy, async (attempt) => {
      const response = await this.authorisedExchange(description, url, body, attempt);
      if (response.status < 200 || response.status >= 300) {
        throw errorFromResponse(description, 'api', response, this.now());
      }
      return parseResponse(description, 'api', response, spec.schema);
    });
  }

  /** Sends with the cached token; on 401 refreshes it once and sends once more. */
  private async authorisedExchange(
    description: RequestDescription,
    url: string,
    body: string | undefined,
    attempt: number,
  ): Promise<TextResponse> {
    const send = (token: string) =>
      exchangeText({
        description,
        endpoint: 'api',
        url,
        headers: {
          authorization: `Bearer ${token}`,
          'x-ibinder-tenantid': this.options.tenantId,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body } : {}),
        timeoutMs: this.requestTimeoutMs,
        attempt,
        now: this.now,
        ...(this.options.onRequest ? { onRequest: this.options.onRequest } : {}),
      });
    const token = await this.tokens.getToken(attempt);
    const first = await send(token);
    if (first.status !== 401) return first;
    logger.debug('iBinder refused the cached token; fetching a new one and repeating once', {
      method: description.method,
      path: description.path,
      attempt,
    });
    return send(await this.tokens.refresh(token, attempt));
  }

  private urlOf(spec: ApiCall<z.ZodType>): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    const query = params.toString();
    return `${this.baseUrl}${spec.path}${query ? `?${query}` : ''}`;
  }
}
