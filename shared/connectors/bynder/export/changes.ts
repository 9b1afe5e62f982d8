/**
 * The change feed of the nightly Bynder export: the assets modified since the last run, read
 * from `GET /api/v4/media/` page by page, with a cursor the planner saves after each page so
 * that a run paused by a 429 block (or by its time budget) resumes where it stopped.
 *
 * The window. `dateModified` = the stored bookmark minus an overlap, `dateModifiedTo` = the
 * run's start, both whole-second UTC and frozen for the whole run (the cursor carries them).
 * The overlap is there because Bynder's dates have one-second precision and whether
 * `dateModified` ("modified after") is strict is unconfirmed: an asset in the bookmark's own
 * second may not have been listed yet when the last run read it. The frozen upper bound keeps
 * assets modified during the run out of it (they belong to the next run, whose window starts
 * at or before this run's largest date), so no asset can enter the set being paged.
 *
 * Why keyset steps rather than page numbers. Ordered by `dateModified asc`, an asset modified
 * while the run pages leaves the frozen window, and every asset after it moves one position
 * forward: with `page=N` offsets the next page starts one asset too late and skips it, and the
 * bookmark (the largest date seen) then moves past the skipped asset for good. So after a full
 * page the next query starts again at page 1 from the page's largest date minus one second
 * (which re-reads that whole second under either reading of the filter); what left the window
 * behind that bound cannot shift anything ahead of it. Only when a whole page shares that
 * second (a bulk import of `pageSize` assets in one second, or assets without dates) does the
 * cursor page by number within the same bound; there, a drop of the answered `total` between
 * two pages (assets left) steps the page number back by as many positions, so nothing is skipped.
 * A server that does not honour the order (a page not ascending) is paged by number to the end.
 *
 * Dedupe. A listed asset is yielded once per run and date: the cursor keeps the ids (with their
 * date) it yielded at or after its current lower bound, so the re-read second and a stepped-back
 * page repeat nothing. The bookmark keeps the ids of its last seconds the same way, so the next
 * run's overlap repeats nothing either: an unchanged night costs only the list calls. An asset
 * listed again with a different date has changed since, and is yielded again.
 *
 * The bookmark is the largest `dateModified` seen (never past the frozen upper bound), held
 * back to the earliest asset the planner could not plan (`holdBack`), and unchanged when
 * nothing was seen. It is only valid once the feed is done (`nextBookmark`).
 */
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import type { BynderAsset, BynderClient, ListMediaQuery } from '../client/types.js';
import { formatWholeSecond, shiftSeconds, toWholeSecond, wholeSecondMs } from './dates.js';
import { SeenIdsSchema, seenIdsFrom, seenIdsFromMap, seenIdsToMap } from './seen-ids.js';

/** Bynder's largest `limit` on `GET /api/v4/media/`. */
export const MAX_PAGE_SIZE = 1000;
/** Seconds re-read before the bookmark: ties at one-second precision, a strict filter, and the portal's clock. */
export const DEFAULT_OVERLAP_SECONDS = 60;
/**
 * Ids the bookmark (and a cursor's `tail` and `settled`) remember at most; the cursor's `recent`
 * keeps up to two pages' worth (`recentLimitOf`), so that stepping back one page repeats
 * nothing. The planner stores the cursor in a DynamoDB item (400 KB at most); grouped by date
 * (seen-ids.ts) an id costs about 40 bytes, so with pages of 1,000 the three lists stay under
 * 160 KB. Past a limit the oldest are forgotten: an asset listed again is then yielded again
 * (one getMedia call), and the export ledger makes its versions no-ops.
 */
export const MAX_REMEMBERED_IDS = 1000;

/** How many ids `recent` keeps: two full pages and one. */
export function recentLimitOf(pageSize: number): number {
  return Math.max(MAX_REMEMBERED_IDS, 2 * pageSize + 1);
}
export const CHANGE_ORDER = 'dateModified asc';

const wholeSecondText = lazySchema(() => z.string().check(z.regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)));
const seenIds = SeenIdsSchema;

