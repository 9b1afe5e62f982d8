/**
 * Which calls a fault selector names. Shared by the one-off faults and the probabilistic fault
 * mix, so that `api`, `storage`, `GET /binders` and `/api/binders` mean the same in both.
 */
import type { RouteKind } from './routes.js';

export interface CallIdentity {
  method: string;
  /** Route template relative to `/api` for API routes. */
  template: string;
  kind: RouteKind | 'unmatched';
}

/**
 * `selector` is a route template (with or without the `/api` prefix), `METHOD template`,
 * `api`, `token`, `storage`, or `*` (every call). `method`, when given, must also match.
 */
export function selectorMatches(selector: string, method: string | undefined, call: CallIdentity): boolean {
  if (method !== undefined && method.toUpperCase() !== call.method) return false;
  const route = selector.trim();
  if (route === '*') return true;
  if (route === 'api' || route === 'token' || route === 'storage') return call.kind === route;
  const spaced = route.indexOf(' ');
  if (spaced > 0) {
    if (route.slice(0, spaced).toUpperCase() !== call.method) return false;
    return normaliseTemplate(route.slice(spaced + 1)) === call.template;
  }
  return normaliseTemplate(route) === call.template;
}

function normaliseTemplate(template: string): string {
  const t = template.trim();
  return t === '/api' ? '/' : t.startsWith('/api/') ? t.slice(4) : t;
}
