/**
 * The emulated portal: brands, metaproperties with their options, assets with their versions
 * (media items), and the imports that uploads produce and saves consume. Dates are kept as
 * epoch milliseconds of the injected clock, truncated to whole seconds because Bynder's dates
 * have one-second precision (ties within a second are the point of the `dateModified` tests).
 */
import type { BlobSource } from '../blobs.js';
import { newColdFusionId } from './ids.js';

export interface SubBrandRecord {
  id: string;
  name: string;
  description: string;
  image: string | null;
}

export interface BrandRecord extends SubBrandRecord {
  subBrands: SubBrandRecord[];
}

export interface OptionRecord {
  id: string;
  name: string;
  label: string;
}

export type MetapropertyType = 'select' | 'select2' | 'autocomplete' | 'text' | 'longtext' | 'date';

export interface MetapropertyRecord {
  id: string;
  /** The dictionary key in `GET /api/v4/metaproperties/`: label-like, not `name`. */
  key: string;
  name: string;
  label: string;
  type: MetapropertyType;
  isMultiselect: boolean;
  isRequired: boolean;
  /** How the flags are written on the wire: Bynder answers 0/1 for some and booleans for others. */
  flagStyle: 'number' | 'boolean';
  options: OptionRecord[];
}

export interface MediaItemRecord {
  id: string;
  fileName: string;
  version: number;
  active: boolean;
  dateCreated: number;
  blob: BlobSource;
}

export interface AssetRecord {
  id: string;
  name: string;
  description: string;
  copyright: string;
  brandId: string;
  subBrandId: string | null;
  type: 'image' | 'document' | 'audio' | 'video' | '3d';
  tags: string[];
  /** Metaproperty id -> option ids (select types) or one text value. */
  metadata: Map<string, string[]>;
  dateCreated: number;
  dateModified: number;
  datePublished: number;
  userCreated: string;
  idHash: string;
  archive: boolean;
  limited: boolean;
  watermarked: boolean;
  isPublic: boolean;
  width: number;
  height: number;
  deleted: boolean;
  items: MediaItemRecord[];
}

export interface ImportRecord {
  id: string;
  fileName: string;
  blob: BlobSource;
  finalisedAt: number;
  polls: number;
  /** Assets created or versions added from this import (saving twice creates twice). */
  saves: string[];
}

export interface AddAssetInput {
  id?: string;
  name: string;
  brandId: string;
  fileName: string;
  blob: BlobSource;
  description?: string;
  copyright?: string;
  subBrandId?: string | null;
  tags?: string[];
  metadata?: Record<string, string[]>;
  at?: number;
  isPublic?: boolean;
  archive?: boolean;
}

export class BynderStateError extends Error {}

/** Whole seconds: Bynder's dates carry no milliseconds. */
export function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

const TYPE_BY_EXTENSION: Record<string, AssetRecord['type']> = {
  jpg: 'image',
  jpeg: 'image',
  png: 'image',
  gif: 'image',
  tif: 'image',
  tiff: 'image',
  svg: 'image',
  webp: 'image',
  mp4: 'video',
  mov: 'video',
  avi: 'video',
  mp3: 'audio',
  wav: 'audio',
  glb: '3d',
};

export function extensionOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  return dot > 0 && dot < fileName.length - 1 ? fileName.slice(dot + 1).toLowerCase() : '';
}

export function assetTypeOf(fileName: string): AssetRecord['type'] {
  return TYPE_BY_EXTENSION[extensionOf(fileName)] ?? 'document';
}

export class BynderState {
  private readonly brands = new Map<string, BrandRecord>();
  private readonly metaproperties = new Map<string, MetapropertyRecord>();
  private readonly assets = new Map<string, AssetRecord>();
  private readonly imports = new Map<string, ImportRecord>();
  private readonly items = new Map<string, { asset: AssetRecord; item: MediaItemRecord }>();

  constructor(private readonly now: () => number) {}

  addBrand(brand: BrandRecord): BrandRecord {
    this.brands.set(brand.id, brand);
    return brand;
  }

  listBrands(): BrandRecord[] {
    return [...this.brands.values()];
  }

  /** A brand or sub-brand id. */
  hasBrand(id: string): boolean {
    if (this.brands.has(id)) return true;
    for (const b of this.brands.values()) if (b.subBrands.some((s) => s.id === id)) return true;
    return false;
  }