/** Where the next run's feed starts: the largest date seen, and the ids seen in its last seconds. */
export const ChangeBookmarkSchema = lazySchema(() =>
  z.object({
    at: wholeSecondText,
    /** Ids of assets seen at `at` minus the overlap or later, with their date: the next run does not yield them again. */
    seen: z._default(seenIds, {}),
  }),
);
export type ChangeBookmark = z.infer<typeof ChangeBookmarkSchema>;

/** The feed's position, saved by the planner after each page; JSON, validated when read back. */
export const ChangeCursorSchema = lazySchema(() =>
  z.object({
    formatVersion: z.literal(1),
    /** The run's lower bound (bookmark minus overlap); null on a first run: every asset. */
    windowFrom: z.nullable(wholeSecondText),
    /** The frozen upper bound (`dateModifiedTo`): the run's start. */
    windowTo: wholeSecondText,
    overlapSeconds: z.int().check(z.gte(1)),
    pageSize: z.int().check(z.gte(1), z.lte(MAX_PAGE_SIZE)),
    /** One feed per brand, in this order; null: every brand in one feed. */
    brandIds: z.nullable(z.array(z.string().check(z.minLength(1)))),
    brandIndex: z.int().check(z.nonnegative()),
    /** The current query's lower bound: windowFrom at a brand's start, then the keyset steps. */
    from: z.nullable(wholeSecondText),
    /** Page of the current query (1 unless a page's assets all share one second, or the order is not honoured). */
    page: z.int().check(z.gte(1)),
    /** True once the server was seen not to honour the order: page numbers to the brand's end. */
    byPageNumber: z.boolean(),
    /** `total` answered by the current query's last page (to notice assets leaving the window). */
    lastTotal: z.optional(z.int().check(z.nonnegative())),
    /** Length of a full page as the server serves it (it may cap `limit`). */
    servedPageSize: z.optional(z.int().check(z.gte(1))),
    /** Ids yielded at or after `from` in this brand: re-read ones are not yielded twice. */
    recent: seenIds,
    /** The previous bookmark's ids: the overlap does not yield them again. */
    settled: seenIds,
    /** The bookmark the run started from (kept when nothing is seen). */
    bookmark: z.nullable(wholeSecondText),
    /** Largest date seen (whole-second UTC, at most windowTo). */
    maxSeen: z.optional(wholeSecondText),
    /** Ids seen at maxSeen minus the overlap or later: the next bookmark's `seen`. */
    tail: seenIds,
    /** Earliest date of an asset the planner could not plan: the bookmark stays at or before it. */
    holdAt: z.optional(wholeSecondText),
    /** Pages in a row, paged by number, that held no asset not yielded before. */
    idlePages: z._default(z.int().check(z.nonnegative()), 0),
    assetsYielded: z.int().check(z.nonnegative()),
    listCalls: z.int().check(z.nonnegative()),
    done: z.boolean(),
  }),
);
export type ChangeCursor = z.infer<typeof ChangeCursorSchema>;

export interface ChangeFeedRequest {
  /** The last completed run's bookmark; a bare ISO date is read as one with no ids. Absent: first run. */
  bookmark?: ChangeBookmark | string | undefined;
  /** When the run started (the frozen upper bound). */
  runStartedAt: Date | string;
  overlapSeconds?: number | undefined;
  /** Assets per list call, at most 1,000. */
  pageSize?: number | undefined;
  /** Brand ids the export covers; absent or empty: every brand. */
  brandIds?: readonly string[] | undefined;
}

export class InvalidChangeFeedRequestError extends RangeError {
  override readonly name = 'InvalidChangeFeedRequestError';
}

/**
 * Pages in a row, paged by number, that may hold nothing new before the feed concludes that the
 * portal answers every page number with the same assets (a step back after assets left the
 * window repeats at most two).
 */
export const MAX_IDLE_PAGES = 5;

