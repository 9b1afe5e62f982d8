/**
 * Which versions of a changed Bynder asset become export jobs: every version the ledger does
 * not hold, oldest first, keyed by portal, asset and version; a 404 is a deletion; a portal
 * that lists no media items still names the active version.
 */
import { describe, expect, it } from 'vitest';
import type { BynderAsset } from '../../shared/connectors/bynder/client/types.js';
import { bynderVersionKey, neutralJobFieldsOf } from '../../shared/connectors/bynder/export/job.js';
import { DeletedAssetLineSchema, deletedAssetLine } from '../../shared/connectors/bynder/export/manifest-lines.js';
import { newVersionsOf, UnversionedAssetError, versionJobsOf } from '../../shared/connectors/bynder/export/versions.js';
import { FakeBynderPortal } from '../helpers/fake-bynder-portal.js';

const context = { portal: 'acme' };
const none = async () => new Set<string>();

function listed(portal: FakeBynderPortal, id: string): Promise<BynderAsset> {
  return portal.listMedia({ limit: 1000 }).then((page) => page.media.find((a) => a.id === id) as BynderAsset);
}

const asset = (overrides: Partial<BynderAsset> = {}): BynderAsset => ({
  id: 'A1',
  name: 'Site plan',
  brandId: 'brand-1',
  extension: ['pdf'],
  tags: [],
  propertyOptions: [],
  properties: {},
  archive: false,
  dateModified: '2026-11-01T10:00:00Z',
  ...overrides,
});

describe('newVersionsOf', () => {
  it('on a first export every version is new, oldest first, with its media item, file name and size', async () => {
    const portal = new FakeBynderPortal();
    portal.addAsset({
      id: 'A1',
      dateModified: '2026-11-01T10:00:00Z',
      versions: [
        { version: 2, content: 'two!', fileName: 'plan-v2.pdf' },
        { version: 1, content: 'one', fileName: 'plan.pdf' },
      ],
    });
    const found = await newVersionsOf(portal, await listed(portal, 'A1'), none, context);
    if (found.deleted) throw new Error('expected versions');
    expect(found.newVersions).toEqual([
      expect.objectContaining({ version: 1, versionSegment: '1', mediaItemId: 'A1-item-1', fileName: 'plan.pdf', size: 3, active: false }),
      expect.objectContaining({
        version: 2,
        versionSegment: '2',
        mediaItemId: 'A1-item-2',
        fileName: 'plan-v2.pdf',
        size: 4,
        active: true,
      }),
    ]);
    expect(found.newVersions.map((v) => v.versionKey)).toEqual(['bynder:acme:A1:1', 'bynder:acme:A1:2']);
    expect(portal.callsOf('getMedia').map((c) => c.args)).toEqual([['A1', { versions: true }]]);
  });

  it("asks the ledger once for all of the asset's keys and keeps only what it does not hold", async () => {
    const portal = new FakeBynderPortal();
    portal.addAsset({ id: 'A1', versions: [{ version: 1, content: 'x' }] });
    portal.addVersion('A1', 'y');
    portal.addVersion('A1', 'z');
    const asked: string[][] = [];
    const found = await newVersionsOf(
      portal,
      await listed(portal, 'A1'),
      async (keys) => {
        asked.push([...keys]);
        return new Set(['bynder:acme:A1:1', 'bynder:acme:A1:2']);
      },
      context,
    );
    expect(asked).toEqual([['bynder:acme:A1:1', 'bynder:acme:A1:2', 'bynder:acme:A1:3']]);
    expect(found.deleted === false && found.newVersions.map((v) => v.version)).toEqual([3]);
  });

  it('an asset that answers 404 although the listing returned it is reported deleted, with what the listing said', async () => {
    const portal = new FakeBynderPortal();
    portal.addAsset({ id: 'A1', name: 'Old plan', brandId: 'b7', dateModified: '2026-11-01T10:00:00Z' });
    const fromListing = await listed(portal, 'A1');
    portal.delete('A1');
    let ledgerAsked = false;
    const found = await newVersionsOf(
      portal,
      fromListing,
      async () => {
        ledgerAsked = true;
        return new Set();
      },
      context,
    );
    expect(found).toEqual({ deleted: true, assetId: 'A1', brandId: 'b7', name: 'Old plan', dateModified: '2026-11-01T10:00:00Z' });
    expect(ledgerAsked).toBe(false);
    if (!found.deleted) throw new Error('expected a deletion');
    const line = deletedAssetLine(found, { runId: 'run-1', portal: 'acme', at: new Date('2026-11-02T02:00:05Z') });
    expect(DeletedAssetLineSchema.parse(JSON.parse(JSON.stringify(line)))).toEqual({
      type: 'deleted-asset',
      runId: 'run-1',
      source: 'bynder',
      portal: 'acme',
      brandId: 'b7',
      assetId: 'A1',
      name: 'Old plan',
      lastModified: '2026-11-01T10:00:00Z',
      at: '2026-11-02T02:00:05.000Z',
    });
  });
});

