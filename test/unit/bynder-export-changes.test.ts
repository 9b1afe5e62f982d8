/**
 * The Bynder change feed on its own: the queries it sends, the readings of the date filters it
 * survives, paging over a set that changes meanwhile, servers that cap pages, answer no total
 * or ignore the order, brands, the cursor a paused run resumes from, and the bookmark.
 */
import { describe, expect, it } from 'vitest';
import type { BynderAsset, ListMediaQuery } from '../../shared/connectors/bynder/client/types.js';
import {
  type ChangeBookmark,
  type ChangeCursor,
  ChangeFeedStuckError,
  type ChangeFeedRequest,
  changeQueryOf,
  holdBack,
  InvalidChangeFeedRequestError,
  listChangedAssets,
  nextBookmark,
  parseChangeCursor,
  readChangePage,
  startChangeCursor,
} from '../../shared/connectors/bynder/export/changes.js';
import { FakeBynderPortal, type FakeBynderPortalOptions } from '../helpers/fake-bynder-portal.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();
const wholeSecond = (seconds: number): string => `${at(seconds).slice(0, 19)}Z`;
const assetId = (i: number): string => `a${String(i).padStart(5, '0')}`;

function portalWith(count: number, options: FakeBynderPortalOptions = {}, secondOf: (i: number) => number = (i) => i): FakeBynderPortal {
  const portal = new FakeBynderPortal(options);
  for (let i = 0; i < count; i++) portal.addAsset({ id: assetId(i), dateModified: at(secondOf(i)) });
  return portal;
}

/** Drains the feed; returns what it yielded and the final cursor. */
async function drain(
  portal: FakeBynderPortal,
  request: ChangeFeedRequest,
  resumeFrom?: ChangeCursor,
): Promise<{ ids: string[]; cursor: ChangeCursor | undefined }> {
  const ids: string[] = [];
  let cursor: ChangeCursor | undefined;
  for await (const page of listChangedAssets(portal, request, resumeFrom)) {
    ids.push(...page.assets.map((a) => a.id));
    cursor = page.cursor;
  }
  return { ids, cursor };
}

const queries = (portal: FakeBynderPortal): ListMediaQuery[] => portal.callsOf('listMedia').map((c) => c.args[0] as ListMediaQuery);

describe('the change feed queries', () => {
  it('a first run lists every asset up to the run start, frozen, in whole-second UTC, oldest first, with the total', async () => {
    const portal = portalWith(3);
    await drain(portal, { runStartedAt: '2026-11-02T02:00:00.750Z', pageSize: 500 });
    expect(queries(portal)).toEqual([
      { dateModifiedTo: '2026-11-02T02:00:00Z', orderBy: 'dateModified asc', limit: 500, page: 1, total: true },
    ]);
  });

  it('a later run starts at the bookmark minus the overlap, whatever offset the bookmark was written with', () => {
    const cursor = startChangeCursor({
      bookmark: '2026-11-01T10:00:00+01:00',
      runStartedAt: new Date('2026-11-02T02:00:00Z'),
      overlapSeconds: 90,
    });
    expect(changeQueryOf(cursor)).toMatchObject({ dateModified: '2026-11-01T08:58:30Z', dateModifiedTo: '2026-11-02T02:00:00Z' });
  });

  it('refuses an overlap under one second, a page size over 1,000 and dates that are not dates, saying which', () => {
    expect(() => startChangeCursor({ runStartedAt: at(0), overlapSeconds: 0 })).toThrow(/overlap 0 s .* at least 1/);
    expect(() => startChangeCursor({ runStartedAt: at(0), pageSize: 1001 })).toThrow(/page size 1001 .* 1 to 1000/);
    expect(() => startChangeCursor({ runStartedAt: 'yesterday' })).toThrow(InvalidChangeFeedRequestError);
    expect(() => startChangeCursor({ runStartedAt: at(0), bookmark: 'last night' })).toThrow(/bookmark "last night"/);
  });
});

