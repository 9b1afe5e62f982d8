/**
 * `HttpBynderClient`: the `BynderClient` the Bynder connector codes against, over HTTP.
 *
 * What it adds to the bare API (bynder-notes.md §3): a process-wide token cache and a
 * process-wide rate budget per portal (429 → every call pauses), tolerant parsing of answers
 * whose shape the sources disagree on, both upload flows and both file-service path readings,
 * the 303 "not converted yet" of a save polled and the save repeated, and never a bearer token
 * to storage. A save is never retried automatically (it is not idempotent): the connector
 * decides what a failed save means.
 */
import { logger } from '../../../observability/logger.js';
import type { BynderConfig } from '../config.js';
import { DEFAULT_BYNDER_TOKEN_PATH } from '../config.js';
import { BynderApiCaller } from './api-call.js';
import { BynderTokenSource, type BynderTokenCache } from './auth.js';
import { BynderError, BynderResponseError } from './errors.js';
import { errorFromResponse, isNoRouteMatched, bynderMessageOf, parseResponse, type BynderRequestEvent } from './http.js';
import { pollImport, type PollSettings } from './import-poll.js';
import { processRateBudget, type RateBudget, type ThrottleEvent } from './rate-budget.js';
import {
  AssetSchema,
  BrandListSchema,
  DownloadLocationSchema,
  MediaPageSchema,
  MetapropertyListSchema,
  OptionPageSchema,
  SaveResponseSchema,
} from './schemas.js';
import { getFromStorage } from './storage-request.js';
import type {
  BynderAsset,
  BynderBrand,
  BynderClient,
  BynderCredentialsProvider,
  BynderMetaproperty,
  BynderMetapropertyOption,
  BynderUpload,
  ListMediaQuery,
  MediaPage,
  SaveAssetRequest,
  SavedAsset,
  SaveVersionRequest,
  UploadSource,
} from './types.js';
import { FileServiceUpload, type FileServicePathsSwitch } from './upload-file-service.js';
import { LegacyUpload } from './upload-legacy.js';

