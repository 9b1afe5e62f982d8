/**
 * An in-memory Bynder portal behind the BynderClient interface, for the export's unit tests.
 * It behaves as the published sources allow a portal to: dates of one-second precision, a
 * `dateModified` filter that is strict or inclusive (both readings of "modified after"), a
 * `dateModifiedTo` bound, `orderBy=dateModified asc` with a stable order among ties, offset
 * paging (`limit`, `page`) evaluated afresh at every call, `total` when asked, 404 (undefined)
 * for deleted assets, and short-lived download locations that storage refuses with 403 once
 * expired. Every call is recorded; faults are queued per method; a hook runs before each list
 * call so a test can change the portal while a run pages through it.
 */
import { Readable } from 'node:stream';
import type {
  BynderAsset,
  BynderBrand,
  BynderClient,
  BynderMediaItem,
  BynderMetaproperty,
  ListMediaQuery,
  MediaPage,
} from '../../shared/connectors/bynder/client/types.js';

/** An HTTP refusal as the client would throw it (it carries `status`, like the client's BynderApiError). */
export class FakeBynderStatusError extends Error {
  override readonly name = 'FakeBynderStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface FakeVersionSpec {
  version: number;
  content: string;
  fileName?: string;
  active?: boolean;
  id?: string;
}

export interface FakeAssetSpec {
  id: string;
  brandId?: string;
  name?: string;
  /** Whole-second ISO date; default the portal's clock. */
  dateModified?: string;
  dateCreated?: string;
  tags?: string[];
  propertyOptions?: string[];
  properties?: Record<string, string[]>;
  extension?: string[];
  versions?: FakeVersionSpec[];
}

interface StoredAsset {
  asset: Omit<BynderAsset, 'mediaItems' | 'activeVersion' | 'dateModified'>;
  modifiedMs: number;
  items: (BynderMediaItem & { content: string })[];
  deleted: boolean;
}

export interface FakeBynderPortalOptions {
  /** Reading of `dateModified`: `strict` (after) or `inclusive` (at or after). Default strict. */
  dateModifiedFilter?: 'strict' | 'inclusive';
  /** Reading of `dateModifiedTo`: `inclusive` (default) or `strict` (before). */
  dateModifiedToFilter?: 'strict' | 'inclusive';
  /** Most assets a page serves, whatever `limit` asks. Default 1000. */
  maxLimit?: number;
  /** Whether `total=1` is answered. Default true. */
  answersTotal?: boolean;
  /** Ignore `orderBy` and serve in id order. */
  ignoresOrder?: boolean;
  /** Ignore `page`: every call serves the first page. */
  ignoresPage?: boolean;
  brands?: BynderBrand[];
  metaproperties?: BynderMetaproperty[];
  /** The portal's clock at the start (ms). */
  nowMs?: number;
}

export interface RecordedCall {
  method: keyof BynderClient;
  args: unknown[];
}

export class FakeBynderPortal implements BynderClient {
  readonly calls: RecordedCall[] = [];
  nowMs: number;
  /** Runs before each list call (1-based call number) and may change the portal. */
  beforeList: ((call: number, query: ListMediaQuery) => void) | undefined;
  /** Runs after each list call with what it answered (a test may delete a listed asset here). */
  afterList: ((call: number, page: MediaPage) => void) | undefined;
  /** The next `n` download locations handed out are already expired. */
  expireNextLocations = 0;
  private readonly assets = new Map<string, StoredAsset>();
  private readonly faults = new Map<keyof BynderClient, unknown[]>();
  private readonly expired = new Set<string>();
  private readonly issued = new Map<string, { assetId: string; content: string; used: boolean }>();
  private locationCounter = 0;
  private listCallCount = 0;

  constructor(private readonly options: FakeBynderPortalOptions = {}) {
    this.nowMs = options.nowMs ?? Date.parse('2026-12-01T00:00:00Z');
  }

  // ---- portal state ----

