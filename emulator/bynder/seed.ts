/**
 * Seed data: a small deterministic portal (three brands, one with a sub-brand; metaproperties
 * of every kind a connector must handle; a few assets with versions, one deleted, two modified
 * in the same second) and a bulk generator for benchmarks. Ids are derived from names, so they
 * are the same on every run and can be written into tests and demo configs.
 */
import { MemoryBlob, SyntheticBlob } from '../blobs.js';
import { deterministicColdFusionId } from './ids.js';
import type { BrandRecord, BynderState, MetapropertyRecord } from './state.js';

export interface SeedAssetVersion {
  fileName: string;
  content: string;
  /** ISO date the version was added. */
  at: string;
}

export interface SeedAsset {
  id: string;
  name: string;
  brandId: string;
  description?: string;
  tags?: string[];
  /** Metaproperty id -> option ids (or one text value). */
  metadata?: Record<string, string[]>;
  isPublic?: boolean;
  deleted?: boolean;
  versions: SeedAssetVersion[];
}

export interface SeedPortal {
  brands: BrandRecord[];
  metaproperties: MetapropertyRecord[];
  assets: SeedAsset[];
}

const id = (name: string): string => deterministicColdFusionId(name);

function options(mpName: string, names: string[]): MetapropertyRecord['options'] {
  return names.map((label) => ({ id: id(`option/${mpName}/${label}`), name: label.toLowerCase().replace(/[^a-z0-9]+/g, '_'), label }));
}

const PROJECT_CODES = Array.from({ length: 120 }, (_, i) => `P-${String(i + 1).padStart(3, '0')}`);

/** Ids of the default seed, for tests, demo configs and docs. */
export const DEFAULT_BYNDER_SEED_IDS = {
  brands: {
    harbour: id('brand/Harbour Living'),
    harbourInteriors: id('brand/Harbour Living/Interiors'),
    northwind: id('brand/Northwind Construction'),
    riverside: id('brand/Riverside Estates'),
  },
  metaproperties: {
    /** Multi-select, keyed "Colours" with name "colours", boolean flags. */
    colours: id('metaproperty/colours'),
    /** Single-select, required, 0/1 flags. */
    region: id('metaproperty/region'),
    /** Free text. */
    campaign: id('metaproperty/campaign'),
    /** Single-select with 120 options (more than one page of 50). */
    projectCode: id('metaproperty/projectcode'),
  },
  options: {
    red: id('option/colours/Red'),
    green: id('option/colours/Green'),
    blue: id('option/colours/Blue'),
    nordics: id('option/region/Nordics'),
    benelux: id('option/region/Benelux'),
    dach: id('option/region/DACH'),
    uk: id('option/region/UK'),
    p001: id('option/projectcode/P-001'),
    p120: id('option/projectcode/P-120'),
  },
  assets: {
    harbourFacade: id('asset/Harbour facade'),
    sitePlan: id('asset/Site plan'),
    lobbyRender: id('asset/Lobby render'),
    brochure: id('asset/Brochure'),
    /** Deleted: listed only when `listDeletedAssets`, 404 on GET. */
    oldLogo: id('asset/Old logo'),
  },
} as const;

