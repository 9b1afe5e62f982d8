/**
 * `POST /connect/token`: the OAuth 2.0 client-credentials grant as an IdentityServer-style
 * sign-in service answers it. Credentials may come in the form body or as HTTP Basic; errors
 * are OAuth error bodies (`{error, error_description}`), not problem details.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Handler } from './context.js';
import { sendJson } from './problem.js';
import { readTextBody } from './request-body.js';

export const TOKEN_SCOPE = 'ibinder_public';

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
}

export const tokenEndpoint: Handler = async (ctx, { req, res }) => {
  const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
  const oauthError = (status: number, error: string, description: string, headers: Record<string, string> = {}): void =>
    sendJson(res, status, { error, error_description: description }, { ...noStore, ...headers });

  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const text = await readTextBody(req, 64 * 1024);
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    oauthError(400, 'invalid_request', 'The token request must be form-encoded (Content-Type: application/x-www-form-urlencoded).');
    return;
  }
  if (!text.ok) {
    oauthError(400, 'invalid_request', text.message);
    return;
  }
  const form = new URLSearchParams(text.value);
  const basic = basicCredentials(req.headers.authorization);
  const clientId = basic?.id ?? form.get('client_id') ?? '';
  const clientSecret = basic?.secret ?? form.get('client_secret') ?? '';

  if (!safeEqual(clientId, ctx.options.clientId) || !safeEqual(clientSecret, ctx.options.clientSecret)) {
    // RFC 6749 5.2: 401 when the client authenticated with the Authorization header.
    if (basic) oauthError(401, 'invalid_client', 'Unknown client or wrong secret.', { 'www-authenticate': 'Basic realm="token"' });
    else oauthError(400, 'invalid_client', 'Unknown client or wrong secret.');
    return;
  }
  const grantType = form.get('grant_type');
  if (grantType !== 'client_credentials') {
    oauthError(400, 'unsupported_grant_type', `grant_type must be client_credentials (got '${grantType ?? ''}').`);
    return;
  }
  const scopes = (form.get('scope') ?? '').split(/\s+/).filter((s) => s !== '');
  if (scopes.length === 0 || scopes.some((s) => s !== TOKEN_SCOPE)) {
    oauthError(400, 'invalid_scope', `scope must be ${TOKEN_SCOPE}.`);
    return;
  }
  const { accessToken, expiresIn } = ctx.tokens.issue();
  sendJson(res, 200, { access_token: accessToken, expires_in: expiresIn, token_type: 'Bearer', scope: TOKEN_SCOPE }, noStore);
};
