/**
 * `limit` and `page` as the v4 API takes them: limit 1..1000 (default 50), page from 1
 * (default 1). Out-of-range values are refused rather than clamped, so a client that asks for
 * 5000 a page learns it here and not from a silently short page.
 */
export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 50;

export type PageParams = { ok: true; limit: number; page: number } | { ok: false; message: string };

function positiveInt(raw: string | null): number | undefined | 'invalid' {
  if (raw === null || raw.trim() === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) return 'invalid';
  return Number(raw.trim());
}

export function pageParams(query: URLSearchParams): PageParams {
  const limit = positiveInt(query.get('limit'));
  const page = positiveInt(query.get('page'));
  if (limit === 'invalid' || (limit !== undefined && (limit < 1 || limit > MAX_LIMIT))) {
    return { ok: false, message: `Parameter limit must be an integer from 1 to ${MAX_LIMIT}, got '${query.get('limit')}'.` };
  }
  if (page === 'invalid' || page === 0) {
    return { ok: false, message: `Parameter page must be an integer from 1, got '${query.get('page')}'.` };
  }
  return { ok: true, limit: limit ?? DEFAULT_LIMIT, page: page ?? 1 };
}
