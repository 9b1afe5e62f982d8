/**
 * The iBinder File API over HTTP: every endpoint of the reference table, typed, each answer
 * validated with its zod schema.
 *
 * - Every API call carries `Authorization: Bearer` and `x-ibinder-tenantid`, the presign call
 *   included (discrepancy C: the introduction says every request needs the tenant).
 * - A 401 refreshes the token once and repeats the request once; a second 401 is an `auth`
 *   error that tells the operator what to check.
 * - All API calls here are reads or the upload commit, which is idempotent by `uploadId`, so
 *   all of them are retried on 429/5xx/408/timeouts/network errors. `putPresigned` sends once:
 *   its body stream is consumed, so the destination (shared/connectors/ibinder/destination.ts)
 *   retries the transfer with a fresh stream, and a fresh presign when the URL was refused.
 * - A 403 is confirmed with the tenant-wide `GET /binders` before it counts as a refusal of one
 *   binder or folder; refused there too, it is an operator (`auth`) problem.
 * - Presigned storage URLs get neither the bearer token nor the tenant header.
 */
import type * as z from '../../../validation/zod.js';
import { logger, redactUrl } from '../../../observability/logger.js';
import { TokenSource, type TokenCache } from './auth.js';
import { IBinderApiError, IBinderError, IBinderNetworkError, type RequestDescription } from './errors.js';
import {
  PresignedStorageError,
  errorFromResponse,
  exchangeStream,
  exchangeText,
  parseResponse,
  pathOf,
  readText,
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
  /** Cap of a single backoff wait; a `Retry-After` is never cut short (retry.ts). Default 20 s. */
  maxDelayMs?: number;
  /** Least wait after a 429 without `Retry-After`. Default 2 s. */
  rateLimitFloorMs?: number;
  /** Jitter source, uniform in [0, 1). */
  random?: () => number;
  /** Token cache; default the process-wide `processTokenCache`. */
  tokenCache?: TokenCache;
  /** Which download-link path works, per API base URL; default the process-wide memory. */
  downloadLinkRoutes?: DownloadLinkRouteMemory;
  /** How long a verdict of the tenant-wide check behind a 403 is kept (ms). Default 60 s. */
  tenantCheckTtlMs?: number;
}

/** How long the answer of the tenant-wide `GET /binders` check behind a 403 is reused. */
export const DEFAULT_TENANT_CHECK_TTL_MS = 60_000;

/**
 * The retry policy of API calls, from the client's options and the defaults. Exported so that
 * a step built on the client (the destination's storage transfer) retries under the same
 * backoff, budget and deadline as the API calls do.
 */
export function retryPolicyFrom(
  options: Pick<
    HttpIBinderClientOptions,
    'maxAttempts' | 'maxRetryTimeMs' | 'baseDelayMs' | 'maxDelayMs' | 'rateLimitFloorMs' | 'now' | 'sleep' | 'random'
  > = {},
): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    maxRetryTimeMs: options.maxRetryTimeMs ?? DEFAULT_MAX_RETRY_TIME_MS,
    baseDelayMs: options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
    maxDelayMs: options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    rateLimitFloorMs: options.rateLimitFloorMs ?? DEFAULT_RATE_LIMIT_FLOOR_MS,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
  };
}

export type DownloadLinkRoute = 'raw' | 'downloadlink';

/** What the tenant-wide `GET /binders` said behind a 403. */
type TenantVerdict = 'allowed' | 'refused' | { unavailable: string };
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

interface ApiCall<S extends z.core.$ZodType> {
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
  private readonly tenantCheckTtlMs: number;
  /** The last verdict of the tenant-wide check, shared by concurrent 403s while it is fresh. */
  private tenantCheck: { verdict: Promise<TenantVerdict>; checkedAt: number } | undefined;

