/**
 * Dates of the change feed, in the one form Bynder's filters take reliably: whole-second UTC,
 * `2026-12-04T03:17:28Z`. Bynder's dates have one-second precision, and a `+01:00` offset in a
 * query string turns into a space unless encoded, so every date this feed sends is first
 * normalised here. Reading is lenient (any ISO 8601 the API answers, with or without
 * milliseconds or offset); writing is strict.
 */

/** Milliseconds of the instant `value` names, floored to the second; undefined when unreadable. */
export function wholeSecondMs(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  return Math.floor(ms / 1000) * 1000;
}

/** `2026-12-04T03:17:28Z`: whole-second UTC, as the change feed sends every date. */
export function formatWholeSecond(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Normalises an ISO 8601 date to whole-second UTC; throws, naming `what`, when it is not one. */
export function toWholeSecond(value: string | Date, what: string): string {
  const ms = value instanceof Date ? value.getTime() : wholeSecondMs(value);
  if (ms === undefined || Number.isNaN(ms)) {
    throw new RangeError(`${what} "${String(value)}" is not an ISO 8601 date such as 2026-12-04T03:17:28Z`);
  }
  return formatWholeSecond(ms);
}

/** `value` (whole-second UTC) moved by `seconds` (negative: earlier). */
export function shiftSeconds(value: string, seconds: number): string {
  return formatWholeSecond(Date.parse(value) + seconds * 1000);
}
