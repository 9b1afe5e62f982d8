/**
 * The Bynder archive layout and sidecar: `<portal>/<brandId>/<assetId>/<version>/<fileName>`
 * with iBinder's segment rules, and a sidecar that the worker's completed-export check reads
 * as an export sidecar while it names metaproperties, options, tags and the brand.
 */
import { describe, expect, it } from 'vitest';
import type { BynderAsset, BynderMetaproperty } from '../../shared/connectors/bynder/client/types.js';
import {
  archivePortalNameOf,
  buildBynderSidecar,
  BynderSidecarSchema,
  bynderArchiveKey,
  bynderSidecarKey,
  describeMetaproperties,
  serializeBynderSidecar,
} from '../../shared/connectors/bynder/export/archive.js';
import { resolveExportBrandIds, UnknownExportBrandError } from '../../shared/connectors/bynder/export/brands.js';
import { versionJobsOf } from '../../shared/connectors/bynder/export/versions.js';
import { ExportSidecarSchema } from '../../shared/export/sidecar.js';

const metaproperties: BynderMetaproperty[] = [
  {
    id: 'mp-colour',
    name: 'colour',
    label: 'Colour',
    isMultiselect: true,
    isRequired: false,
    options: [
      { id: 'opt-red', name: 'red', label: 'Red' },
      { id: 'opt-blue', name: 'blue', label: 'Blue' },
    ],
  },
  { id: 'mp-site', name: 'site', label: 'Site', isMultiselect: false, isRequired: false, options: [] },
];

const asset: BynderAsset = {
  id: '00000000-0000-0000-0000000000000001',
  name: 'Site plan',
  description: 'North wing',
  brandId: 'brand-1',
  type: 'document',
  extension: ['pdf'],
  dateCreated: '2026-10-01T08:00:00Z',
  dateModified: '2026-11-01T10:00:00Z',
  tags: ['plans', 'north'],
  propertyOptions: ['opt-red', 'opt-gone'],
  properties: { colour: ['red', 'blue'], site: ['Harbour 7'] },
  archive: false,
  mediaItems: [{ id: 'item-2', version: 2, active: true, fileName: 'A-101 Plan.pdf', size: 11, dateCreated: '2026-11-01T09:59:00Z' }],
};

describe('archive keys', () => {
  it('follow <portal>/<brandId>/<assetId>/<version>/<fileName>, unsafe characters replaced', () => {
    const [job] = versionJobsOf(asset, 'acme');
    expect(bynderArchiveKey(job!)).toBe('acme/brand-1/00000000-0000-0000-0000000000000001/2/A-101 Plan.pdf');
    expect(bynderArchiveKey({ portal: 'acme', brandId: 'b/1', assetId: '..', versionSegment: '3', fileName: 'tmp/x\u0000.jpg' })).toBe(
      'acme/b_1/_../3/tmp_x_.jpg',
    );
    expect(bynderArchiveKey({ portal: 'acme', brandId: 'b', assetId: 'a', versionSegment: '3', fileName: '  ' })).toBe('acme/b/a/3/3');
    expect(bynderSidecarKey('acme/b/a/3/x.pdf')).toBe('acme/b/a/3/x.pdf.metadata.json');
  });

  it('name the portal by the configured name, else by the first label of its host', () => {
    expect(archivePortalNameOf({ portalUrl: 'https://acme-dam.bynder.com' })).toBe('acme-dam');
    expect(archivePortalNameOf({ portalUrl: 'https://acme.bynder.com', archivePortalName: 'acme/prod' })).toBe('acme_prod');
  });
});

