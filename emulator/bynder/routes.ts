/**
 * The Bynder emulator's route table. Paths are matched with or without a trailing slash (the
 * SDKs disagree). Templates are what faults target and the call counter counts; paths under
 * `/api` are written relative to it (`GET /v4/media/{id}`), as in the iBinder emulator, so that
 * `calls.count('GET /api/v4/media/{id}')` and `calls.count('GET /v4/media/{id}')` agree.
 * Every reading the reference pages allow has its own template, so a test can tell which one
 * a client used.
 */
import type { RouteKind } from '../routes.js';

export type BynderRouteName =
  | 'token'
  | 'tokenRefresh'
  | 'brands'
  | 'metaproperties'
  | 'metaproperty'
  | 'metapropertyOptions'
  | 'listMedia'
  | 'getMedia'
  | 'deleteMedia'
  | 'download'
  | 'downloadVersion'
  | 'downloadItem'
  | 'fsPrepare'
  | 'fsChunk'
  | 'fsFinalise'
  | 'uploadEndpoint'
  | 'uploadInit'
  | 'uploadRegisterOrFinalise'
  | 'uploadPoll'
  | 'saveNew'
  | 'saveVersion'
  | 'bucketPost'
  | 'storageDownload';

export interface BynderRoute {
  name: BynderRouteName;
  kind: RouteKind;
  method: string;
  /** Full path template. */
  path: string;
  /** The counted and faulted template (`/api` prefix removed). */
  template: string;
}

function route(name: BynderRouteName, kind: RouteKind, method: string, path: string): BynderRoute {
  return { name, kind, method, path, template: path.startsWith('/api/') ? path.slice(4) : path };
}

/** Literal segments (`save`, `download`, `poll`) come before `{id}` templates of the same length. */
export const BYNDER_ROUTES: readonly BynderRoute[] = [
  route('token', 'token', 'POST', '/v6/authentication/oauth2/token'),
  route('token', 'token', 'POST', '/v6/authentication/oauth2/token/client-credentials'),
  route('tokenRefresh', 'token', 'POST', '/v6/authentication/oauth2/token/refresh'),
  route('brands', 'api', 'GET', '/api/v4/brands'),
  route('metaproperties', 'api', 'GET', '/api/v4/metaproperties'),
  route('metaproperty', 'api', 'GET', '/api/v4/metaproperties/{id}'),
  route('metapropertyOptions', 'api', 'GET', '/api/v4/metaproperties/{id}/options'),
  route('listMedia', 'api', 'GET', '/api/v4/media'),
  route('saveNew', 'api', 'POST', '/api/v4/media/save'),
  route('saveNew', 'api', 'POST', '/api/v4/media/save/{importId}'),
  route('getMedia', 'api', 'GET', '/api/v4/media/{id}'),
  route('deleteMedia', 'api', 'DELETE', '/api/v4/media/{id}'),
  route('download', 'api', 'GET', '/api/v4/media/{id}/download'),
  route('downloadItem', 'api', 'GET', '/api/v4/media/{id}/download/{itemId}'),
  route('downloadVersion', 'api', 'GET', '/api/v4/media/{id}/{version}/download'),
  route('saveVersion', 'api', 'POST', '/api/v4/media/{id}/save'),
  route('saveVersion', 'api', 'POST', '/api/v4/media/{id}/save/{importId}'),
  route('fsPrepare', 'api', 'POST', '/v7/file_cmds/upload/prepare'),
  route('fsChunk', 'api', 'POST', '/v7/file_cmds/upload/{file_id}/chunk/{n}'),
  route('fsFinalise', 'api', 'POST', '/v7/file_cmds/upload/{file_id}/finalise_api'),
  route('fsPrepare', 'api', 'POST', '/v7/file/cmds/upload/prepare'),
  route('fsChunk', 'api', 'POST', '/v7/file/cmds/upload/{file_id}/chunk/{n}'),
  route('fsFinalise', 'api', 'POST', '/v7/file/cmds/upload/{file_id}/finalise'),
  route('uploadEndpoint', 'api', 'GET', '/api/upload/endpoint'),
  route('uploadInit', 'api', 'POST', '/api/upload/init'),
  route('uploadPoll', 'api', 'GET', '/api/v4/upload/poll'),
  route('uploadRegisterOrFinalise', 'api', 'POST', '/api/v4/upload'),
  route('uploadRegisterOrFinalise', 'api', 'POST', '/api/v4/upload/{id}'),
  route('bucketPost', 'storage', 'POST', '/bucket'),
  route('storageDownload', 'storage', 'GET', '/storage/{generation}/{itemId}/{fileName}'),
];

/** Templates of the routes the named fault shortcuts aim at. */
export const CHUNK_TEMPLATES = BYNDER_ROUTES.filter((r) => r.name === 'fsChunk').map((r) => r.template);
export const FINALISE_TEMPLATES = [
  ...BYNDER_ROUTES.filter((r) => r.name === 'fsFinalise').map((r) => r.template),
  ...BYNDER_ROUTES.filter((r) => r.name === 'uploadRegisterOrFinalise').map((r) => r.template),
];
export const SAVE_TEMPLATES = BYNDER_ROUTES.filter((r) => r.name === 'saveNew' || r.name === 'saveVersion').map((r) => r.template);

export type BynderRouteResolution =
  | { found: true; route: BynderRoute; params: Record<string, string> }
  | { found: false; kind: RouteKind | undefined; allowedMethods: string[] };

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1, -1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w.toLowerCase() !== g.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

function kindOfPath(path: string): RouteKind | undefined {
  if (path.startsWith('/v6/')) return 'token';
  if (path.startsWith('/api/') || path.startsWith('/v7/')) return 'api';
  if (path === '/bucket' || path.startsWith('/storage/')) return 'storage';
  return undefined;
}

/** HEAD resolves to the GET route. `allowedMethods` lists the methods the path has (405 material). */
export function resolveBynderRoute(method: string, rawPath: string): BynderRouteResolution {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const effective = method === 'HEAD' ? 'GET' : method;
  const allowed: string[] = [];
  for (const r of BYNDER_ROUTES) {
    const params = matchPath(r.path, path);
    if (!params) continue;
    if (r.method === effective) return { found: true, route: r, params };
    allowed.push(r.method);
  }
  return { found: false, kind: kindOfPath(path), allowedMethods: [...new Set(allowed)] };
}