  addAsset(spec: FakeAssetSpec): void {
    const modifiedMs = spec.dateModified !== undefined ? Date.parse(spec.dateModified) : this.nowMs;
    const versions = spec.versions ?? [{ version: 1, content: `content of ${spec.id} v1` }];
    const activeVersion = Math.max(...versions.map((v) => v.version));
    this.assets.set(spec.id, {
      asset: {
        id: spec.id,
        name: spec.name ?? `asset ${spec.id}`,
        brandId: spec.brandId ?? 'brand-1',
        extension: spec.extension ?? ['pdf'],
        dateCreated: spec.dateCreated ?? isoSecond(modifiedMs),
        tags: spec.tags ?? [],
        propertyOptions: spec.propertyOptions ?? [],
        properties: spec.properties ?? {},
        archive: false,
      },
      modifiedMs: floorSecond(modifiedMs),
      items: versions.map((v) => ({
        id: v.id ?? `${spec.id}-item-${v.version}`,
        fileName: v.fileName ?? `${spec.id}.pdf`,
        version: v.version,
        active: v.active ?? v.version === activeVersion,
        size: Buffer.byteLength(v.content),
        dateCreated: isoSecond(modifiedMs),
        content: v.content,
      })),
      deleted: false,
    });
  }

  /** Any change to the asset (metadata or a new version) stamps dateModified with the clock. */
  touch(id: string, atMs: number = this.nowMs): void {
    this.stored(id).modifiedMs = floorSecond(atMs);
  }

  addVersion(id: string, content: string, atMs: number = this.nowMs): void {
    const stored = this.stored(id);
    const version = Math.max(0, ...stored.items.map((i) => i.version)) + 1;
    for (const item of stored.items) item.active = false;
    stored.items.push({
      id: `${id}-item-${version}`,
      fileName: `${id}.pdf`,
      version,
      active: true,
      size: Buffer.byteLength(content),
      dateCreated: isoSecond(atMs),
      content,
    });
    this.touch(id, atMs);
  }

  delete(id: string): void {
    this.stored(id).deleted = true;
  }

  failNext(method: keyof BynderClient, error: unknown): void {
    const queue = this.faults.get(method) ?? [];
    queue.push(error);
    this.faults.set(method, queue);
  }

  callsOf(method: keyof BynderClient): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Locations handed out and whether each was downloaded. */
  get issuedLocations(): { url: string; used: boolean }[] {
    return [...this.issued.entries()].map(([url, l]) => ({ url, used: l.used }));
  }

  // ---- BynderClient ----

  async listBrands(): Promise<BynderBrand[]> {
    this.record('listBrands', []);
    return this.options.brands ?? [{ id: 'brand-1', name: 'Brand One', subBrands: [] }];
  }

  async listMetaproperties(): Promise<BynderMetaproperty[]> {
    this.record('listMetaproperties', []);
    return this.options.metaproperties ?? [];
  }

  async listMedia(query: ListMediaQuery): Promise<MediaPage> {
    this.listCallCount++;
    this.beforeList?.(this.listCallCount, query);
    this.record('listMedia', [{ ...query }]);
    const from = query.dateModified !== undefined ? Date.parse(query.dateModified) : undefined;
    const to = query.dateModifiedTo !== undefined ? Date.parse(query.dateModifiedTo) : undefined;
    const strictFrom = (this.options.dateModifiedFilter ?? 'strict') === 'strict';
    const strictTo = (this.options.dateModifiedToFilter ?? 'inclusive') === 'strict';
    const matching = [...this.assets.values()].filter((s) => {
      if (s.deleted) return false;
      if (query.brandId !== undefined && s.asset.brandId !== query.brandId) return false;
      if (from !== undefined && (strictFrom ? s.modifiedMs <= from : s.modifiedMs < from)) return false;
      if (to !== undefined && (strictTo ? s.modifiedMs >= to : s.modifiedMs > to)) return false;
      return true;
    });
    const byDate = !this.options.ignoresOrder && query.orderBy === 'dateModified asc';
    matching.sort((a, b) => (byDate ? a.modifiedMs - b.modifiedMs : 0) || a.asset.id.localeCompare(b.asset.id));
    const limit = Math.min(query.limit ?? 50, this.options.maxLimit ?? 1000);
    const page = this.options.ignoresPage ? 1 : (query.page ?? 1);
    const media = matching.slice((page - 1) * limit, page * limit).map((s) => this.view(s, false));
    const answer = {
      media,
      ...(query.total && (this.options.answersTotal ?? true) ? { total: matching.length } : {}),
    };
    this.afterList?.(this.listCallCount, answer);
    return answer;
  }

