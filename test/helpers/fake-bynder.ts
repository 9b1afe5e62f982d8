/**
 * An in-memory BynderClient for unit tests: brands, metaproperties with options, assets with
 * versions (mediaItems), uploads in either flow whose bytes are read as streams, saves that are
 * NOT idempotent (each one creates an asset or a version, like Bynder's), a tag and keyword
 * search with an optional lag, and faults queued per method, thrown before or after the call
 * takes effect (a lost response). Every call is recorded so tests can assert what was sent.
 */
import type { Readable } from 'node:stream';
import { BynderApiError, kindOfBynderStatus } from '../../shared/connectors/bynder/client/errors.js';
import type {
  BynderAsset,
  BynderBrand,
  BynderClient,
  BynderMetaproperty,
  BynderUpload,
  ListMediaQuery,
  MediaPage,
  SaveAssetRequest,
  SavedAsset,
  SaveVersionRequest,
  UploadSource,
} from '../../shared/connectors/bynder/client/types.js';

type Method = keyof BynderClient;

export interface FakeFault {
  error: unknown;
  /** True: the call takes effect, then the error is thrown (the response was lost). */
  afterEffect?: boolean;
}

export interface FakeBynderOptions {
  brands?: BynderBrand[];
  metaproperties?: BynderMetaproperty[];
  assets?: BynderAsset[];
  flow?: BynderUpload['flow'];
  /** Clock for dateCreated (default: real time). */
  now?: () => Date;
}

export interface RecordedCall {
  method: Method;
  args: unknown[];
}

export class FakeBynder implements BynderClient {
  brandList: BynderBrand[];
  metapropertyList: BynderMetaproperty[];
  readonly assets = new Map<string, BynderAsset>();
  readonly calls: RecordedCall[] = [];
  /** Assets the search does not show yet (Bynder's index lags a save). */
  readonly unindexed = new Set<string>();
  /** When true, newly saved assets start out unindexed. */
  searchLags = false;
  flow: BynderUpload['flow'];
  private readonly faults = new Map<Method, FakeFault[]>();
  private readonly imports = new Map<string, { size: number; fileName: string; bytes: number }>();
  private counter = 0;
  private readonly now: () => Date;

  constructor(options: FakeBynderOptions = {}) {
    this.brandList = options.brands ?? [];
    this.metapropertyList = options.metaproperties ?? [];
    for (const asset of options.assets ?? []) this.assets.set(asset.id, asset);
    this.flow = options.flow ?? 'file-service';
    this.now = options.now ?? (() => new Date());
  }

  /** Queues a fault for the next call of `method`. */
  failNext(method: Method, fault: FakeFault): void {
    const queue = this.faults.get(method) ?? [];
    queue.push(fault);
    this.faults.set(method, queue);
  }

  /** A BynderApiError as the client throws it. */
  static apiError(status: number, bynderMessage?: string, path = '/api/v4/media/save/x', correlationId = 'corr-1'): BynderApiError {
    return new BynderApiError(
      `POST ${path} answered ${status}${bynderMessage ? `: ${bynderMessage}` : ''}`,
      kindOfBynderStatus(status),
      { method: 'POST', path },
      status,
      bynderMessage,
      correlationId,
    );
  }

  callsOf(method: Method): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async listBrands(): Promise<BynderBrand[]> {
    return this.run('listBrands', [], () => structuredClone(this.brandList));
  }

  async listMetaproperties(): Promise<BynderMetaproperty[]> {
    return this.run('listMetaproperties', [], () => structuredClone(this.metapropertyList));
  }

  async listMedia(query: ListMediaQuery): Promise<MediaPage> {
    return this.run('listMedia', [query], () => {
      const limit = query.limit ?? 50;
      const page = query.page ?? 1;
      const matching = [...this.assets.values()].filter(
        (a) =>
          !this.unindexed.has(a.id) &&
          (query.brandId === undefined || a.brandId === query.brandId) &&
          (query.keyword === undefined || a.name.toLowerCase().includes(query.keyword.toLowerCase())) &&
          (query.tags === undefined || a.tags.some((t) => t.toLowerCase() === query.tags?.toLowerCase())),
      );
      return { media: structuredClone(matching.slice((page - 1) * limit, page * limit)) };
    });
  }

  async getMedia(id: string, options?: { versions?: boolean | undefined }): Promise<BynderAsset | undefined> {
    return this.run('getMedia', [id, options], () => {
      const asset = this.assets.get(id);
      if (!asset) return undefined;
      const copy = structuredClone(asset);
      if (!options?.versions) delete copy.mediaItems;
      return copy;
    });
  }

  async startUpload(fileName: string): Promise<BynderUpload> {
    return this.run('startUpload', [fileName], () => ({ uploadId: `upload-${this.next()}`, flow: this.flow }));
  }

