import { describe, expect, it } from 'vitest';
import { TokenCache, tokenKey, tokenStaleAt } from '../../shared/oauth/token-cache.js';

describe('tokenStaleAt', () => {
  it('stops handing a token out the margin before it expires', () => {
    expect(tokenStaleAt(1_000, 3_600_000, 60_000)).toBe(1_000 + 3_540_000);
  });

  it('keeps a token shorter-lived than twice the margin for half its life', () => {
    expect(tokenStaleAt(0, 100_000, 60_000)).toBe(50_000);
  });
});

describe('TokenCache', () => {
  const key = tokenKey('https://auth.example/token', 'client-1');

  it('shares one request among concurrent callers and serves the token while it is fresh', async () => {
    const cache = new TokenCache();
    let requests = 0;
    const fetch = async () => {
      requests += 1;
      return { accessToken: `t${requests}`, staleAtMs: 1_000 };
    };

    const tokens = await Promise.all([cache.shared(key, fetch), cache.shared(key, fetch)]);

    expect(requests).toBe(1);
    expect(tokens.map((t) => t.accessToken)).toEqual(['t1', 't1']);
    expect(cache.fresh(key, 999)).toBe('t1');
    expect(cache.fresh(key, 1_000)).toBeUndefined();
  });

  it('forgets a refused token, but hands out one that already replaced it', async () => {
    const cache = new TokenCache();
    await cache.shared(key, async () => ({ accessToken: 'new', staleAtMs: 1_000 }));

    expect(cache.replacementFor(key, 'old', 0)).toBe('new');
    expect(cache.replacementFor(key, 'new', 0)).toBeUndefined();
    expect(cache.fresh(key, 0)).toBeUndefined();
  });

  it('caches nothing from a failed request, and the next caller asks again', async () => {
    const cache = new TokenCache();
    await expect(cache.shared(key, async () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(cache.inFlight.size).toBe(0);
    expect(cache.fresh(key, 0)).toBeUndefined();
  });
});