describe('the boundary second', () => {
  // Run 1 starts half a second into second S; asset A was modified in S before it, asset C in S
  // after run 1's list call. Whatever the filters' readings, both are yielded once over two runs.
  it.each([
    ['strict', 'inclusive'],
    ['inclusive', 'inclusive'],
    ['strict', 'strict'],
    ['inclusive', 'strict'],
  ] as const)('dateModified %s, dateModifiedTo %s: the overlap catches the tie second, nothing twice', async (from, to) => {
    const S = 100;
    const portal = new FakeBynderPortal({ dateModifiedFilter: from, dateModifiedToFilter: to });
    portal.addAsset({ id: 'before', dateModified: at(S - 5) });
    portal.addAsset({ id: 'A', dateModified: at(S) });
    portal.afterList = (call) => {
      if (call === 1) portal.addAsset({ id: 'C', dateModified: at(S + 0.9) });
    };
    const run1 = await drain(portal, { runStartedAt: at(S + 0.5), overlapSeconds: 1 });
    const bookmark = nextBookmark(run1.cursor!);
    const run2 = await drain(portal, { runStartedAt: at(S + 3600), overlapSeconds: 1, bookmark });
    const all = [...run1.ids, ...run2.ids].sort();
    expect(all).toEqual(['A', 'C', 'before']);
    expect(run1.ids).not.toContain('C');
  });

  it('without the overlap a strict filter would lose the asset of the bookmark second (what the overlap is for)', async () => {
    const portal = new FakeBynderPortal({ dateModifiedFilter: 'strict' });
    portal.addAsset({ id: 'C', dateModified: at(100) });
    const direct = await portal.listMedia({ dateModified: wholeSecond(100), orderBy: 'dateModified asc', limit: 10 });
    expect(direct.media).toEqual([]);
    const feed = await drain(portal, { runStartedAt: at(200), bookmark: wholeSecond(100), overlapSeconds: 1 });
    expect(feed.ids).toEqual(['C']);
  });
});

describe('paging over a set that changes', () => {
  it.each([
    ['answered', true],
    ['not answered', false],
  ])(
    'an asset modified after its page leaves the frozen window without shifting the next page (total %s)',
    async (_label, answersTotal) => {
      const portal = portalWith(2000, { answersTotal });
      const runStartedAt = '2026-11-02T02:00:00Z';
      portal.beforeList = (call) => {
        if (call === 2) portal.touch(assetId(10), Date.parse('2026-11-02T02:00:30Z'));
      };
      const feed = await drain(portal, { runStartedAt, pageSize: 1000 });
      expect(feed.ids).toHaveLength(2000);
      expect(new Set(feed.ids).size).toBe(2000);

      // The hazard the keyset step avoids: page 2 of the first query now starts one asset late.
      const byPage = await portal.listMedia({ dateModifiedTo: runStartedAt, orderBy: 'dateModified asc', limit: 1000, page: 2 });
      expect(byPage.media[0]?.id).toBe(assetId(1001));
    },
  );

  it('a page whose assets all share one second is paged by number; assets leaving meanwhile step it back, nothing is skipped', async () => {
    // 2,500 assets in one second (a bulk import), then ten more.
    const portal = portalWith(2510, {}, (i) => (i < 2500 ? 50 : 60 + i));
    portal.beforeList = (call, query) => {
      if (query.page === 3 && call < 10) for (let i = 0; i < 5; i++) portal.touch(assetId(i), Date.parse('2026-11-02T02:00:30Z'));
    };
    const feed = await drain(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 1000 });
    expect(new Set(feed.ids).size).toBe(feed.ids.length);
    expect(feed.ids).toHaveLength(2510);
    const pages = queries(portal).map((q) => `${q.dateModified ?? '-'}#${q.page}`);
    // page 1; the keyset step finds no newer second; pages 2, 3; a drop of 5 steps back to 2; 3 again.
    expect(pages).toEqual([
      '-#1',
      `${wholeSecond(49)}#1`,
      `${wholeSecond(49)}#2`,
      `${wholeSecond(49)}#3`,
      `${wholeSecond(49)}#2`,
      `${wholeSecond(49)}#3`,
    ]);
  });

  it('the saved cursor stays small while a bulk import of 5,000 assets in one second is paged', async () => {
    const portal = portalWith(5000, {}, () => 50);
    let largest = 0;
    const ids = new Set<string>();
    for await (const page of listChangedAssets(portal, { runStartedAt: '2026-11-02T02:00:00Z' })) {
      for (const a of page.assets) ids.add(a.id);
      largest = Math.max(largest, JSON.stringify(page.cursor).length);
    }
    expect(ids.size).toBe(5000);
    expect(largest).toBeLessThan(200_000);
  });

  it('a server that ignores the order is paged by number to the end', async () => {
    // Ids ascend while dates descend: a server sorting by id serves the newest first.
    const portal = portalWith(250, { ignoresOrder: true }, (i) => 1000 - i);
    const feed = await drain(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 100 });
    expect(new Set(feed.ids).size).toBe(250);
    expect(queries(portal).map((q) => q.page)).toEqual([1, 2, 3]);
    expect(nextBookmark(feed.cursor!)?.at).toBe(wholeSecond(1000));
  });

  it('a server that answers every page number with the first page stops the feed with a clear error instead of looping', async () => {
    // All in one second and no total: paged by number, and page 2 repeats page 1 forever.
    const portal = portalWith(30, { ignoresPage: true, answersTotal: false }, () => 7);
    await expect(drain(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 })).rejects.toThrow(ChangeFeedStuckError);
    expect(queries(portal).length).toBeLessThan(10);
    await expect(
      drain(
        portalWith(30, { ignoresPage: true, answersTotal: false }, () => 7),
        { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 },
      ),
    ).rejects.toThrow(/does not seem to honour the page parameter/);
  });

  it('a server that serves fewer than asked per page is followed to its total', async () => {
    const portal = portalWith(120, { maxLimit: 50 }, (i) => Math.floor(i / 60));
    const feed = await drain(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 1000 });
    expect(new Set(feed.ids).size).toBe(120);
  });

  it('without a total, a short page ends the feed', async () => {
    const portal = portalWith(25, { answersTotal: false });
    const feed = await drain(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });
    expect(new Set(feed.ids).size).toBe(25);
    expect(queries(portal).at(-1)?.page).toBe(1);
  });
});