describe('re-planning by id', () => {
  it('an asset named by a previous manifest line (not listed again) has its unexported versions found the same way', async () => {
    const portal = new FakeBynderPortal();
    portal.addAsset({ id: 'A1', versions: [{ version: 1, content: 'x' }] });
    portal.addVersion('A1', 'y');
    const found = await newVersionsOf(
      portal,
      { id: 'A1', brandId: 'brand-1', name: 'A1.pdf' },
      async () => new Set(['bynder:acme:A1:1']),
      context,
    );
    expect(found.deleted === false && found.newVersions.map((v) => v.versionKey)).toEqual(['bynder:acme:A1:2']);
    expect(portal.callsOf('listMedia')).toHaveLength(0);
  });
});

describe('versionJobsOf', () => {
  it('a second file under the same version number gets its own folder and key', () => {
    const jobs = versionJobsOf(
      asset({
        mediaItems: [
          { id: 'm-extra', version: 1, active: false, fileName: 'notes.txt' },
          { id: 'm-main', version: 1, active: true, fileName: 'plan.pdf' },
        ],
      }),
      'acme',
    );
    expect(jobs.map((j) => [j.versionSegment, j.versionKey, j.fileName])).toEqual([
      ['1', 'bynder:acme:A1:1', 'plan.pdf'],
      ['1-m-extra', 'bynder:acme:A1:1-m-extra', 'notes.txt'],
    ]);
  });

  it('without media items the active version is the one job, named from the asset and its extension', () => {
    const [job, ...rest] = versionJobsOf(asset({ activeVersion: 4, fileSize: 99 }), 'acme');
    expect(rest).toEqual([]);
    expect(job).toMatchObject({ version: 4, versionSegment: '4', fileName: 'Site plan.pdf', size: 99, versionKey: 'bynder:acme:A1:4' });
    expect(job?.mediaItemId).toBeUndefined();
  });

  it('an asset with neither media items nor an active version is refused with what to check', () => {
    expect(() => versionJobsOf(asset(), 'acme')).toThrow(UnversionedAssetError);
    expect(() => versionJobsOf(asset(), 'acme')).toThrow(/A1 .*versions=1 .*neither mediaItems nor an active version number/);
  });

  it('the neutral job fields put the ledger key where the export expects a version id', () => {
    const [job] = versionJobsOf(
      asset({ mediaItems: [{ id: 'm1', version: 3, active: true, fileName: 'p.pdf', dateCreated: '2026-10-01T00:00:00Z' }] }),
      'acme',
    );
    expect(neutralJobFieldsOf(job!)).toEqual({
      tenantId: 'acme',
      binderId: 'brand-1',
      documentId: 'A1',
      versionId: bynderVersionKey({ portal: 'acme', assetId: 'A1', versionSegment: '3' }),
      fileName: 'p.pdf',
      versionLabel: '3',
      modifiedAt: '2026-10-01T00:00:00Z',
    });
  });
});