  constructor(private readonly options: HttpIBinderClientOptions) {
    this.baseUrl = options.apiBaseUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    this.downloadLinkRoutes = options.downloadLinkRoutes ?? processDownloadLinkRoutes;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.transferIdleTimeoutMs = options.transferIdleTimeoutMs ?? DEFAULT_TRANSFER_IDLE_TIMEOUT_MS;
    this.retryPolicy = retryPolicyFrom({ ...options, now: this.now });
    this.tenantCheckTtlMs = options.tenantCheckTtlMs ?? DEFAULT_TENANT_CHECK_TTL_MS;
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
   * for the process. When the remembered path starts to answer 404 or 405 (the API moved it),
   * the other one is probed again and, if it answers, remembered instead: a process never keeps
   * failing every link until it restarts. A 404 from both means the version does not exist:
   * the 404 of the path tried first is thrown, and the memory is left as it was.
   */
  async getDownloadLink(documentId: string, versionId: string): Promise<DownloadLink> {
    const versionPath = `/documents/${seg(documentId)}/versions/${seg(versionId)}`;
    const fetchVia = (route: DownloadLinkRoute): Promise<DownloadLink> =>
      this.call({ method: 'GET', path: `${versionPath}/${route}`, schema: DownloadLinkSchema });

    const known = this.downloadLinkRoutes.get(this.baseUrl);
    const first: DownloadLinkRoute = known ?? 'raw';
    const second: DownloadLinkRoute = first === 'raw' ? 'downloadlink' : 'raw';

    let firstError: IBinderApiError;
    try {
      const link = await fetchVia(first);
      if (known === undefined) this.downloadLinkRoutes.set(this.baseUrl, first);
      return link;
    } catch (err) {
      if (!(err instanceof IBinderApiError) || (err.status !== 404 && err.status !== 405)) throw err;
      firstError = err;
    }
    try {
      const link = await fetchVia(second);
      this.downloadLinkRoutes.set(this.baseUrl, second);
      const message =
        known === undefined
          ? `iBinder download links answer at /${second}, not /${first}; remembered for this process`
          : `iBinder download links moved: the remembered /${first} answered ${firstError.status}, /${second} answers; remembered /${second} instead`;
      (known === undefined ? logger.debug : logger.info).call(logger, message, {
        path: `${versionPath}/${first}`,
        status: firstError.status,
      });
      return link;
    } catch (err) {
      if (err instanceof IBinderApiError && err.status === 404) {
        // 404 and 404: the version is not there. 405 and 404: the first path is not routed, so
        // the second one's answer is the meaningful one.
        throw firstError.status === 404 ? firstError : err;
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
        const text = await readText(response.body).catch(() => '');
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

  /**
   * One API call: retried as a whole, each attempt authorised and validated. A 403 is first
   * classified (`classifyForbidden`): a refusal about this binder or folder stays permanent,
   * a refusal of the whole tenant becomes an operator (`auth`) error.
   */
  private async call<S extends z.core.$ZodType>(spec: ApiCall<S>): Promise<z.output<S>> {
    const description: RequestDescription = { method: spec.method, path: spec.path };
    const url = this.urlOf(spec);
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    try {
      return await withRetries(description, this.retryPolicy, async (attempt) => {
        const response = await this.authorisedExchange(description, url, body, attempt);
        if (response.status < 200 || response.status >= 300) {
          throw errorFromResponse(description, 'api', response, this.now());
        }
        return parseResponse(description, 'api', response, spec.schema);
      });
    } catch (err) {
      if (err instanceof IBinderApiError && err.status === 403 && err.kind === 'permanent') throw await this.classifyForbidden(err);
      throw err;
    }
  }

  /**
   * A 403 means either "not this binder or folder" (the file's problem: reject it) or "not this
   * tenant at all" (a wrong tenant id or an API client without rights: every call is refused,
   * an operator problem that must be retried and alarmed like a wrong secret, never turned into
   * rejections). The tenant-wide `GET /binders` tells them apart; its verdict is kept for
   * `tenantCheckTtlMs`, so a burst of 403s costs one check. `GET /binders` refused itself is
   * the tenant-wide case without a second call. When the check cannot be made (iBinder
   * unavailable), the 403 is handed back as transient: a file is never rejected on a guess.
   */
  private async classifyForbidden(err: IBinderApiError): Promise<IBinderApiError> {
    const tenantWide = err.request.method === 'GET' && err.request.path === '/binders';
    const verdict = tenantWide ? 'refused' : await this.tenantVerdict();
    if (verdict === 'allowed') return err;
    const reason =
      verdict === 'refused'
        ? tenantWide
          ? 'the tenant-wide GET /binders itself is refused'
          : 'the tenant-wide GET /binders is refused too'
        : `the tenant-wide check GET /binders could not be made (${verdict.unavailable})`;
    const kind = verdict === 'refused' ? 'auth' : 'transient';
    const advice =
      verdict === 'refused'
        ? `an operator problem, not the file's: check the environment's tenant id (sent as x-ibinder-tenantid: ${this.options.tenantId}) ` +
          "and the API client's access rights to that organisation; retried, and alarmed through the dead-letter queue"
        : 'transient: retried, so that a file is not rejected before the refusal is understood';
    logger.warn('iBinder answered 403; classified with the tenant-wide check', {
      method: err.request.method,
      path: err.request.path,
      traceId: err.traceId,
      verdict: typeof verdict === 'string' ? verdict : 'unavailable',
      kind,
    });
    return new IBinderApiError(
      `${err.message.split(' — ')[0] ?? err.message}; ${reason} — ${advice}`,
      kind,
      err.request,
      err.status,
      err.title,
      err.fieldErrors,
      err.traceId,
      err.retryAfterMs,
    );
  }

  /** The tenant-wide check's verdict, fresh or from the last `tenantCheckTtlMs`. */
  private tenantVerdict(): Promise<TenantVerdict> {
    const cached = this.tenantCheck;
    if (cached && this.now() - cached.checkedAt < this.tenantCheckTtlMs) return cached.verdict;
    const verdict = this.listBinders().then(
      (): TenantVerdict => 'allowed',
      (checkErr: unknown): TenantVerdict => {
        // Refused outright (403, 401 after a refresh, any other 4xx): the tenant is the problem.
        if (checkErr instanceof IBinderError && checkErr.kind !== 'transient') return 'refused';
        // An unavailable check is not remembered: the next 403 asks again.
        this.tenantCheck = undefined;
        return { unavailable: checkErr instanceof Error ? checkErr.name : 'unknown error' };
      },
    );
    this.tenantCheck = { verdict, checkedAt: this.now() };
    return verdict;
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

  private urlOf(spec: ApiCall<z.core.$ZodType>): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    const query = params.toString();
    return `${this.baseUrl}${spec.path}${query ? `?${query}` : ''}`;
  }
}