export interface HttpBynderClientOptions {
  config: Pick<BynderConfig, 'portalUrl' | 'scopes' | 'uploadFlow' | 'fileServicePaths' | 'requestsPerSecond' | 'throttlePauseSeconds'> &
    Partial<Pick<BynderConfig, 'tokenUrl'>>;
  /** Client credentials or a permanent token; read lazily, cached by the provider. */
  credentials: BynderCredentialsProvider;
  /** Budget of one API exchange (ms). Default 30 s. */
  requestTimeoutMs?: number | undefined;
  /** Budget of one chunk or part exchange (ms). Default 120 s. */
  chunkTimeoutMs?: number | undefined;
  /** Longest pause of a download's body (ms). Default 60 s. */
  downloadIdleTimeoutMs?: number | undefined;
  /** Attempts of a retryable call (GETs, chunks), the first included. Default 4. */
  maxAttempts?: number | undefined;
  /** First backoff window (ms). Default 250. */
  baseDelayMs?: number | undefined;
  /** Cap of one backoff wait (ms). Default 5 s. */
  maxDelayMs?: number | undefined;
  /**
   * Polls of an import in one call (legacy: after finalise; a save: over all its 303s). Default
   * 20, about 90 s with the default waits; a wait that would outlast the deadline is not started.
   */
  maxPolls?: number | undefined;
  /** First wait before a poll (ms), doubling up to `maxPollDelayMs`. Defaults 1 s and 5 s. */
  firstPollDelayMs?: number | undefined;
  maxPollDelayMs?: number | undefined;
  /** Saves of one import at most, each after a 303 and its polls. Default 4. */
  maxSaveAttempts?: number | undefined;
  /** Chunk size of both upload flows (bytes, at most 5 MiB). Default 5 MiB. */
  chunkSizeBytes?: number | undefined;
  /** Seconds subtracted from `expires_in` before a token is renewed. Default 60. */
  tokenExpiryMarginSeconds?: number | undefined;
  /** Injected for tests; default the process-wide ones. */
  tokenCache?: BynderTokenCache | undefined;
  rateBudget?: RateBudget | undefined;
  now?: (() => number) | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  /** Every exchange (API, token, storage): metrics BynderApiCalls and BynderTokenRequests. */
  onRequest?: ((event: BynderRequestEvent) => void) | undefined;
  /** A 429, or a call refused while the portal is blocked: metric BynderThrottled. */
  onThrottled?: ((event: ThrottleEvent) => void) | undefined;
  /** The configured file-service paths answered 404 and the other reading worked. */
  onFileServicePathsSwitched?: ((event: FileServicePathsSwitch) => void) | undefined;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Select-type metaproperties carry options; free text, date and number ones do not. */
const SELECT_TYPE = /select|autocomplete/i;
const OPTIONS_PAGE_SIZE = 1000;
/**
 * A listing may carry only the first options of a property (50 is the API's default page), and
 * nothing says it was cut: a property listed with this many or more has its options paged in.
 */
const INLINE_OPTIONS_MAYBE_TRUNCATED_AT = 50;
/** A safety bound: 100 pages of 1,000 options. */
const MAX_OPTION_PAGES = 100;

/** Whole-second UTC (`2026-01-02T03:04:05Z`): the precision Bynder's dates have. */
export function toBynderDate(iso: string, field: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`listMedia: ${field} "${iso}" is not an ISO date`);
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export class HttpBynderClient implements BynderClient {
  private readonly caller: BynderApiCaller;
  private readonly fileService: FileServiceUpload;
  private readonly legacy: LegacyUpload;
  private readonly portalUrl: string;
  private readonly throttlePauseMs: number;
  private readonly poll: PollSettings;
  private readonly maxSaveAttempts: number;
  private readonly requestTimeoutMs: number;
  private readonly downloadIdleTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: HttpBynderClientOptions) {
    const { config } = options;
    this.portalUrl = config.portalUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
    const sleep = options.sleep ?? defaultSleep;
    this.throttlePauseMs = config.throttlePauseSeconds * 1000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.downloadIdleTimeoutMs = options.downloadIdleTimeoutMs ?? 60_000;
    const budget =
      options.rateBudget ??
      processRateBudget(this.portalUrl, {
        requestsPerSecond: config.requestsPerSecond,
        throttlePauseMs: this.throttlePauseMs,
        now: this.now,
        sleep,
      });
    const tokens = new BynderTokenSource({
      tokenUrl: config.tokenUrl ?? `${this.portalUrl}${DEFAULT_BYNDER_TOKEN_PATH}`,
      scope: config.scopes,
      credentials: options.credentials,
      tokenExpiryMarginSeconds: options.tokenExpiryMarginSeconds,
      requestTimeoutMs: this.requestTimeoutMs,
      throttlePauseMs: this.throttlePauseMs,
      budget,
      now: this.now,
      cache: options.tokenCache,
      onRequest: options.onRequest,
    });
    const maxAttempts = options.maxAttempts ?? 4;
    this.caller = new BynderApiCaller({
      portalUrl: this.portalUrl,
      tokens,
      budget,
      retry: { maxAttempts, baseDelayMs: options.baseDelayMs ?? 250, maxDelayMs: options.maxDelayMs ?? 5_000 },
      requestTimeoutMs: this.requestTimeoutMs,
      throttlePauseMs: this.throttlePauseMs,
      now: this.now,
      sleep,
      random: options.random ?? Math.random,
      onRequest: options.onRequest,
      onThrottled: options.onThrottled,
    });
    this.poll = {
      maxPolls: options.maxPolls ?? 20,
      firstDelayMs: options.firstPollDelayMs ?? 1_000,
      maxDelayMs: options.maxPollDelayMs ?? 5_000,
    };
    this.maxSaveAttempts = options.maxSaveAttempts ?? 4;
    this.fileService = new FileServiceUpload({
      caller: this.caller,
      portalUrl: this.portalUrl,
      configuredPaths: config.fileServicePaths,
      chunkSizeBytes: options.chunkSizeBytes,
      throttlePauseMs: this.throttlePauseMs,
      onFileServicePathsSwitched: options.onFileServicePathsSwitched,
    });
    this.legacy = new LegacyUpload({
      caller: this.caller,
      storage: { requestTimeoutMs: options.chunkTimeoutMs ?? 120_000, now: this.now, onRequest: options.onRequest },
      maxAttempts,
      poll: this.poll,
      throttlePauseMs: this.throttlePauseMs,
      chunkSizeBytes: options.chunkSizeBytes,
    });
  }

