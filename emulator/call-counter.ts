/**
 * Counts requests per route template, so that a benchmark can say "N API calls per run" and a
 * test can assert that a skipped document cost no further calls. Control requests under
 * `/__emulator/` are not counted. Faulted, refused and dropped requests are: they are calls
 * a client made.
 */
import type { RouteKind } from './routes.js';

export interface CallRecord {
  /** Milliseconds since the epoch, by the emulator's clock. */
  at: number;
  method: string;
  /** Route template (API routes relative to `/api`), or `(unmatched)` for unknown paths. */
  route: string;
  kind: RouteKind | 'unmatched';
  /** HTTP status sent; 0 when the connection was dropped before a response. */
  status: number;
  durationMs: number;
}

/** Most recent records kept for `log()`; counts are kept without limit. */
const LOG_CAPACITY = 100_000;

export class CallCounter {
  private readonly counts = new Map<string, { kind: CallRecord['kind']; byStatus: Map<number, number> }>();
  private records: CallRecord[] = [];

  record(call: CallRecord): void {
    const key = `${call.method} ${call.route}`;
    let entry = this.counts.get(key);
    if (!entry) {
      entry = { kind: call.kind, byStatus: new Map() };
      this.counts.set(key, entry);
    }
    entry.byStatus.set(call.status, (entry.byStatus.get(call.status) ?? 0) + 1);
    this.records.push(call);
    if (this.records.length > LOG_CAPACITY * 1.1) this.records = this.records.slice(-LOG_CAPACITY);
  }

  /**
   * Calls of one route. `route` is `METHOD template` (`GET /documents/{documentId}/versions`)
   * or a bare template, which sums every method. `status` narrows to one response status.
   */
  count(route: string, status?: number): number {
    const spaced = route.indexOf(' ');
    const method = spaced > 0 ? route.slice(0, spaced).toUpperCase() : undefined;
    const template = normaliseTemplate(spaced > 0 ? route.slice(spaced + 1) : route);
    let sum = 0;
    for (const [key, entry] of this.counts) {
      const [m, t] = splitKey(key);
      if (t !== template || (method !== undefined && m !== method)) continue;
      sum += status === undefined ? sumValues(entry.byStatus) : (entry.byStatus.get(status) ?? 0);
    }
    return sum;
  }

  /** All counted calls, or those of one kind (`api`, `token`, `storage`). */
  total(kind?: CallRecord['kind']): number {
    let sum = 0;
    for (const entry of this.counts.values()) if (kind === undefined || entry.kind === kind) sum += sumValues(entry.byStatus);
    return sum;
  }

  /** `{ 'GET /binders': 3, ... }`, every route that was called at least once. */
  byRoute(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, entry] of [...this.counts].sort(([a], [b]) => a.localeCompare(b))) out[key] = sumValues(entry.byStatus);
    return out;
  }

  /** The most recent calls (up to 100,000), oldest first. */
  log(): CallRecord[] {
    return this.records.slice(-LOG_CAPACITY);
  }

  reset(): void {
    this.counts.clear();
    this.records = [];
  }
}

function normaliseTemplate(template: string): string {
  const t = template.trim();
  return t === '/api' ? '/' : t.startsWith('/api/') ? t.slice(4) : t;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf(' ');
  return [key.slice(0, i), key.slice(i + 1)];
}

function sumValues(map: Map<number, number>): number {
  let sum = 0;
  for (const v of map.values()) sum += v;
  return sum;
}