  async sendUpload(upload: BynderUpload, source: UploadSource): Promise<{ importId: string }> {
    return this.runAsync('sendUpload', [upload, { size: source.size, fileName: source.fileName }], async () => {
      const bytes = await countBytes(await source.open());
      const importId = upload.flow === 'legacy' ? `import-${this.next()}` : upload.uploadId;
      this.imports.set(importId, { size: source.size, fileName: source.fileName, bytes });
      return { importId };
    });
  }

  async saveAsNewAsset(request: SaveAssetRequest): Promise<SavedAsset> {
    return this.run('saveAsNewAsset', [request], () => {
      const file = this.importOf(request.importId, '/api/v4/media/save/');
      const id = `asset-${this.next()}`;
      const itemId = `item-${this.next()}`;
      this.assets.set(id, {
        id,
        name: request.name,
        description: request.description,
        brandId: request.brandId,
        extension: [],
        tags: [...(request.tags ?? [])],
        propertyOptions: Object.values(request.metaproperties).flat(),
        properties: {},
        archive: false,
        dateCreated: this.now().toISOString(),
        mediaItems: [
          { id: itemId, fileName: file.fileName, version: 1, active: true, size: file.size, dateCreated: this.now().toISOString() },
        ],
      });
      if (this.searchLags) this.unindexed.add(id);
      return { mediaId: id, mediaItemId: itemId };
    });
  }

  async saveAsNewVersion(request: SaveVersionRequest): Promise<SavedAsset> {
    return this.run('saveAsNewVersion', [request], () => {
      const path = `/api/v4/media/${request.mediaId}/save/${request.importId}`;
      const asset = this.assets.get(request.mediaId);
      if (!asset) throw FakeBynder.apiError(404, 'Media not found', path);
      const file = this.importOf(request.importId, path);
      const items = asset.mediaItems ?? [];
      for (const item of items) item.active = false;
      const itemId = `item-${this.next()}`;
      const version = Math.max(0, ...items.map((i) => i.version)) + 1;
      items.push({ id: itemId, fileName: file.fileName, version, active: true, size: file.size, dateCreated: this.now().toISOString() });
      asset.mediaItems = items;
      asset.activeVersion = version;
      return { mediaId: asset.id, mediaItemId: itemId };
    });
  }

  async getDownloadUrl(mediaId: string): Promise<string> {
    return this.run('getDownloadUrl', [mediaId], () => `https://downloads.invalid/${mediaId}`);
  }

  async download(): Promise<{ body: Readable; contentLength?: number | undefined }> {
    throw new Error('FakeBynder.download is not used by the connector tests');
  }

  /** Versions of an asset, oldest first. */
  versionsOf(mediaId: string): number {
    return this.assets.get(mediaId)?.mediaItems?.length ?? 0;
  }

  private importOf(importId: string, path: string) {
    const file = this.imports.get(importId);
    if (!file) throw FakeBynder.apiError(404, 'Import ID not found', path);
    return file;
  }

  private next(): number {
    this.counter += 1;
    return this.counter;
  }

  private run<T>(method: Method, args: unknown[], effect: () => T): T {
    this.calls.push({ method, args });
    const fault = this.faults.get(method)?.shift();
    if (fault && !fault.afterEffect) throw fault.error;
    const result = effect();
    if (fault) throw fault.error;
    return result;
  }

  private async runAsync<T>(method: Method, args: unknown[], effect: () => Promise<T>): Promise<T> {
    this.calls.push({ method, args });
    const fault = this.faults.get(method)?.shift();
    if (fault && !fault.afterEffect) throw fault.error;
    const result = await effect();
    if (fault) throw fault.error;
    return result;
  }
}

async function countBytes(stream: Readable): Promise<number> {
  let total = 0;
  for await (const chunk of stream) total += (chunk as Buffer).length;
  return total;
}

/** A brand as tests write it. */
export function brand(id: string, name: string): BynderBrand {
  return { id, name, subBrands: [] };
}

/** A select metaproperty as tests write it: options `[id, name, label?]`. */
export function selectProperty(
  id: string,
  name: string,
  options: [string, string, string?][],
  flags: { multi?: boolean; required?: boolean; label?: string } = {},
): BynderMetaproperty {
  return {
    id,
    name,
    label: flags.label,
    isMultiselect: flags.multi ?? false,
    isRequired: flags.required ?? false,
    type: flags.multi ? 'select2' : 'select',
    options: options.map(([optionId, optionName, label]) => ({ id: optionId, name: optionName, label })),
  };
}

/** An existing asset as tests write it, with `versions` mediaItems of `size` bytes. */
export function existingAsset(id: string, name: string, brandId: string, versions = 1, size = 100): BynderAsset {
  return {
    id,
    name,
    brandId,
    extension: [],
    tags: [],
    propertyOptions: [],
    properties: {},
    archive: false,
    dateCreated: '2026-01-01T00:00:00.000Z',
    mediaItems: Array.from({ length: versions }, (_, i) => ({
      id: `${id}-item-${i + 1}`,
      version: i + 1,
      active: i === versions - 1,
      size,
    })),
  };
}