describe('the sidecar', () => {
  const [job] = versionJobsOf(asset, 'acme');
  const sidecar = buildBynderSidecar({
    job: job!,
    asset,
    metaproperties,
    brand: { id: 'brand-1', name: 'Brand One', subBrands: [] },
    size: 11,
    sha256Hex: 'a'.repeat(64),
    sha256Base64: 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=',
    exportedAt: new Date('2026-11-02T02:03:04Z'),
    runId: '2026-11-02T02-00-00Z-3f9a1c',
    archiveKey: bynderArchiveKey(job!),
  });

  it('is an export sidecar the worker can vouch for an earlier attempt with', () => {
    const parsed = ExportSidecarSchema.parse(JSON.parse(serializeBynderSidecar(sidecar)));
    expect(parsed).toMatchObject({
      tenantId: 'acme',
      binderId: 'brand-1',
      documentId: asset.id,
      versionId: `bynder:acme:${asset.id}:2`,
      fileName: 'A-101 Plan.pdf',
      versionLabel: '2',
      status: 'active',
      modifiedAt: '2026-11-01T09:59:00Z',
      size: 11,
      sha256: 'a'.repeat(64),
      runId: '2026-11-02T02-00-00Z-3f9a1c',
      source: 'bynder',
    });
    expect(BynderSidecarSchema.parse(JSON.parse(serializeBynderSidecar(sidecar)))).toEqual(sidecar);
  });

  it('names the brand, tags, dates and each metaproperty with its option names and labels', () => {
    expect(sidecar.bynder.brand).toEqual({ id: 'brand-1', name: 'Brand One' });
    expect(sidecar.bynder.tags).toEqual(['plans', 'north']);
    expect(sidecar.bynder.asset).toMatchObject({
      dateCreated: '2026-10-01T08:00:00Z',
      dateModified: '2026-11-01T10:00:00Z',
      description: 'North wing',
    });
    expect(sidecar.bynder.version).toEqual({ number: 2, mediaItemId: 'item-2', active: true, dateCreated: '2026-11-01T09:59:00Z' });
    expect(sidecar.bynder.metaproperties).toEqual([
      {
        id: 'mp-colour',
        name: 'colour',
        label: 'Colour',
        values: [
          { optionId: 'opt-red', name: 'red', label: 'Red' },
          { optionId: 'opt-blue', name: 'blue', label: 'Blue' },
        ],
      },
      { id: null, name: 'unknown', label: null, values: [{ optionId: 'opt-gone', name: 'opt-gone', label: null }] },
      { id: 'mp-site', name: 'site', label: 'Site', values: [{ optionId: null, name: 'Harbour 7', label: null }] },
    ]);
    expect(sidecar.metadata).toContainEqual({ metadataElementId: 'mp-colour', label: 'Colour', valueId: 'opt-red', valueLabel: 'Red' });
    expect(sidecar.metadata).toContainEqual({ metadataElementId: 'mp-site', label: 'Site', valueId: 'Harbour 7', valueLabel: 'Harbour 7' });
  });

  it('leaves the brand name null when the brand given is another one', () => {
    const other = buildBynderSidecar({
      ...{ job: job!, asset, metaproperties },
      brand: { id: 'x', name: 'X', subBrands: [] },
      size: 1,
      sha256Hex: 'b'.repeat(64),
      sha256Base64: '',
      exportedAt: new Date(0),
      runId: 'r',
      archiveKey: 'k',
    });
    expect(other.bynder.brand).toEqual({ id: 'brand-1', name: null });
  });

  it('keeps a property value of a metaproperty the list does not know under its own name', () => {
    expect(describeMetaproperties({ ...asset, propertyOptions: [], properties: { legacy: ['x'] } }, metaproperties)).toEqual([
      { id: null, name: 'legacy', label: null, values: [{ optionId: null, name: 'x', label: null }] },
    ]);
  });
});

describe('export brands', () => {
  const brands = [
    { id: 'b-1', name: 'Marketing', subBrands: [] },
    { id: 'b-2', name: 'Projects', subBrands: [] },
  ];
  it('resolve ids and names (any case); none configured means every brand', () => {
    expect(resolveExportBrandIds(brands, ['projects', 'b-1', 'Marketing'])).toEqual(['b-2', 'b-1']);
    expect(resolveExportBrandIds(brands, undefined)).toBeUndefined();
    expect(resolveExportBrandIds(brands, [])).toBeUndefined();
  });
  it('refuse a brand the portal does not list, naming it and the brands it does', () => {
    expect(() => resolveExportBrandIds(brands, ['Projekts'])).toThrow(UnknownExportBrandError);
    expect(() => resolveExportBrandIds(brands, ['Projekts'])).toThrow(/"Projekts".*Marketing \(b-1\), Projects \(b-2\)/);
  });
});
