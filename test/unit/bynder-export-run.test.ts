/**
 * The Bynder export's library end to end over an in-memory portal: the nights the issue names
 * (first run, an unchanged night, one new version, a deletion, changes while a run pages, a
 * 429 pause and its resume, a large first export) with the portal's calls counted, and every
 * archive key written exactly once.
 */
import { describe, expect, it } from 'vitest';
import { ExportWorld, runExport, TEST_PORTAL } from '../helpers/bynder-export-harness.js';
import { FakeBynderPortal, FakeBynderStatusError } from '../helpers/fake-bynder-portal.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** `count` assets, asset i modified at T0 + i seconds. */
function portalWith(count: number, options: ConstructorParameters<typeof FakeBynderPortal>[0] = {}): FakeBynderPortal {
  const portal = new FakeBynderPortal(options);
  for (let i = 0; i < count; i++) portal.addAsset({ id: assetId(i), dateModified: at(i) });
  return portal;
}

const assetId = (i: number): string => `a${String(i).padStart(5, '0')}`;

function expectWrittenOnce(world: ExportWorld): void {
  for (const [key, writes] of world.writes) expect(writes, key).toBe(1);
}

describe('Bynder export runs', () => {
  it('first run exports every version with its sidecar; an unchanged night costs only list calls', async () => {
    const portal = portalWith(30);
    portal.addVersion(assetId(3), 'second file of a00003', T0 + 3_500);
    const world = new ExportWorld();

    const first = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });
    expect(first.paused).toBe(false);
    expect(first.jobs).toHaveLength(31);
    expect(world.ledger.size).toBe(31);
    expect(world.archive.get(`${TEST_PORTAL}/brand-1/a00003/2/a00003.pdf`)).toBe('second file of a00003');
    expect(world.archive.has(`${TEST_PORTAL}/brand-1/a00003/1/a00003.pdf.metadata.json`)).toBe(true);
    expect(world.bookmark?.at).toBe('2026-11-01T00:00:29Z');
    expectWrittenOnce(world);

    // The overlap re-lists the last minute's 30 assets (4 pages of 10), and reads nothing else.
    const callsBefore = portal.calls.length;
    const unchanged = await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z', pageSize: 10 });
    expect(unchanged.assetsYielded).toEqual([]);
    expect(new Set(portal.calls.slice(callsBefore).map((c) => c.method))).toEqual(new Set(['listMedia']));
    expect(world.bookmark?.at).toBe('2026-11-01T00:00:29Z');

    // And the night after, with pages of 1,000: one list call, nothing read.
    const callsBeforeThird = portal.calls.length;
    await runExport(portal, world, { runStartedAt: '2026-11-04T02:00:00Z' });
    expect(portal.calls.slice(callsBeforeThird).map((c) => c.method)).toEqual(['listMedia']);
  });

  it('a new version of one asset is the only job of the next run: one getMedia, one location, one download', async () => {
    const portal = portalWith(30);
    const world = new ExportWorld();
    await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });

    portal.addVersion(assetId(7), 'a00007, second version', Date.parse('2026-11-02T10:00:00Z'));
    const callsBefore = portal.calls.length;
    const run = await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z' });
    const methods = portal.calls.slice(callsBefore).map((c) => c.method);
    expect(run.jobs.map((j) => j.versionKey)).toEqual([`bynder:${TEST_PORTAL}:a00007:2`]);
    expect(methods).toEqual(['listMedia', 'getMedia', 'getDownloadUrl', 'download']);
    expect(world.archive.get(`${TEST_PORTAL}/brand-1/a00007/2/a00007.pdf`)).toBe('a00007, second version');
    expect(world.bookmark?.at).toBe('2026-11-02T10:00:00Z');
    expectWrittenOnce(world);
  });

  it('a metadata-only change costs one getMedia and exports nothing', async () => {
    const portal = portalWith(5);
    const world = new ExportWorld();
    await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z' });
    portal.touch(assetId(2), Date.parse('2026-11-02T09:00:00Z'));
    const callsBefore = portal.calls.length;
    const run = await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z' });
    expect(portal.calls.slice(callsBefore).map((c) => c.method)).toEqual(['listMedia', 'getMedia']);
    expect(run.jobs).toEqual([]);
  });

  it('an asset listed and then answering 404 is reported deleted; its archived versions stay', async () => {
    const portal = portalWith(5);
    const world = new ExportWorld();
    await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z' });
    const archivedBefore = new Map(world.archive);

    portal.addVersion(assetId(1), 'a00001 v2', Date.parse('2026-11-02T09:00:00Z'));
    portal.afterList = () => portal.delete(assetId(1));
    const run = await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z' });
    expect(run.deleted).toEqual([assetId(1)]);
    expect(run.jobs).toEqual([]);
    expect(portal.callsOf('getDownloadUrl').length).toBe(5);
    for (const [key, body] of archivedBefore) expect(world.archive.get(key)).toBe(body);
    expect(world.archive.size).toBe(archivedBefore.size);
  });

  it('an asset modified while the run pages skips nothing: every asset of the window is read once, the change next run', async () => {
    const portal = portalWith(2500);
    const world = new ExportWorld();
    portal.nowMs = Date.parse('2026-11-02T02:00:30Z');
    portal.beforeList = (call) => {
      if (call !== 2) return;
      // Between the first and the second page: an asset of the first page gets a new version,
      // and an asset is created; both after the run's start.
      portal.addVersion(assetId(10), 'a00010 v2 during the run', portal.nowMs);
      portal.addAsset({ id: 'created-during-run', dateModified: new Date(portal.nowMs).toISOString() });
    };
    const first = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 1000 });
    const ids = first.assetsYielded.map((a) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(2500);
    expect(ids).not.toContain('created-during-run');
    // Its versions were read with the first page, before the change.
    expect(world.ledger.has(`bynder:${TEST_PORTAL}:a00010:1`)).toBe(true);
    expect(world.ledger.has(`bynder:${TEST_PORTAL}:a00010:2`)).toBe(false);
    expect(world.bookmark?.at).toBe('2026-11-01T00:41:39Z');

    portal.beforeList = undefined;
    const second = await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z', pageSize: 1000 });
    expect(second.assetsYielded.map((a) => a.id).sort()).toEqual([assetId(10), 'created-during-run']);
    expect(second.jobs.map((j) => j.versionKey).sort()).toEqual([
      `bynder:${TEST_PORTAL}:a00010:2`,
      `bynder:${TEST_PORTAL}:created-during-run:1`,
    ]);
    expectWrittenOnce(world);
  });

  it('a 429 block pauses the run at the last planned page; the next invocation resumes there', async () => {
    const portal = portalWith(2500);
    const world = new ExportWorld();
    const block = new FakeBynderStatusError(429, 'GET /api/v4/media/ answered 429');
    portal.beforeList = (call) => {
      if (call === 3) throw block;
    };
    const paused = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 1000 });
    expect(paused.paused).toBe(true);
    expect(paused.error).toBe(block);
    expect(world.bookmark).toBeUndefined();
    expect(world.savedCursor).toBeDefined();
    const failedQuery = portal.callsOf('listMedia').length; // the failed call was not recorded (hook threw first)
    expect(failedQuery).toBe(2);

    portal.beforeList = undefined;
    const resumed = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 1000 });
    expect(resumed.paused).toBe(false);
    expect(world.ledger.size).toBe(2500);
    expect(paused.assetsYielded.length + resumed.assetsYielded.length).toBe(2500);
    // The resumed feed went on from the third query, not from the start.
    const lists = portal.callsOf('listMedia').map((c) => c.args[0] as { dateModified?: string });
    expect(lists[2]?.dateModified).toBe('2026-11-01T00:33:17Z');
    expect(lists).toHaveLength(3);
    expect(world.bookmark?.at).toBe('2026-11-01T00:41:39Z');
    expectWrittenOnce(world);
  });

  it('a 429 while a page is planned repeats that page on resume without exporting anything twice', async () => {
    const portal = portalWith(25);
    const world = new ExportWorld();
    let gets = 0;
    const getMedia = portal.getMedia.bind(portal);
    portal.getMedia = async (id, options) => {
      if (++gets === 15) throw new FakeBynderStatusError(429, 'GET /api/v4/media/{id}/ answered 429');
      return getMedia(id, options);
    };
    const paused = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });
    expect(paused.paused).toBe(true);
    const resumed = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });
    expect(resumed.paused).toBe(false);
    expect(world.ledger.size).toBe(25);
    expectWrittenOnce(world);
  });

  it('5,000 assets in pages of 1,000: six list calls, one getMedia and one download each', async () => {
    const portal = portalWith(5000);
    const world = new ExportWorld();
    const run = await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z' });
    const lists = portal.callsOf('listMedia').map((c) => c.args[0] as Record<string, unknown>);
    // Five full pages, each step re-reading its last second (one asset here), then the last five.
    expect(lists).toHaveLength(6);
    expect(lists.every((q) => q.limit === 1000 && q.page === 1 && q.dateModifiedTo === '2026-11-02T02:00:00Z')).toBe(true);
    expect(portal.callsOf('getMedia')).toHaveLength(5000);
    expect(portal.callsOf('getDownloadUrl')).toHaveLength(5000);
    expect(portal.callsOf('download')).toHaveLength(5000);
    expect(run.jobs).toHaveLength(5000);
    expect(world.ledger.size).toBe(5000);
    expectWrittenOnce(world);

    const callsBefore = portal.calls.length;
    await runExport(portal, world, { runStartedAt: '2026-11-03T02:00:00Z' });
    expect(portal.calls.slice(callsBefore).map((c) => c.method)).toEqual(['listMedia']);
  });

  it('an expired download location is fetched again once and never reused', async () => {
    const portal = portalWith(1);
    portal.expireNextLocations = 1;
    const world = new ExportWorld();
    await runExport(portal, world, { runStartedAt: '2026-11-02T02:00:00Z' });
    expect(world.ledger.size).toBe(1);
    const locations = portal.callsOf('download').map((c) => c.args[0]);
    expect(locations).toHaveLength(2);
    expect(new Set(locations).size).toBe(2);
    expect(portal.callsOf('getDownloadUrl')).toHaveLength(2);
  });
});