/** The portal keeps answering new page numbers with assets already read: it does not seem to honour `page`. */
export class ChangeFeedStuckError extends Error {
  override readonly name = 'ChangeFeedStuckError';
  constructor(query: ListMediaQuery, pages: number) {
    super(
      `Bynder answered ${pages} page numbers in a row of GET /api/v4/media/ (dateModified ${query.dateModified ?? 'none'}, ` +
        `dateModifiedTo ${query.dateModifiedTo}, page ${query.page}) with assets this run had already read, and no total to stop at; ` +
        'the portal does not seem to honour the page parameter. The run stops here rather than loop; its bookmark does not move',
    );
  }
}

/** The cursor of a run's first page. */
export function startChangeCursor(request: ChangeFeedRequest): ChangeCursor {
  const pageSize = request.pageSize ?? MAX_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidChangeFeedRequestError(
      `change feed page size ${pageSize} is not an integer from 1 to ${MAX_PAGE_SIZE} (Bynder's largest limit)`,
    );
  }
  const overlapSeconds = request.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
  if (!Number.isInteger(overlapSeconds) || overlapSeconds < 1) {
    throw new InvalidChangeFeedRequestError(
      `change feed overlap ${overlapSeconds} s is not a whole number of at least 1: with one-second dates and a strict filter, a smaller overlap loses assets of the bookmark's own second`,
    );
  }
  const windowTo = wrapDateError(() => toWholeSecond(request.runStartedAt, 'run start'));
  const bookmark = readBookmark(request.bookmark);
  let windowFrom = bookmark ? shiftSeconds(bookmark.at, -overlapSeconds) : null;
  if (windowFrom !== null && windowFrom > windowTo) windowFrom = shiftSeconds(windowTo, -overlapSeconds);
  const brandIds = request.brandIds && request.brandIds.length > 0 ? [...new Set(request.brandIds)] : null;
  return {
    formatVersion: 1,
    windowFrom,
    windowTo,
    overlapSeconds,
    pageSize,
    brandIds,
    brandIndex: 0,
    from: windowFrom,
    page: 1,
    byPageNumber: false,
    recent: {},
    settled: seenIdsFromMap(seenIdsToMap(bookmark?.seen ?? {}), MAX_REMEMBERED_IDS),
    bookmark: bookmark?.at ?? null,
    tail: {},
    idlePages: 0,
    assetsYielded: 0,
    listCalls: 0,
    done: false,
  };
}

/** Reads a cursor saved by the planner; the error says what is wrong with it. */
export function parseChangeCursor(value: unknown): ChangeCursor {
  const parsed = ChangeCursorSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidChangeFeedRequestError(
      `saved Bynder change cursor is not valid (${issues}); start the run's feed again from its bookmark`,
    );
  }
  return parsed.data;
}

/** One page of changed assets and the cursor to save once the page is planned. */
export interface ChangePage {
  /** Assets new to this run, in the order listed. */
  assets: BynderAsset[];
  /** Where the feed goes on; `done` when this was the last page. */
  cursor: ChangeCursor;
}

/** The ListMediaQuery the cursor's next call sends. */
export function changeQueryOf(cursor: ChangeCursor): ListMediaQuery {
  const brandId = cursor.brandIds ? cursor.brandIds[cursor.brandIndex] : undefined;
  return {
    ...(brandId !== undefined ? { brandId } : {}),
    ...(cursor.from !== null ? { dateModified: cursor.from } : {}),
    dateModifiedTo: cursor.windowTo,
    orderBy: CHANGE_ORDER,
    limit: cursor.pageSize,
    page: cursor.page,
    total: true,
  };
}

