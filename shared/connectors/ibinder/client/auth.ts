/**
 * OAuth 2.0 client credentials for the iBinder API, as the reference describes it: a
 * form-encoded POST of `grant_type=client_credentials`, `client_id`, `client_secret` and
 * `scope=ibinder_public` to the token URL; the answer's `access_token` is cached for
 * `expires_in` minus a margin.
 *
 * Where the cache lives, explicitly: `processTokenCache` is a module-level cache keyed by
 * token URL and client id. A warm Lambda keeps its modules between invocations, so every
 * client created in that process (one per invocation, or one at module scope) shares one
 * token instead of fetching one per call. Concurrent callers share one in-flight token request.
 */
import type { IBinderClientOptions, IBinderCredentials } from './types.js';
import { IBinderError, type RequestDescription } from './errors.js';
import { errorFromResponse, exchangeText, parseResponse, pathOf, type RequestObserver } from './http.js';
import { TokenResponseSchema } from './schemas.js';
import { type CachedToken, TokenCache as SharedTokenCache, tokenKey, tokenStaleAt } from '../../../oauth/token-cache.js';

export const TOKEN_SCOPE = 'ibinder_public';
export const DEFAULT_TOKEN_EXPIRY_MARGIN_SECONDS = 60;

/** Tokens and in-flight token requests of iBinder clients (shared/oauth/token-cache.ts). */
export class TokenCache extends SharedTokenCache {}

/** The cache every client of this process uses unless it is handed another one. */
export const processTokenCache = new TokenCache();

export interface TokenSourceOptions {
  tokenUrl: string;
  credentials: IBinderClientOptions['credentials'];
  /** Default 60 s. A token shorter-lived than twice the margin is kept for half its life. */
  tokenExpiryMarginSeconds?: number;
  /** Budget of one token request (ms). */
  requestTimeoutMs: number;
  now: () => number;
  cache?: TokenCache;
  onRequest?: RequestObserver;
}

/** Hands out bearer tokens for API calls, fetching one only when the cached one is stale. */
export class TokenSource {
  private readonly cache: TokenCache;
  private readonly marginMs: number;
  private readonly description: RequestDescription;

  constructor(private readonly options: TokenSourceOptions) {
    this.cache = options.cache ?? processTokenCache;
    this.marginMs = (options.tokenExpiryMarginSeconds ?? DEFAULT_TOKEN_EXPIRY_MARGIN_SECONDS) * 1000;
    this.description = { method: 'POST', path: pathOf(options.tokenUrl) };
  }

  /** A token that is fresh by the cache's reckoning; fetched if none is. */
  async getToken(attempt = 1): Promise<string> {
    const credentials = await this.loadCredentials();
    const key = tokenKey(this.options.tokenUrl, credentials.clientId);
    const cached = this.cache.fresh(key, this.options.now());
    if (cached !== undefined) return cached;
    return (await this.cache.shared(key, () => this.fetchToken(credentials, attempt))).accessToken;
  }

  /**
   * The API refused `rejectedToken` (401): forget it and get another one. When a concurrent
   * caller already replaced it, that replacement is returned without a second token request.
   */
  async refresh(rejectedToken: string, attempt = 1): Promise<string> {
    const credentials = await this.loadCredentials();
    const key = tokenKey(this.options.tokenUrl, credentials.clientId);
    const replaced = this.cache.replacementFor(key, rejectedToken, this.options.now());
    if (replaced !== undefined) return replaced;
    return (await this.cache.shared(key, () => this.fetchToken(credentials, attempt))).accessToken;
  }

  private async loadCredentials(): Promise<IBinderCredentials> {
    try {
      return await this.options.credentials();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new IBinderError(
        `could not load the iBinder client credentials needed for ${this.description.method} ${this.description.path}: ${reason}`,
        'auth',
        this.description,
        { cause: err },
      );
    }
  }

  private async fetchToken(credentials: IBinderCredentials, attempt: number): Promise<CachedToken> {
    const { now } = this.options;
    const requestedAt = now();
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
      scope: TOKEN_SCOPE,
    });
    const response = await exchangeText({
      description: this.description,
      endpoint: 'token',
      url: this.options.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      timeoutMs: this.options.requestTimeoutMs,
      attempt,
      now,
      ...(this.options.onRequest ? { onRequest: this.options.onRequest } : {}),
    });
    if (response.status < 200 || response.status >= 300) {
      throw errorFromResponse(this.description, 'token', response, now());
    }
    const token = parseResponse(this.description, 'token', response, TokenResponseSchema);
    return { accessToken: token.access_token, staleAtMs: tokenStaleAt(requestedAt, token.expires_in * 1000, this.marginMs) };
  }
}