  addMetaproperty(mp: MetapropertyRecord): MetapropertyRecord {
    this.metaproperties.set(mp.id, mp);
    return mp;
  }

  listMetaproperties(): MetapropertyRecord[] {
    return [...this.metaproperties.values()];
  }

  getMetaproperty(id: string): MetapropertyRecord | undefined {
    return this.metaproperties.get(id);
  }

  /** Every asset, deleted ones included, in insertion order. */
  allAssets(): AssetRecord[] {
    return [...this.assets.values()];
  }

  /** The asset, or undefined when unknown or deleted (what `GET /media/{id}` sees). */
  liveAsset(id: string): AssetRecord | undefined {
    const asset = this.assets.get(id) ?? this.assets.get(id.toUpperCase());
    return asset && !asset.deleted ? asset : undefined;
  }

  /** Including deleted ones. */
  anyAsset(id: string): AssetRecord | undefined {
    return this.assets.get(id) ?? this.assets.get(id.toUpperCase());
  }

  get assetCount(): number {
    return this.assets.size;
  }

  addAsset(input: AddAssetInput): AssetRecord {
    if (!this.hasBrand(input.brandId)) throw new BynderStateError(`Unknown brand '${input.brandId}'`);
    const at = wholeSecond(input.at ?? this.now());
    const id = input.id ?? newColdFusionId();
    if (this.assets.has(id)) throw new BynderStateError(`Asset '${id}' exists already`);
    const asset: AssetRecord = {
      id,
      name: input.name,
      description: input.description ?? '',
      copyright: input.copyright ?? '',
      brandId: input.brandId,
      subBrandId: input.subBrandId ?? null,
      type: assetTypeOf(input.fileName),
      tags: input.tags ?? [],
      metadata: new Map(Object.entries(input.metadata ?? {})),
      dateCreated: at,
      dateModified: at,
      datePublished: at,
      userCreated: 'Emulator Integration',
      idHash: id.replace(/-/g, '').slice(0, 16).toLowerCase(),
      archive: input.archive ?? false,
      limited: false,
      watermarked: false,
      isPublic: input.isPublic ?? false,
      width: pixelDimension(input.fileName, 1920),
      height: pixelDimension(input.fileName, 1080),
      deleted: false,
      items: [],
    };
    this.assets.set(id, asset);
    this.addVersion(id, input.fileName, input.blob, at);
    return asset;
  }

  /** A new active version of an asset; metadata, tags and name are kept. */
  addVersion(assetId: string, fileName: string, blob: BlobSource, at?: number): MediaItemRecord {
    const asset = this.liveAsset(assetId);
    if (!asset) throw new BynderStateError(`Unknown or deleted asset '${assetId}'`);
    const when = wholeSecond(at ?? this.now());
    for (const item of asset.items) item.active = false;
    const item: MediaItemRecord = {
      id: newColdFusionId(),
      fileName,
      version: asset.items.length + 1,
      active: true,
      dateCreated: when,
      blob,
    };
    asset.items.push(item);
    this.items.set(item.id, { asset, item });
    asset.dateModified = Math.max(asset.dateModified, when);
    return item;
  }

  /** A media item by id, with its asset (deleted assets included: storage does not know about deletion). */
  findItem(itemId: string): { asset: AssetRecord; item: MediaItemRecord } | undefined {
    return this.items.get(itemId) ?? this.items.get(itemId.toUpperCase());
  }

  deleteAsset(id: string): void {
    const asset = this.anyAsset(id);
    if (!asset) throw new BynderStateError(`Unknown asset '${id}'`);
    asset.deleted = true;
  }

  activeItem(asset: AssetRecord): MediaItemRecord {
    const item = asset.items.find((i) => i.active) ?? asset.items.at(-1);
    if (!item) throw new BynderStateError(`Asset '${asset.id}' has no media items`);
    return item;
  }

  createImport(id: string, fileName: string, blob: BlobSource): ImportRecord {
    const record: ImportRecord = { id, fileName, blob, finalisedAt: this.now(), polls: 0, saves: [] };
    this.imports.set(id, record);
    return record;
  }

  getImport(id: string): ImportRecord | undefined {
    return this.imports.get(id) ?? this.imports.get(id.toLowerCase());
  }
}

/** Images get pixel dimensions, documents 0: enough for clients that read width/height. */
function pixelDimension(fileName: string, pixels: number): number {
  return assetTypeOf(fileName) === 'image' ? pixels : 0;
}
