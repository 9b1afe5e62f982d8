/**
 * Bearer tokens for Bynder's API: OAuth 2.0 client credentials at the configured token URL
 * (default `<portal>/v6/authentication/oauth2/token`, what every SDK uses), or a permanent
 * token sent as is.
 *
 * - The client id and secret go in the form body with `grant_type=client_credentials` and the
 *   configured `scope`. Success is decided by the HTTP status and the presence of
 *   `access_token`, not by an `error` field: Bynder's token errors are not always OAuth-shaped
 *   (bynder-notes.md §2.2).
 * - The token is cached for `expires_in` minus a margin in a process-wide cache keyed by token
 *   URL and client id (a warm Lambda keeps it across invocations); concurrent callers share one
 *   in-flight request.
 * - There is no refresh token for this grant: when the token is stale or the API answers 401,
 *   a new one is fetched with the client credentials (`refresh`).
 * - Every token request waits for a slot of the portal's rate budget like any API call.
 */
import { BynderApiError, BynderError, type BynderRequestDescription } from './errors.js';
import { errorFromResponse, exchangeText, parseResponse, pathOf, type BynderRequestEvent } from './http.js';
import type { RateBudget } from './rate-budget.js';
import { TokenResponseSchema } from './schemas.js';
import { type CachedToken, TokenCache, tokenKey, tokenStaleAt } from '../../../oauth/token-cache.js';
import type { BynderCredentials, BynderCredentialsProvider } from './types.js';

export const DEFAULT_TOKEN_EXPIRY_MARGIN_SECONDS = 60;
/** Lifetime assumed when a token answer names none (the documented value is 3600 s). */
export const ASSUMED_TOKEN_LIFETIME_SECONDS = 600;

/** Tokens and in-flight token requests of Bynder clients (shared/oauth/token-cache.ts). */
export class BynderTokenCache extends TokenCache {}

/** The cache every Bynder client of this process uses unless it is handed another one. */
export const processBynderTokenCache = new BynderTokenCache();

export interface BynderTokenSourceOptions {
  tokenUrl: string;
  /** Space-separated scopes asked for. */
  scope: string;
  credentials: BynderCredentialsProvider;
  /** Default 60 s. A token shorter-lived than twice the margin is kept for half its life. */
  tokenExpiryMarginSeconds?: number | undefined;
  requestTimeoutMs: number;
  throttlePauseMs: number;
  budget: RateBudget;
  now: () => number;
  cache?: BynderTokenCache | undefined;
  onRequest?: ((event: BynderRequestEvent) => void) | undefined;
}

/** A token to send, and whether a 401 can be answered by fetching another one. */
export interface BearerToken {
  value: string;
  renewable: boolean;
}

export class BynderTokenSource {
  private readonly cache: BynderTokenCache;
  private readonly marginMs: number;
  private readonly description: BynderRequestDescription;

  constructor(private readonly options: BynderTokenSourceOptions) {
    this.cache = options.cache ?? processBynderTokenCache;
    this.marginMs = (options.tokenExpiryMarginSeconds ?? DEFAULT_TOKEN_EXPIRY_MARGIN_SECONDS) * 1000;
    this.description = { method: 'POST', path: pathOf(options.tokenUrl) };
  }

  /** A token fresh by the cache's reckoning (fetched when none is), or the permanent token. */
  async getToken(): Promise<BearerToken> {
    const credentials = await this.loadCredentials();
    if ('permanentToken' in credentials) return { value: credentials.permanentToken, renewable: false };
    const key = tokenKey(this.options.tokenUrl, credentials.clientId);
    const cached = this.cache.fresh(key, this.options.now());
    if (cached !== undefined) return { value: cached, renewable: true };
    return { value: (await this.cache.shared(key, () => this.fetchToken(credentials))).accessToken, renewable: true };
  }

  /**
   * The API refused `rejected` (401): forget it and fetch another with the client credentials.
   * When a concurrent caller already replaced it, that replacement is returned without a request.
   * Undefined for a permanent token: there is nothing to renew.
   */
  async renew(rejected: string): Promise<string | undefined> {
    const credentials = await this.loadCredentials();
    if ('permanentToken' in credentials) return undefined;
    const key = tokenKey(this.options.tokenUrl, credentials.clientId);
    const replaced = this.cache.replacementFor(key, rejected, this.options.now());
    if (replaced !== undefined) return replaced;
    return (await this.cache.shared(key, () => this.fetchToken(credentials))).accessToken;
  }

  private async loadCredentials(): Promise<BynderCredentials> {
    try {
      return await this.options.credentials();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new BynderError(`could not load the Bynder credentials: ${reason}`, 'auth', this.description, { cause: err });
    }
  }

  private async fetchToken(credentials: { clientId: string; clientSecret: string }): Promise<CachedToken> {
    const { now, budget } = this.options;
    await budget.acquire(this.description);
    const requestedAt = now();
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
    });
    if (this.options.scope.trim() !== '') form.set('scope', this.options.scope.trim());
    const response = await exchangeText({
      description: this.description,
      endpoint: 'token',
      url: this.options.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      timeoutMs: this.options.requestTimeoutMs,
      attempt: 1,
      now,
      onRequest: this.options.onRequest,
    });
    if (response.status < 200 || response.status >= 300) {
      const error = errorFromResponse(this.description, 'token', response, this.options.throttlePauseMs);
      if (error.kind === 'throttled') budget.block();
      throw error;
    }
    const body = parseResponse(this.description, 'token', response, TokenResponseSchema);
    const accessToken = body.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      // A 2xx without a token: some token errors come this way (`{"error": …}` with 200).
      const error = errorFromResponse(this.description, 'token', { ...response, status: 401 }, this.options.throttlePauseMs);
      throw new BynderApiError(
        `Bynder token endpoint ${this.description.method} ${this.description.path} answered ${response.status} without an access_token` +
          `${error.bynderMessage !== undefined ? ` ("${error.bynderMessage}")` : ''} — the token request was refused: check the client id and ` +
          "secret in the environment's Bynder credentials secret, the token URL and the scopes asked for",
        'auth',
        this.description,
        response.status,
        error.bynderMessage,
        error.correlationId,
      );
    }
    const seconds = Number(body.expires_in);
    const lifetimeMs = (Number.isFinite(seconds) && seconds > 0 ? seconds : ASSUMED_TOKEN_LIFETIME_SECONDS) * 1000;
    return { accessToken, staleAtMs: tokenStaleAt(requestedAt, lifetimeMs, this.marginMs) };
  }
}