describe('brands, resuming and the bookmark', () => {
  it('one feed per brand, each from the run window; the bookmark is the largest date over all', async () => {
    const portal = new FakeBynderPortal();
    portal.addAsset({ id: 'x1', brandId: 'b1', dateModified: at(10) });
    portal.addAsset({ id: 'y1', brandId: 'b2', dateModified: at(5) });
    portal.addAsset({ id: 'z1', brandId: 'b3', dateModified: at(50) });
    const feed = await drain(portal, { runStartedAt: at(100), bookmark: wholeSecond(1), overlapSeconds: 1, brandIds: ['b1', 'b2'] });
    expect(feed.ids).toEqual(['x1', 'y1']);
    expect(queries(portal).map((q) => [q.brandId, q.dateModified])).toEqual([
      ['b1', wholeSecond(0)],
      ['b2', wholeSecond(0)],
    ]);
    expect(nextBookmark(feed.cursor!)?.at).toBe(wholeSecond(10));
  });

  it('the cursor survives JSON and resumes the feed where it stopped', async () => {
    const portal = portalWith(35);
    const request = { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 };
    const first = await readChangePage(portal, startChangeCursor(request));
    const saved = JSON.parse(JSON.stringify(first.cursor)) as unknown;
    const resumed = await drain(portal, request, parseChangeCursor(saved));
    expect(new Set([...first.assets.map((a) => a.id), ...resumed.ids]).size).toBe(35);
    expect([...first.assets.map((a) => a.id), ...resumed.ids]).toHaveLength(35);
    expect(() => parseChangeCursor({ ...first.cursor, page: 0 })).toThrow(/saved Bynder change cursor is not valid \(page: /);
  });

  it('has no bookmark before the feed is done; keeps the old one when nothing was seen', async () => {
    const portal = portalWith(15);
    const start = startChangeCursor({ runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 });
    const page = await readChangePage(portal, start);
    expect(() => nextBookmark(page.cursor)).toThrow(/has not finished/);

    const empty = new FakeBynderPortal();
    const bookmark: ChangeBookmark = { at: wholeSecond(14), seen: { [wholeSecond(14)]: [assetId(14)] } };
    const feed = await drain(empty, { runStartedAt: '2026-11-02T02:00:00Z', bookmark });
    expect(nextBookmark(feed.cursor!)).toEqual(bookmark);
  });

  it('an asset the planner held back keeps the bookmark at its date and is yielded again next run', async () => {
    const portal = portalWith(20);
    const request = { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 100 };
    const page = await readChangePage(portal, startChangeCursor(request));
    const failed = page.assets.find((a) => a.id === assetId(7)) as BynderAsset;
    const cursor = holdBack(page.cursor, [failed]);
    const bookmark = nextBookmark(cursor);
    expect(bookmark?.at).toBe(wholeSecond(7));
    const next = await drain(portal, { runStartedAt: '2026-11-03T02:00:00Z', bookmark, pageSize: 100 });
    expect(next.ids).toEqual([assetId(7)]);
  });

  it('a held-back page cursor assigned inside the loop is the one the feed goes on from and ends with', async () => {
    const portal = portalWith(30);
    let last: ChangeCursor | undefined;
    for await (const page of listChangedAssets(portal, { runStartedAt: '2026-11-02T02:00:00Z', pageSize: 10 })) {
      const failed = page.assets.find((a) => a.id === assetId(4));
      if (failed) page.cursor = holdBack(page.cursor, [failed]);
      last = page.cursor;
    }
    expect(last?.done).toBe(true);
    expect(nextBookmark(last!)?.at).toBe(wholeSecond(4));
  });

  it('never moves the bookmark past the frozen upper bound', async () => {
    const portal = new FakeBynderPortal({ dateModifiedToFilter: 'strict' });
    portal.addAsset({ id: 'late', dateModified: at(500) });
    // A portal that ignores dateModifiedTo would list it; simulated by listing without the bound.
    const listMedia = portal.listMedia.bind(portal);
    portal.listMedia = (query) => listMedia({ ...query, dateModifiedTo: undefined });
    const feed = await drain(portal, { runStartedAt: at(100) });
    expect(feed.ids).toEqual(['late']);
    expect(nextBookmark(feed.cursor!)?.at).toBe(wholeSecond(100));
  });
});
