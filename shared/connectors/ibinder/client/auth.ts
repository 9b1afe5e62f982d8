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

export const TOKEN_SCOPE = 'ibinder_public';
export const DEFAULT_TOKEN_EXPIRY_MARGIN_SECONDS = 60;

interface CachedToken {
  accessToken: string;
  /** From this instant on the token is not handed out any more (epoch ms). */
  staleAtMs: number;
}

/** Tokens and in-flight token requests, keyed by token URL and client id. */
export class TokenCache {
  readonly tokens = new Map<string, CachedToken>();
  readonly inFlight = new Map<string, Promise<CachedToken>>();

  clear(): void {
    this.tokens.clear();
    this.inFlight.clear();
  }
}

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
    const key = this.keyOf(credentials);
    const cached = this.cache.tokens.get(key);
    if (cached && this.options.now() < cached.staleAtMs) return cached.accessToken;
    return (await this.fetchShared(key, credentials, attempt)).accessToken;
  }

  /**
   * The API refused `rejectedToken` (401): forget it and get another one. When a concurrent
   * caller already replaced it, that replacement is returned without a second token request.
   */
  async refresh(rejectedToken: string, attempt = 1): Promise<string> {
    const credentials = await this.loadCredentials();
    const key = this.keyOf(credentials);
    const cached = this.cache.tokens.get(key);
    if (cached && cached.accessToken !== rejectedToken && this.options.now() < cached.staleAtMs) {
      return cached.accessToken;
    }
    if (cached?.accessToken === rejectedToken) this.cache.tokens.delete(key);
    return (await this.fetchShared(key, credentials, attempt)).accessToken;
  }

  private keyOf(credentials: IBinderCredentials): string {
    return `${this.options.tokenUrl}\n${credentials.clientId}`;
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

  /** Joins the in-flight request for this key, or starts one. No await between check and set. */
  private fetchShared(key: string, credentials: IBinderCredentials, attempt: number): Promise<CachedToken> {
    const existing = this.cache.inFlight.get(key);
    if (existing) return existing;
    const pending = this.fetchToken(credentials, attempt)
      .then((token) => {
        this.cache.tokens.set(key, token);
        return token;
      })
      .finally(() => this.cache.inFlight.delete(key));
    this.cache.inFlight.set(key, pending);
    return pending;
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
    const lifetimeMs = token.expires_in * 1000;
    // Counted from when the request was sent: the server's clock started no earlier.
    const usableMs = Math.max(lifetimeMs - this.marginMs, lifetimeMs / 2);
    return { accessToken: token.access_token, staleAtMs: requestedAt + usableMs };
  }
}
