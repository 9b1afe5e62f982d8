/**
 * Asset ids remembered with the whole-second date they were seen with, as the change feed's
 * cursor and bookmark store them: grouped by date (`{"2026-11-01T00:00:50Z": ["id", ...]}`),
 * because the ids a feed must remember mostly share a few seconds (a page's last second, a bulk
 * import, the bookmark's overlap) and each date is then written once. That keeps a cursor of
 * a few thousand ids well inside the DynamoDB item the planner saves it in. In memory they are
 * a Map in the order seen, which is what the limits keep the newest of.
 */
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';

/** Date ('' for an asset listed without one) -> ids seen with that date, in the order seen. */
export const SeenIdsSchema = lazySchema(() => z.record(z.string(), z.array(z.string())));
export type SeenIds = z.infer<typeof SeenIdsSchema>;

/** id -> date, in the order seen (dates ascending, then the order within a date). */
export function seenIdsToMap(seen: SeenIds): Map<string, string> {
  const map = new Map<string, string>();
  for (const date of Object.keys(seen).sort()) for (const id of seen[date] ?? []) map.set(id, date);
  return map;
}

/** The newest `limit` entries of `map`, grouped by date. */
export function seenIdsFromMap(map: ReadonlyMap<string, string>, limit: number): SeenIds {
  const entries = [...map.entries()];
  const kept = entries.length <= limit ? entries : entries.slice(entries.length - limit);
  const seen: SeenIds = {};
  for (const [id, date] of kept) (seen[date] ??= []).push(id);
  return seen;
}

/** Entries dated at or after `from` (whole-second UTC compares as text); undated ones are dropped. */
export function seenIdsFrom(map: ReadonlyMap<string, string>, from: string): Map<string, string> {
  const kept = new Map<string, string>();
  for (const [id, date] of map) if (date !== '' && date >= from) kept.set(id, date);
  return kept;
}

export function countSeenIds(seen: SeenIds): number {
  let count = 0;
  for (const ids of Object.values(seen)) count += ids.length;
  return count;
}
