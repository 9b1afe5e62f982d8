/**
 * Opaque bearer tokens issued by the emulator's token endpoint. Tokens are random, kept only
 * as SHA-256 digests (so a dump of the emulator's state holds nothing usable), expire by the
 * injected clock, and can all be revoked at once to test a token dying mid-batch.
 */
import { createHash, randomBytes } from 'node:crypto';

export class TokenStore {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly ttlSeconds: number,
  ) {}

  issue(): { accessToken: string; expiresIn: number } {
    this.sweep();
    const accessToken = randomBytes(32).toString('base64url');
    this.expiries.set(digest(accessToken), this.now() + this.ttlSeconds * 1000);
    return { accessToken, expiresIn: this.ttlSeconds };
  }

  isValid(accessToken: string): boolean {
    const expiresAt = this.expiries.get(digest(accessToken));
    return expiresAt !== undefined && this.now() < expiresAt;
  }

  revokeAll(): void {
    this.expiries.clear();
  }

  /** Number of tokens issued and not yet expired or revoked. */
  get activeCount(): number {
    this.sweep();
    return this.expiries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.expiries) if (expiresAt <= now) this.expiries.delete(key);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