/** Reads the page at `cursor` (one list call); a done cursor reads nothing. */
export async function readChangePage(client: Pick<BynderClient, 'listMedia'>, cursor: ChangeCursor): Promise<ChangePage> {
  if (cursor.done) return { assets: [], cursor };
  const result = await client.listMedia(changeQueryOf(cursor));
  const media = result.media;
  const next: ChangeCursor = { ...cursor, listCalls: cursor.listCalls + 1 };
  const recent = seenIdsToMap(cursor.recent);
  let tail = seenIdsToMap(cursor.tail);
  const settled = seenIdsToMap(cursor.settled);
  const windowToMs = Date.parse(cursor.windowTo);

  const assets: BynderAsset[] = [];
  let maxOnPage: number | undefined;
  let ascending = true;
  let previous: number | undefined;
  for (const asset of media) {
    const ms = wholeSecondMs(asset.dateModified);
    if (ms !== undefined) {
      if (previous !== undefined && ms < previous) ascending = false;
      previous = ms;
      maxOnPage = maxOnPage === undefined ? ms : Math.max(maxOnPage, ms);
    }
    const date = ms === undefined ? '' : formatWholeSecond(ms);
    if (recent.get(asset.id) === date || settled.get(asset.id) === date) continue;
    recent.delete(asset.id);
    recent.set(asset.id, date);
    assets.push(asset);
    if (ms !== undefined) {
      const seen = formatWholeSecond(Math.min(ms, windowToMs));
      if (next.maxSeen === undefined || seen > next.maxSeen) next.maxSeen = seen;
      tail.delete(asset.id);
      tail.set(asset.id, date);
    }
  }
  next.assetsYielded += assets.length;
  next.idlePages = cursor.page > 1 && assets.length === 0 ? cursor.idlePages + 1 : 0;
  if (next.idlePages >= MAX_IDLE_PAGES) throw new ChangeFeedStuckError(changeQueryOf(cursor), next.idlePages);
  if (next.maxSeen !== undefined) tail = seenIdsFrom(tail, shiftSeconds(next.maxSeen, -cursor.overlapSeconds));
  next.recent = seenIdsFromMap(recent, recentLimitOf(cursor.pageSize));
  next.tail = seenIdsFromMap(tail, MAX_REMEMBERED_IDS);

  const total = result.total;
  // A server may serve fewer than asked for per page; pages are then numbered in its steps.
  const served = Math.max(1, cursor.servedPageSize ?? media.length);
  if (!ascending && media.length > 1) next.byPageNumber = true;

  // Assets left the window since the last page of this query: positions moved forward by as many.
  const dropped = total !== undefined && cursor.lastTotal !== undefined && total < cursor.lastTotal ? cursor.lastTotal - total : 0;
  if (dropped > 0 && cursor.page > 1) {
    const position = Math.max(0, (cursor.page - 1) * served - dropped);
    return { assets, cursor: { ...next, page: Math.floor(position / served) + 1, lastTotal: total } };
  }

  const offset = (cursor.page - 1) * served;
  const last =
    media.length === 0 ||
    (total !== undefined ? offset + media.length >= total : media.length < (cursor.servedPageSize ?? cursor.pageSize));
  if (last) return { assets, cursor: nextBrand(next) };
  next.servedPageSize = served;

  const keysetFrom = maxOnPage !== undefined ? formatWholeSecond(maxOnPage - 1000) : undefined;
  if (!next.byPageNumber && keysetFrom !== undefined && (cursor.from === null || keysetFrom > cursor.from)) {
    const { lastTotal: _dropTotal, ...rest } = next;
    return {
      assets,
      cursor: {
        ...rest,
        from: keysetFrom,
        page: 1,
        recent: seenIdsFromMap(seenIdsFrom(recent, keysetFrom), recentLimitOf(cursor.pageSize)),
      },
    };
  }
  return { assets, cursor: { ...next, page: cursor.page + 1, ...(total !== undefined ? { lastTotal: total } : {}) } };
}

/**
 * The planner could not plan these assets of the page (it gives up on them for this run): the
 * bookmark stays at or before the earliest of their dates, and they are not remembered as
 * seen, so the next run lists and yields them again.
 */
