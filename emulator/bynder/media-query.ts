/**
 * `GET /api/v4/media/` filters and order, as the published parameters describe them:
 * `dateModified` ("modified after"; strict or inclusive by a switch, since the pages do not
 * say), `dateModifiedTo`, the same pair for `dateCreated`, `brandId`, `subBrandId`, `type`,
 * `keyword` (name contains, case-insensitive), `tags` (the asset has at least one of the
 * comma-separated tags), `propertyOptionId` (the asset has every listed option), `property_<name>`
 * (option name or text, AND across metaproperties), `ids`, and `orderBy` (`field asc|desc`).
 * Dates that are not ISO 8601 are refused with Bynder's message.
 */
import type { AssetRecord, BynderState } from './state.js';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;
const ORDER_FIELDS = ['dateCreated', 'dateModified', 'datePublished', 'name'] as const;
type OrderField = (typeof ORDER_FIELDS)[number];

export interface MediaQuery {
  predicates: ((asset: AssetRecord) => boolean)[];
  orderField: OrderField;
  descending: boolean;
}

export type MediaQueryResult = { ok: true; query: MediaQuery } | { ok: false; message: string };

/**
 * Parses an ISO 8601 date. A space where the `T` goes is accepted (some clients send it), but
 * a space where an offset's `+` was (an unencoded `+` in the query) is not: that date was
 * corrupted on the way and a real portal would not read it either.
 */
export function parseIsoDate(raw: string): number | undefined {
  const text = raw.trim();
  if (!ISO_DATE.test(text)) return undefined;
  const withT = text.length > 10 ? `${text.slice(0, 10)}T${text.slice(11)}` : text;
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(withT.slice(10));
  const normalised = withT.length === 10 ? `${withT}T00:00:00Z` : hasZone ? withT : `${withT}Z`;
  const ms = Date.parse(normalised.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : ms;
}

function list(raw: string | null): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parseMediaQuery(state: BynderState, params: URLSearchParams, boundary: 'strict' | 'inclusive'): MediaQueryResult {
  const predicates: MediaQuery['predicates'] = [];
  const dateBound = (name: string, pick: (a: AssetRecord) => number, after: boolean): string | undefined => {
    const raw = params.get(name);
    if (raw === null || raw.trim() === '') return undefined;
    const ms = parseIsoDate(raw);
    if (ms === undefined) return `Date format not ISO8601-compliant: ${name}='${raw}' (URL-encode '+' offsets or use a Z date).`;
    if (after) predicates.push(boundary === 'strict' ? (a) => pick(a) > ms : (a) => pick(a) >= ms);
    else predicates.push((a) => pick(a) <= ms);
    return undefined;
  };
  const problems = [
    dateBound('dateModified', (a) => a.dateModified, true),
    dateBound('dateModifiedTo', (a) => a.dateModified, false),
    dateBound('dateCreated', (a) => a.dateCreated, true),
    dateBound('dateCreatedTo', (a) => a.dateCreated, false),
  ].filter((p) => p !== undefined);
  if (problems[0] !== undefined) return { ok: false, message: problems[0] };

  const brandId = params.get('brandId');
  if (brandId) predicates.push((a) => a.brandId === brandId);
  const subBrandId = params.get('subBrandId');
  if (subBrandId) predicates.push((a) => a.subBrandId === subBrandId);
  const type = params.get('type');
  if (type) predicates.push((a) => a.type === type.toLowerCase());
  const keyword = params.get('keyword')?.trim().toLowerCase();
  if (keyword) predicates.push((a) => a.name.toLowerCase().includes(keyword));
  const tags = list(params.get('tags'));
  if (tags.length > 0) predicates.push((a) => tags.some((t) => a.tags.includes(t)));
  const options = list(params.get('propertyOptionId'));
  if (options.length > 0) {
    predicates.push((a) => {
      const held = new Set([...a.metadata.values()].flat());
      return options.every((o) => held.has(o) || held.has(o.toUpperCase()));
    });
  }
  const ids = new Set([...list(params.get('ids')), ...list(params.get('id'))].map((s) => s.toUpperCase()));
  if (ids.size > 0) predicates.push((a) => ids.has(a.id.toUpperCase()));
  for (const [key, value] of params) {
    if (!key.startsWith('property_') || value.trim() === '') continue;
    const mp = state.listMetaproperties().find((m) => m.name === key.slice('property_'.length));
    if (!mp)
      return { ok: false, message: `Unknown metaproperty '${key.slice('property_'.length)}' in ${key}: use the metaproperty's name.` };
    const wanted = list(value).map((v) => v.toLowerCase());
    predicates.push((a) => {
      const held = a.metadata.get(mp.id) ?? [];
      const names = mp.options.length === 0 ? held : held.map((id) => mp.options.find((o) => o.id === id)?.name ?? id);
      return names.some((n) => wanted.includes(n.toLowerCase()));
    });
  }

  const rawOrder = params.get('orderBy')?.trim();
  let orderField: OrderField = 'dateCreated';
  let descending = true;
  if (rawOrder) {
    const [fieldName, direction, extra] = rawOrder.split(/\s+/);
    const known = ORDER_FIELDS.find((f) => f.toLowerCase() === fieldName?.toLowerCase());
    const dir = (direction ?? 'asc').toLowerCase();
    if (!known || (dir !== 'asc' && dir !== 'desc') || extra !== undefined) {
      return {
        ok: false,
        message: `orderBy must be one of ${ORDER_FIELDS.join(', ')} followed by asc or desc (e.g. 'dateModified asc'), got '${rawOrder}'.`,
      };
    }
    orderField = known;
    descending = dir === 'desc';
  }
  return { ok: true, query: { predicates, orderField, descending } };
}

export function runMediaQuery(assets: AssetRecord[], query: MediaQuery): AssetRecord[] {
  const matched = assets.filter((a) => query.predicates.every((p) => p(a)));
  const sign = query.descending ? -1 : 1;
  const f = query.orderField;
  return matched.sort((a, b) => {
    const primary = f === 'name' ? a.name.localeCompare(b.name) : a[f] - b[f];
    return sign * (primary !== 0 ? primary : a.id.localeCompare(b.id));
  });
}
