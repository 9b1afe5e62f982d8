/**
 * Bearer tokens of an OAuth 2.0 client-credentials grant, kept per process: every connector's
 * client gets its tokens through one of these. A warm Lambda keeps its modules between
 * invocations, so every client created in the process shares one token per token URL and
 * client id instead of fetching one per call; concurrent callers share one in-flight request.
 * There is no refresh token for this grant: a stale or refused token is replaced by a new
 * request with the client credentials.
 */

export interface CachedToken {
  accessToken: string;
  /** From this instant on the token is not handed out any more (epoch ms). */
  staleAtMs: number;
}

/** Tokens and in-flight token requests, keyed by token URL and client id (`tokenKey`). */
export class TokenCache {
  readonly tokens = new Map<string, CachedToken>();
  readonly inFlight = new Map<string, Promise<CachedToken>>();

  clear(): void {
    this.tokens.clear();
    this.inFlight.clear();
  }

  /** The cached token for `key` if it is still fresh at `nowMs`. */
  fresh(key: string, nowMs: number): string | undefined {
    const cached = this.tokens.get(key);
    return cached !== undefined && nowMs < cached.staleAtMs ? cached.accessToken : undefined;
  }

  /**
   * After the API refused `rejected` (a 401): a fresh token that already replaced it (a
   * concurrent caller renewed it), or undefined once the rejected one is forgotten, so that the
   * caller fetches another.
   */
  replacementFor(key: string, rejected: string, nowMs: number): string | undefined {
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.accessToken !== rejected && nowMs < cached.staleAtMs) return cached.accessToken;
    if (cached?.accessToken === rejected) this.tokens.delete(key);
    return undefined;
  }

  /** Joins the in-flight request for `key`, or starts `fetch` and caches its token. No await between check and set. */
  shared(key: string, fetch: () => Promise<CachedToken>): Promise<CachedToken> {
    const existing = this.inFlight.get(key);
    if (existing) return existing;
    const pending = fetch()
      .then((token) => {
        this.tokens.set(key, token);
        return token;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, pending);
    return pending;
  }
}

/** The cache key of a client's tokens. */
export function tokenKey(tokenUrl: string, clientId: string): string {
  return `${tokenUrl}\n${clientId}`;
}

/**
 * When a token fetched at `requestedAtMs` for `lifetimeMs` stops being handed out: `marginMs`
 * before it expires, but never before half its life (a short-lived token is still used). Counted
 * from when the request was sent: the server's clock started no earlier.
 */
export function tokenStaleAt(requestedAtMs: number, lifetimeMs: number, marginMs: number): number {
  return requestedAtMs + Math.max(lifetimeMs - marginMs, lifetimeMs / 2);
}