export function holdBack(cursor: ChangeCursor, assets: readonly Pick<BynderAsset, 'id' | 'dateModified'>[]): ChangeCursor {
  if (assets.length === 0) return cursor;
  const next: ChangeCursor = { ...cursor };
  const tail = seenIdsToMap(cursor.tail);
  const settled = seenIdsToMap(cursor.settled);
  for (const asset of assets) {
    tail.delete(asset.id);
    settled.delete(asset.id);
    // An asset without a date matches no date filter: holding the bookmark back would not list it again.
    const ms = wholeSecondMs(asset.dateModified);
    if (ms === undefined) continue;
    const at = formatWholeSecond(Math.min(ms, Date.parse(cursor.windowTo)));
    if (next.holdAt === undefined || at < next.holdAt) next.holdAt = at;
  }
  next.tail = seenIdsFromMap(tail, MAX_REMEMBERED_IDS);
  next.settled = seenIdsFromMap(settled, MAX_REMEMBERED_IDS);
  return next;
}

/**
 * The bookmark the next run starts from. Only a finished feed has one: a paused run's bookmark
 * would move past assets it has not read yet.
 */
export function nextBookmark(cursor: ChangeCursor): ChangeBookmark | undefined {
  if (!cursor.done) {
    throw new InvalidChangeFeedRequestError(
      'the change feed has not finished: a bookmark taken now would skip the pages not read yet; resume the feed from its cursor first',
    );
  }
  let at = cursor.maxSeen;
  if (cursor.holdAt !== undefined && (at === undefined || cursor.holdAt < at)) at = cursor.holdAt;
  if (cursor.bookmark !== null && cursor.holdAt === undefined && (at === undefined || at < cursor.bookmark)) at = cursor.bookmark;
  if (at === undefined) return undefined;
  const keepAfter = shiftSeconds(at, -cursor.overlapSeconds);
  // What the previous bookmark settled and this run did not see again still counts, if recent enough.
  const merged = seenIdsToMap(cursor.settled);
  for (const [id, date] of seenIdsToMap(cursor.tail)) {
    merged.delete(id);
    merged.set(id, date);
  }
  const seen = seenIdsFromMap(seenIdsFrom(merged, keepAfter), MAX_REMEMBERED_IDS);
  return { at, seen };
}

/**
 * The changed assets, page by page, from `request` (or from `resumeFrom`, a cursor saved after
 * a page). Each page's `cursor` is what to save once the page is planned; a page the planner
 * could not fully plan is passed to `holdBack` first, and the feed goes on from the cursor the
 * page holds when the loop asks for the next one (assign `page.cursor = holdBack(...)`).
 */
export async function* listChangedAssets(
  client: Pick<BynderClient, 'listMedia'>,
  request: ChangeFeedRequest,
  resumeFrom?: ChangeCursor | undefined,
): AsyncGenerator<ChangePage, void, undefined> {
  let cursor = resumeFrom ?? startChangeCursor(request);
  while (!cursor.done) {
    const page = await readChangePage(client, cursor);
    yield page;
    cursor = page.cursor;
  }
}

function nextBrand(cursor: ChangeCursor): ChangeCursor {
  const { lastTotal: _lastTotal, servedPageSize: _served, ...rest } = cursor;
  if (cursor.brandIds && cursor.brandIndex + 1 < cursor.brandIds.length) {
    return { ...rest, brandIndex: cursor.brandIndex + 1, from: cursor.windowFrom, page: 1, byPageNumber: false, recent: {} };
  }
  return { ...rest, page: 1, recent: {}, done: true };
}

function readBookmark(bookmark: ChangeBookmark | string | undefined): ChangeBookmark | undefined {
  if (bookmark === undefined) return undefined;
  if (typeof bookmark === 'string') return { at: wrapDateError(() => toWholeSecond(bookmark, 'bookmark')), seen: {} };
  const parsed = ChangeBookmarkSchema.safeParse(bookmark);
  if (!parsed.success) {
    const at = wholeSecondMs((bookmark as { at?: string }).at);
    if (at === undefined) {
      throw new InvalidChangeFeedRequestError(
        `stored Bynder export bookmark ${JSON.stringify(bookmark).slice(0, 200)} has no readable date "at"; set it to the last run's start or remove it for a full export`,
      );
    }
    return { at: formatWholeSecond(at), seen: {} };
  }
  return parsed.data;
}

function wrapDateError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new InvalidChangeFeedRequestError((err as Error).message);
  }
}
