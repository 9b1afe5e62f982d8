/**
 * Access tokens in the shape Bynder issues (a JWT: header.payload.signature), checkable only
 * by this emulator instance, kept as SHA-256 digests. Expiry follows the injected clock, and
 * `expireAll` ends every token issued so far (the next call with one gets 401), so a client's
 * "401 -> fetch a new token with client credentials -> retry once" path can be tested. A
 * permanent token, when configured, is always accepted.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export type TokenCheck = { ok: true } | { ok: false; reason: 'missing' | 'unknown' | 'expired' };

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export class BynderTokenStore {
  private readonly expiries = new Map<string, number>();
  private readonly key = randomBytes(32);

  constructor(
    private readonly now: () => number,
    private readonly ttlSeconds: number,
    private readonly permanentToken: string | undefined,
  ) {}

  issue(clientId: string, scope: string): { accessToken: string; expiresIn: number } {
    const issuedAt = Math.floor(this.now() / 1000);
    const header = b64({ alg: 'HS256', typ: 'JWT' });
    const payload = b64({
      iss: 'bynder-emulator',
      sub: clientId,
      client_id: clientId,
      scope,
      iat: issuedAt,
      exp: issuedAt + this.ttlSeconds,
      jti: randomBytes(12).toString('hex'),
    });
    const signature = createHmac('sha256', this.key).update(`${header}.${payload}`).digest('base64url');
    const accessToken = `${header}.${payload}.${signature}`;
    this.expiries.set(digest(accessToken), this.now() + this.ttlSeconds * 1000);
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  check(token: string | undefined): TokenCheck {
    if (token === undefined || token === '') return { ok: false, reason: 'missing' };
    if (this.permanentToken !== undefined && token === this.permanentToken) return { ok: true };
    const expiresAt = this.expiries.get(digest(token));
    if (expiresAt === undefined) return { ok: false, reason: 'unknown' };
    return this.now() < expiresAt ? { ok: true } : { ok: false, reason: 'expired' };
  }

  /** Every token issued so far expires now; they are remembered so the 401 can say "expired". */
  expireAll(): void {
    const now = this.now();
    for (const key of this.expiries.keys()) this.expiries.set(key, now);
  }

  /** Tokens issued and not yet expired. */
  get activeCount(): number {
    const now = this.now();
    let n = 0;
    for (const expiresAt of this.expiries.values()) if (now < expiresAt) n++;
    return n;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
