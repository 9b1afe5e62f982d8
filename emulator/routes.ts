/**
 * The emulator's route table. Every request is resolved to a route template before anything
 * else happens, because templates are what faults target and what the call counter counts
 * ("N calls of `GET /documents/{documentId}/versions` per run"). API templates are written
 * relative to `/api`, exactly as the reference table lists them.
 */

export type RouteKind = 'api' | 'token' | 'storage';

export type RouteName =
  | 'token'
  | 'listBinders'
  | 'metadataElements'
  | 'searchDocuments'
  | 'driveFolders'
  | 'subFolders'
  | 'folderDocuments'
  | 'presignedUpload'
  | 'commitUpload'
  | 'getDocument'
  | 'listVersions'
  | 'getVersion'
  | 'downloadLinkRaw'
  | 'downloadLinkLegacy'
  | 'storageUpload'
  | 'storageDownload';

export interface RouteDefinition {
  name: RouteName;
  kind: RouteKind;
  method: string;
  /** Path template; for `api` routes relative to `/api`. */
  template: string;
}

/** `METHOD template`, the key used by faults, the call counter and logs. */
export function routeKey(route: Pick<RouteDefinition, 'method' | 'template'>): string {
  return `${route.method} ${route.template}`;
}

/** Order matters: the first template that matches wins, so literal segments (`drives`, `uploads`) come before `{documentId}`. */
export const ROUTES: readonly RouteDefinition[] = [
  { name: 'token', kind: 'token', method: 'POST', template: '/connect/token' },
  { name: 'listBinders', kind: 'api', method: 'GET', template: '/binders' },
  { name: 'metadataElements', kind: 'api', method: 'GET', template: '/binders/{id}/metadataelements' },
  { name: 'searchDocuments', kind: 'api', method: 'POST', template: '/documents' },
  { name: 'presignedUpload', kind: 'api', method: 'GET', template: '/documents/uploads/personalstorage/presignedupload' },
  { name: 'driveFolders', kind: 'api', method: 'GET', template: '/documents/drives/{domain}/{id}' },
  { name: 'subFolders', kind: 'api', method: 'GET', template: '/documents/drives/{domain}/{id}/{folderId}' },
  { name: 'folderDocuments', kind: 'api', method: 'GET', template: '/documents/drives/{domain}/{id}/{folderId}/documents' },
  { name: 'commitUpload', kind: 'api', method: 'POST', template: '/documents/drives/{domain}/{id}/{folderId}/upload' },
  { name: 'getDocument', kind: 'api', method: 'GET', template: '/documents/{documentId}' },
  { name: 'listVersions', kind: 'api', method: 'GET', template: '/documents/{documentId}/versions' },
  { name: 'getVersion', kind: 'api', method: 'GET', template: '/documents/{documentId}/versions/{versionId}' },
  { name: 'downloadLinkRaw', kind: 'api', method: 'GET', template: '/documents/{documentId}/versions/{versionId}/raw' },
  { name: 'downloadLinkLegacy', kind: 'api', method: 'GET', template: '/documents/{documentId}/versions/{versionId}/downloadlink' },
  { name: 'storageUpload', kind: 'storage', method: 'PUT', template: '/storage/upload/{uploadId}' },
  { name: 'storageDownload', kind: 'storage', method: 'GET', template: '/storage/download/{versionId}' },
];

export type RouteResolution =
  | { found: true; route: RouteDefinition; params: Record<string, string> }
  | { found: false; kind: RouteKind | undefined; allowedMethods: string[] };

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return undefined;
      }
      params[w.slice(1, -1)] = value;
    } else if (w.toLowerCase() !== g.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

function kindOfPath(path: string): { kind: RouteKind | undefined; relative: string } {
  if (path === '/api' || path.startsWith('/api/')) return { kind: 'api', relative: path.slice(4) || '/' };
  if (path.startsWith('/storage/')) return { kind: 'storage', relative: path };
  if (path.startsWith('/connect/')) return { kind: 'token', relative: path };
  return { kind: undefined, relative: path };
}

/**
 * Resolves a method and URL path. HEAD resolves to the GET route (storage downloads answer
 * it). When the path exists under other methods, `allowedMethods` lists them (405 material).
 */
export function resolveRoute(method: string, rawPath: string): RouteResolution {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const { kind, relative } = kindOfPath(path);
  const effectiveMethod = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const route of ROUTES) {
    if (route.kind !== kind) continue;
    const params = matchTemplate(route.template, relative);
    if (!params) continue;
    if (route.method === effectiveMethod) return { found: true, route, params };
    allowed.push(route.method);
  }
  return { found: false, kind, allowedMethods: [...new Set(allowed)] };
}