export function defaultBynderSeed(): SeedPortal {
  const B = DEFAULT_BYNDER_SEED_IDS.brands;
  const M = DEFAULT_BYNDER_SEED_IDS.metaproperties;
  const O = DEFAULT_BYNDER_SEED_IDS.options;
  const A = DEFAULT_BYNDER_SEED_IDS.assets;
  return {
    brands: [
      {
        id: B.harbour,
        name: 'Harbour Living',
        description: 'Residential developments on the waterfront',
        image: null,
        subBrands: [{ id: B.harbourInteriors, name: 'Harbour Living Interiors', description: 'Interior design', image: null }],
      },
      { id: B.northwind, name: 'Northwind Construction', description: 'General contractor', image: null, subBrands: [] },
      { id: B.riverside, name: 'Riverside Estates', description: '', image: null, subBrands: [] },
    ],
    metaproperties: [
      {
        id: M.colours,
        key: 'Colours',
        name: 'colours',
        label: 'Colours',
        type: 'select2',
        isMultiselect: true,
        isRequired: false,
        flagStyle: 'boolean',
        options: options('colours', ['Red', 'Green', 'Blue']),
      },
      {
        id: M.region,
        key: 'Region',
        name: 'region',
        label: 'Sales region',
        type: 'select',
        isMultiselect: false,
        isRequired: true,
        flagStyle: 'number',
        options: options('region', ['Nordics', 'Benelux', 'DACH', 'UK']),
      },
      {
        id: M.campaign,
        key: 'Campaign',
        name: 'campaign_name',
        label: 'Campaign',
        type: 'text',
        isMultiselect: false,
        isRequired: false,
        flagStyle: 'number',
        options: [],
      },
      {
        id: M.projectCode,
        key: 'Project Code',
        name: 'projectcode',
        label: 'Project code',
        type: 'select',
        isMultiselect: false,
        isRequired: false,
        flagStyle: 'boolean',
        options: options('projectcode', PROJECT_CODES),
      },
    ],
    assets: [
      {
        id: A.harbourFacade,
        name: 'Harbour facade',
        brandId: B.harbour,
        description: 'South facade, dusk',
        tags: ['facade', 'exterior'],
        metadata: { [M.colours]: [O.red, O.blue], [M.region]: [O.nordics] },
        isPublic: true,
        versions: [
          { fileName: 'harbour-facade.jpg', content: 'harbour facade v1', at: '2025-01-10T09:00:00Z' },
          { fileName: 'harbour-facade.jpg', content: 'harbour facade v2, colour corrected', at: '2025-02-01T10:30:00Z' },
        ],
      },
      {
        id: A.sitePlan,
        name: 'Site plan',
        brandId: B.northwind,
        tags: ['plan'],
        metadata: { [M.region]: [O.benelux], [M.campaign]: ['Spring 2025'], [M.projectCode]: [O.p001] },
        versions: [{ fileName: 'site-plan.pdf', content: '%PDF-1.7 site plan', at: '2025-01-15T12:00:00Z' }],
      },
      {
        id: A.lobbyRender,
        name: 'Lobby render',
        brandId: B.harbour,
        tags: ['interior', 'render'],
        metadata: { [M.colours]: [O.green], [M.region]: [O.dach] },
        versions: [
          { fileName: 'lobby.png', content: 'lobby v1', at: '2025-01-20T08:00:00Z' },
          { fileName: 'lobby.png', content: 'lobby v2', at: '2025-01-21T08:00:00Z' },
          { fileName: 'lobby-final.png', content: 'lobby v3 final', at: '2025-01-22T08:00:00Z' },
        ],
      },
      {
        id: A.brochure,
        name: 'Brochure',
        brandId: B.riverside,
        tags: ['print'],
        metadata: { [M.region]: [O.uk] },
        // Same second as the site plan: `dateModified` boundaries must cope with ties.
        versions: [{ fileName: 'brochure.pdf', content: '%PDF-1.7 brochure', at: '2025-01-15T12:00:00Z' }],
      },
      {
        id: A.oldLogo,
        name: 'Old logo',
        brandId: B.riverside,
        deleted: true,
        metadata: { [M.region]: [O.uk] },
        versions: [{ fileName: 'old-logo.png', content: 'old logo', at: '2024-12-01T00:00:00Z' }],
      },
    ],
  };
}

export function applyBynderSeed(state: BynderState, seed: SeedPortal): void {
  for (const brand of seed.brands) state.addBrand(brand);
  for (const mp of seed.metaproperties) state.addMetaproperty(mp);
  for (const asset of seed.assets) {
    const [first, ...rest] = asset.versions;
    if (!first) throw new Error(`Seed asset '${asset.name}' needs at least one version`);
    state.addAsset({
      id: asset.id,
      name: asset.name,
      brandId: asset.brandId,
      fileName: first.fileName,
      blob: new MemoryBlob(first.content),
      at: Date.parse(first.at),
      ...(asset.description === undefined ? {} : { description: asset.description }),
      ...(asset.tags === undefined ? {} : { tags: asset.tags }),
      ...(asset.metadata === undefined ? {} : { metadata: asset.metadata }),
      ...(asset.isPublic === undefined ? {} : { isPublic: asset.isPublic }),
    });
    for (const v of rest) state.addVersion(asset.id, v.fileName, new MemoryBlob(v.content), Date.parse(v.at));
    if (asset.deleted) state.deleteAsset(asset.id);
  }
}

export interface BulkAssetOptions {
  count: number;
  /** Default: the first brand. */
  brandId?: string;
  versionsPerAsset?: number;
  /** Bytes per version, generated on read (no disk, no memory). Default 1 KiB. */
  bytesPerVersion?: number;
  /** dateCreated of the first asset (default 2025-03-01T00:00:00Z); each next one `stepSeconds` later. */
  startAt?: number;
  stepSeconds?: number;
}

/** Adds `count` synthetic assets quickly (5,000 in well under a second) for paging and benchmarks. */
export function seedBulkAssets(state: BynderState, options: BulkAssetOptions): string[] {
  const brandId = options.brandId ?? state.listBrands()[0]?.id;
  if (!brandId) throw new Error('seedBulkAssets needs a brand: seed one first or pass brandId');
  const versions = Math.max(1, options.versionsPerAsset ?? 1);
  const bytes = options.bytesPerVersion ?? 1024;
  const start = options.startAt ?? Date.parse('2025-03-01T00:00:00Z');
  const step = (options.stepSeconds ?? 1) * 1000;
  const offset = state.assetCount;
  const ids: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const n = offset + i;
    const assetId = deterministicColdFusionId(`bulk/${brandId}/${n}`);
    const at = start + i * step;
    const fileName = `bulk-${String(n).padStart(6, '0')}.jpg`;
    state.addAsset({ id: assetId, name: `Bulk asset ${n}`, brandId, fileName, blob: new SyntheticBlob(bytes, `${assetId}/1`), at });
    for (let v = 2; v <= versions; v++) state.addVersion(assetId, fileName, new SyntheticBlob(bytes, `${assetId}/${v}`), at + v - 1);
    ids.push(assetId);
  }
  return ids;
}