  async listBrands(): Promise<BynderBrand[]> {
    return this.getJson('/api/v4/brands/', undefined, BrandListSchema);
  }

  async listMetaproperties(): Promise<BynderMetaproperty[]> {
    const listed = await this.getJson('/api/v4/metaproperties/', undefined, MetapropertyListSchema);
    const out: BynderMetaproperty[] = [];
    for (const property of listed) {
      const selectType = property.type !== undefined && SELECT_TYPE.test(property.type);
      const maybeTruncated = property.options.length >= INLINE_OPTIONS_MAYBE_TRUNCATED_AT;
      if ((property.options.length === 0 && selectType) || maybeTruncated) {
        const paged = await this.listOptions(property.id);
        const pagedIds = new Set(paged.map((o) => o.id));
        out.push({ ...property, options: [...paged, ...property.options.filter((o) => !pagedIds.has(o.id))] });
      } else {
        out.push(property);
      }
    }
    return out;
  }

  async listMedia(query: ListMediaQuery): Promise<MediaPage> {
    const params = new URLSearchParams();
    const set = (name: string, value: string | number | undefined) => {
      if (value !== undefined && value !== '') params.set(name, String(value));
    };
    set('brandId', query.brandId);
    set('keyword', query.keyword);
    set('tags', query.tags);
    if (query.dateModified !== undefined) set('dateModified', toBynderDate(query.dateModified, 'dateModified'));
    if (query.dateModifiedTo !== undefined) set('dateModifiedTo', toBynderDate(query.dateModifiedTo, 'dateModifiedTo'));
    set('orderBy', query.orderBy);
    set('limit', query.limit);
    set('page', query.page);
    if (query.total) params.set('total', '1');
    return this.getJson('/api/v4/media/', params, MediaPageSchema);
  }

  async getMedia(id: string, options?: { versions?: boolean | undefined }): Promise<BynderAsset | undefined> {
    const path = `/api/v4/media/${encodeURIComponent(id)}/`;
    const query = options?.versions ? new URLSearchParams({ versions: '1' }) : undefined;
    const response = await this.caller.call({ method: 'GET', path, query, retry: 'transient', accept: [404] });
    if (response.status === 404) {
      // "Media not found" means gone; "no Route matched" means a wrong portal or path: an operator's error.
      if (isNoRouteMatched(404, bynderMessageOf('api', response.text))) {
        throw errorFromResponse({ method: 'GET', path }, 'api', response, this.throttlePauseMs);
      }
      return undefined;
    }
    return parseResponse({ method: 'GET', path }, 'api', response, AssetSchema);
  }

  async startUpload(fileName: string): Promise<BynderUpload> {
    return this.options.config.uploadFlow === 'legacy' ? this.legacy.start(fileName) : this.fileService.prepare();
  }

  async sendUpload(upload: BynderUpload, source: UploadSource): Promise<{ importId: string }> {
    return upload.flow === 'legacy' ? this.legacy.send(upload, source) : this.fileService.send(upload, source);
  }

  async saveAsNewAsset(request: SaveAssetRequest): Promise<SavedAsset> {
    const form = new URLSearchParams({ brandId: request.brandId, name: request.name });
    if (request.description !== undefined) form.set('description', request.description);
    if (request.tags !== undefined && request.tags.length > 0) form.set('tags', request.tags.join(','));
    for (const [propertyId, optionIds] of Object.entries(request.metaproperties)) {
      if (optionIds.length > 0) form.set(`metaproperty.${propertyId}`, optionIds.join(','));
    }
    return this.save(`/api/v4/media/save/${encodeURIComponent(request.importId)}`, form, request.importId, undefined);
  }

  async saveAsNewVersion(request: SaveVersionRequest): Promise<SavedAsset> {
    const path = `/api/v4/media/${encodeURIComponent(request.mediaId)}/save/${encodeURIComponent(request.importId)}`;
    return this.save(path, new URLSearchParams(), request.importId, request.mediaId);
  }