  async getMedia(id: string, options?: { versions?: boolean | undefined }): Promise<BynderAsset | undefined> {
    this.record('getMedia', [id, options]);
    const stored = this.assets.get(id);
    if (!stored || stored.deleted) return undefined;
    return this.view(stored, options?.versions === true);
  }

  async getDownloadUrl(mediaId: string, options?: { version?: number | undefined; itemId?: string | undefined }): Promise<string> {
    this.record('getDownloadUrl', [mediaId, options]);
    const stored = this.assets.get(mediaId);
    if (!stored || stored.deleted)
      throw new FakeBynderStatusError(404, `GET /api/v4/media/${mediaId}/download/ answered 404 "Media not found"`);
    const item =
      options?.itemId !== undefined
        ? stored.items.find((i) => i.id === options.itemId)
        : options?.version !== undefined
          ? stored.items.find((i) => i.version === options.version)
          : stored.items.find((i) => i.active);
    if (!item) throw new FakeBynderStatusError(404, `GET /api/v4/media/${mediaId}/download/ answered 404 "Item not found"`);
    const url = `https://storage.test/${mediaId}/${item.id}?X-Amz-Signature=sig-${++this.locationCounter}`;
    this.issued.set(url, { assetId: mediaId, content: item.content, used: false });
    if (this.expireNextLocations > 0) {
      this.expireNextLocations--;
      this.expired.add(url);
    }
    return url;
  }

  async download(url: string): Promise<{ body: Readable; contentLength?: number | undefined; contentType?: string | undefined }> {
    this.record('download', [url]);
    const location = this.issued.get(url);
    if (!location) throw new FakeBynderStatusError(403, 'GET storage.test answered 403 (a location the portal never handed out)');
    if (location.used) throw new FakeBynderStatusError(403, 'GET storage.test answered 403 (a location used twice)');
    location.used = true;
    if (this.expired.has(url)) throw new FakeBynderStatusError(403, 'GET storage.test answered 403 "Request has expired"');
    const bytes = Buffer.from(location.content);
    return { body: Readable.from([bytes]), contentLength: bytes.length, contentType: 'application/pdf' };
  }

  async startUpload(): Promise<never> {
    throw new Error('the export fake does not upload');
  }
  async sendUpload(): Promise<never> {
    throw new Error('the export fake does not upload');
  }
  async saveAsNewAsset(): Promise<never> {
    throw new Error('the export fake does not upload');
  }
  async saveAsNewVersion(): Promise<never> {
    throw new Error('the export fake does not upload');
  }

  // ---- internals ----

  private record(method: keyof BynderClient, args: unknown[]): void {
    this.calls.push({ method, args });
    const fault = this.faults.get(method)?.shift();
    if (fault !== undefined) throw fault;
  }

  private stored(id: string): StoredAsset {
    const stored = this.assets.get(id);
    if (!stored) throw new Error(`fake portal has no asset ${id}`);
    return stored;
  }

  private view(stored: StoredAsset, versions: boolean): BynderAsset {
    const active = stored.items.find((i) => i.active);
    return {
      ...stored.asset,
      tags: [...stored.asset.tags],
      dateModified: isoSecond(stored.modifiedMs),
      ...(active ? { activeVersion: active.version, fileSize: active.size } : {}),
      ...(versions ? { mediaItems: stored.items.map(({ content: _content, ...item }) => ({ ...item })) } : {}),
    };
  }
}

function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function isoSecond(ms: number): string {
  return `${new Date(floorSecond(ms)).toISOString().slice(0, 19)}Z`;
}
