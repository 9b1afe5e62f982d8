/**
 * Opening a Bynder version's bytes: a fresh download location right before each download,
 * never reused; an expired one (403 from storage) replaced once; a refusal by the API itself
 * not mistaken for an expired link.
 */
import { describe, expect, it } from 'vitest';
import { isExpiredDownloadLinkError, openBynderVersion } from '../../shared/connectors/bynder/export/open-version.js';
import { FakeBynderPortal, FakeBynderStatusError } from '../helpers/fake-bynder-portal.js';

function portal(): FakeBynderPortal {
  const p = new FakeBynderPortal();
  p.addAsset({
    id: 'A1',
    versions: [
      { version: 1, content: 'one' },
      { version: 2, content: 'two' },
    ],
  });
  return p;
}

async function text(body: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString();
}

describe('openBynderVersion', () => {
  it('asks for the media item when the job names one, else for the version, and downloads at once', async () => {
    const p = portal();
    const byItem = await openBynderVersion(p, { assetId: 'A1', version: 1, mediaItemId: 'A1-item-1' });
    expect(await text(byItem.body)).toBe('one');
    const byVersion = await openBynderVersion(p, { assetId: 'A1', version: 2 });
    expect(await text(byVersion.body)).toBe('two');
    expect(p.calls.map((c) => [c.method, c.args[1]])).toEqual([
      ['getDownloadUrl', { itemId: 'A1-item-1' }],
      ['download', undefined],
      ['getDownloadUrl', { version: 2 }],
      ['download', undefined],
    ]);
    expect(byItem).toMatchObject({ contentLength: 3, locationsFetched: 1 });
  });

  it('every open fetches a new location: none is cached or used twice', async () => {
    const p = portal();
    for (let i = 0; i < 3; i++) await text((await openBynderVersion(p, { assetId: 'A1', version: 1, mediaItemId: 'A1-item-1' })).body);
    const locations = p.issuedLocations;
    expect(locations).toHaveLength(3);
    expect(locations.every((l) => l.used)).toBe(true);
  });

  it('an expired location is replaced once; a second expiry is thrown to the caller', async () => {
    const p = portal();
    p.expireNextLocations = 1;
    const opened = await openBynderVersion(p, { assetId: 'A1', version: 1, mediaItemId: 'A1-item-1' });
    expect(await text(opened.body)).toBe('one');
    expect(opened.locationsFetched).toBe(2);

    p.expireNextLocations = 2;
    await expect(openBynderVersion(p, { assetId: 'A1', version: 1 })).rejects.toMatchObject({ status: 403 });
    expect(p.callsOf('getDownloadUrl')).toHaveLength(4);
  });

  it('a refusal of the download-location request itself is not retried', async () => {
    const p = portal();
    p.failNext('getDownloadUrl', new FakeBynderStatusError(403, 'GET /api/v4/media/A1/download/ answered 403'));
    await expect(openBynderVersion(p, { assetId: 'A1', version: 1 })).rejects.toMatchObject({ status: 403 });
    expect(p.callsOf('getDownloadUrl')).toHaveLength(1);
    expect(p.callsOf('download')).toHaveLength(0);
  });

  it('a storage error other than 403 is not taken for an expired link', async () => {
    const p = portal();
    p.failNext('download', new FakeBynderStatusError(500, 'storage answered 500'));
    await expect(openBynderVersion(p, { assetId: 'A1', version: 1 })).rejects.toMatchObject({ status: 500 });
    expect(p.callsOf('getDownloadUrl')).toHaveLength(1);
    expect(isExpiredDownloadLinkError({ statusCode: 403 })).toBe(true);
    expect(isExpiredDownloadLinkError(new Error('403'))).toBe(false);
  });
});
