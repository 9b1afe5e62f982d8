/**
 * The token endpoint and the bearer check in front of every API call.
 *
 * Token: form-encoded `grant_type=client_credentials`, the client authenticated in the body or
 * by HTTP Basic (the reference allows both; the JS SDK sends Basic with form-encoded id and
 * secret). Wrong credentials -> 401, in OAuth's `{error}` shape or, switched, Bynder's
 * `{message, statuscode}` (the pages leave the body open). A refresh grant fails (400): client
 * credentials get no refresh token. Scope is optional and echoed; without it, every scope.
 */
import type { BynderContext, BynderHandler, BynderRequest } from './context.js';
import { field, readForm } from './form-body.js';
import { sendJson, sendMessage } from './replies.js';

export const ALL_SCOPES =
  'offline asset:read asset:write collection:read collection:write meta.assetbank:read meta.assetbank:write current.user:read current.profile:read';

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 2.3.1: id and secret are form-encoded before they are put into Basic.
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
}

function tokenError(ctx: BynderContext, { res }: BynderRequest, status: number, error: string, description: string): void {
  if (ctx.options.tokenErrorStyle === 'message' && status === 401) {
    sendMessage(res, status, description);
  } else {
    sendJson(res, status, { error, error_description: description });
  }
}

export const tokenEndpoint: BynderHandler = async (ctx, request) => {
  const form = await readForm(request.req);
  if (!form.ok) {
    tokenError(ctx, request, 400, 'invalid_request', form.message);
    return;
  }
  const grant = field(form.fields, 'grant_type');
  if (grant === undefined) {
    tokenError(ctx, request, 400, 'invalid_request', 'The grant_type field is missing; send grant_type=client_credentials.');
    return;
  }
  if (grant === 'refresh_token') {
    tokenError(
      ctx,
      request,
      400,
      'invalid_grant',
      'No refresh token is issued for client credentials; request a new token with grant_type=client_credentials.',
    );
    return;
  }
  if (grant !== 'client_credentials') {
    tokenError(ctx, request, 400, 'unsupported_grant_type', `Grant type '${grant}' is not supported here; use client_credentials.`);
    return;
  }
  const basic = basicCredentials(request.req.headers.authorization);
  const id = basic?.id ?? field(form.fields, 'client_id');
  const secret = basic?.secret ?? field(form.fields, 'client_secret');
  if (id !== ctx.options.clientId || secret !== ctx.options.clientSecret) {
    const headers: Record<string, string> = basic ? { 'www-authenticate': 'Basic realm="bynder"' } : {};
    if (ctx.options.tokenErrorStyle === 'message') {
      sendMessage(request.res, 401, 'Client authentication failed: unknown client or wrong secret.', headers);
    } else {
      sendJson(
        request.res,
        401,
        { error: 'invalid_client', error_description: 'Client authentication failed: unknown client or wrong secret.' },
        headers,
      );
    }
    return;
  }
  const scope = field(form.fields, 'scope') ?? ALL_SCOPES;
  const token = ctx.tokens.issue(id, scope);
  sendJson(
    request.res,
    200,
    { access_token: token.accessToken, token_type: 'bearer', expires_in: token.expiresIn, scope },
    { 'cache-control': 'no-store' },
  );
};

/** The outline's `/token/refresh`: there is never a refresh token to exchange here. */
export const tokenRefreshEndpoint: BynderHandler = async (ctx, request) => {
  await readForm(request.req);
  tokenError(
    ctx,
    request,
    400,
    'invalid_grant',
    'No refresh token is issued for client credentials; request a new token with grant_type=client_credentials.',
  );
};

const REASONS = {
  missing: 'Authorization header with a Bearer token is required.',
  unknown: 'The access token is invalid.',
  expired: 'The access token expired; request a new one.',
} as const;

/** False (and a 401 sent) unless the request carries a valid bearer token. */
export function authenticate(ctx: BynderContext, { req, res }: BynderRequest): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const check = ctx.tokens.check(m?.[1]);
  if (check.ok) return true;
  const challenge = check.reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"';
  sendMessage(res, 401, REASONS[check.reason], { 'www-authenticate': challenge });
  return false;
}