  async getDownloadUrl(mediaId: string, options?: { version?: number | undefined; itemId?: string | undefined }): Promise<string> {
    const id = encodeURIComponent(mediaId);
    const path =
      options?.itemId !== undefined
        ? `/api/v4/media/${id}/download/${encodeURIComponent(options.itemId)}/`
        : options?.version !== undefined
          ? `/api/v4/media/${id}/${options.version}/download/`
          : `/api/v4/media/${id}/download/`;
    const location = await this.getJson(path, undefined, DownloadLocationSchema);
    return location.s3_file;
  }

  async download(
    url: string,
  ): Promise<{ body: import('node:stream').Readable; contentLength?: number | undefined; contentType?: string | undefined }> {
    return getFromStorage(url, {
      requestTimeoutMs: this.requestTimeoutMs,
      bodyTimeoutMs: this.downloadIdleTimeoutMs,
      now: this.now,
      onRequest: this.options.onRequest,
    });
  }

  private async getJson<S extends Parameters<typeof parseResponse>[3]>(path: string, query: URLSearchParams | undefined, schema: S) {
    const response = await this.caller.call({ method: 'GET', path, query, retry: 'transient' });
    return parseResponse({ method: 'GET', path }, 'api', response, schema);
  }

  private async listOptions(propertyId: string): Promise<BynderMetapropertyOption[]> {
    const path = `/api/v4/metaproperties/${encodeURIComponent(propertyId)}/options/`;
    const options: BynderMetapropertyOption[] = [];
    for (let page = 1; page <= MAX_OPTION_PAGES; page++) {
      const query = new URLSearchParams({ limit: String(OPTIONS_PAGE_SIZE), page: String(page) });
      const batch = await this.getJson(path, query, OptionPageSchema);
      options.push(...batch);
      if (batch.length < OPTIONS_PAGE_SIZE) break;
    }
    return options;
  }

  /**
   * Sends a save once; a 303 ("import not converted yet") created nothing, so after polling
   * the import the same save is sent again, a bounded number of times. Any other failure,
   * 5xx and lost answers included, is thrown: a blind repeat could create a duplicate.
   */
  private async save(path: string, form: URLSearchParams, importId: string, mediaId: string | undefined): Promise<SavedAsset> {
    const description = { method: 'POST', path };
    let polls = 0;
    let saves = 0;
    for (let attempt = 1; attempt <= this.maxSaveAttempts; attempt++) {
      saves = attempt;
      const response = await this.caller.call({ method: 'POST', path, form, retry: 'never', accept: [303] });
      if (response.status !== 303) return this.savedAssetOf(description, response, mediaId);
      if (attempt === this.maxSaveAttempts) break;
      const pollsLeft = this.poll.maxPolls - polls;
      if (pollsLeft <= 0) break;
      const polled = await pollImport(this.caller, importId, { ...this.poll, maxPolls: pollsLeft });
      polls += polled.polls;
      if (polled.state === 'failed') {
        throw new BynderError(
          `Bynder POST ${path} answered 303 and the poll lists import ${importId} as failed — Bynder could not process the file; it will not succeed on retry as is`,
          'permanent',
          description,
        );
      }
      logger.debug('Bynder save answered 303 (not converted yet); polled, saving again', { importId, state: polled.state, polls });
    }
    // Not a BynderApiError with status 303: a 3xx is no refusal, and nothing was created.
    throw new BynderError(
      `Bynder POST ${path} still answered 303 "Import not converted yet" after ${saves} saves and ${polls} polls — ` +
        'transient: nothing was created; save again later',
      'transient',
      description,
    );
  }

  private savedAssetOf(
    description: { method: string; path: string },
    response: { status: number; text: string },
    mediaId: string | undefined,
  ): SavedAsset {
    const body = parseResponse(description, 'api', response, SaveResponseSchema);
    const id = body.mediaid ?? body.mediaId ?? mediaId;
    if (id === undefined) {
      throw new BynderResponseError(
        `Bynder ${description.method} ${description.path} answered ${response.status} without a mediaid — the asset may exist: look it up before saving again`,
        description,
        ['mediaid: missing'],
      );
    }
    const mediaItemId = body.mediaitems?.find((item) => item.id !== undefined)?.id;
    return { mediaId: id, ...(mediaItemId !== undefined ? { mediaItemId } : {}) };
  }
}
