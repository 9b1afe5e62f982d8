/**
 * Presigned storage URLs in the shape of S3 SigV4 query signing (`X-Amz-Date`,
 * `X-Amz-Expires`, `X-Amz-Signature`, ...), signed with an HMAC key that lives only in this
 * emulator instance. The signature binds method, path, date and lifetime, so a tampered
 * query or a URL minted by another instance is refused like a real bucket refuses it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const ALGORITHM = 'AWS4-HMAC-SHA256';
const REGION = 'eu-north-1';

export type SignedMethod = 'PUT' | 'GET';

export type VerifyResult =
  | { ok: true; expiresAt: Date }
  | { ok: false; reason: 'missing-signature' | 'bad-signature' }
  | { ok: false; reason: 'expired'; expiresAt: Date; serverTime: Date; expiresSeconds: number };

function amzDate(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:]/g, '').replace('.000', '');
}

function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

export class UrlSigner {
  private readonly key = randomBytes(32);

  constructor(
    private readonly now: () => number,
    private readonly accessKeyId = 'IBEMULATORSTORAGE',
  ) {}

  /** Returns the query string (without `?`) and when the URL stops working. */
  sign(method: SignedMethod, path: string, ttlSeconds: number): { query: string; expiresAt: Date } {
    const nowMs = this.now();
    const date = amzDate(nowMs);
    const credential = `${this.accessKeyId}/${date.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const expires = String(Math.max(1, Math.floor(ttlSeconds)));
    const signature = this.signature(method, path, credential, date, expires);
    const query = new URLSearchParams({
      'X-Amz-Algorithm': ALGORITHM,
      'X-Amz-Credential': credential,
      'X-Amz-Date': date,
      'X-Amz-Expires': expires,
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': signature,
    }).toString();
    const expiresAt = new Date((parseAmzDate(date) ?? nowMs) + Number(expires) * 1000);
    return { query, expiresAt };
  }

  verify(method: SignedMethod, path: string, query: URLSearchParams): VerifyResult {
    const signature = query.get('X-Amz-Signature');
    const credential = query.get('X-Amz-Credential');
    const date = query.get('X-Amz-Date');
    const expires = query.get('X-Amz-Expires');
    if (!signature || !credential || !date || !expires || query.get('X-Amz-Algorithm') !== ALGORITHM) {
      return { ok: false, reason: 'missing-signature' };
    }
    const expected = Buffer.from(this.signature(method, path, credential, date, expires), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
    const signedAt = parseAmzDate(date);
    if (signedAt === undefined) return { ok: false, reason: 'bad-signature' };
    const expiresSeconds = Number(expires);
    const expiresAt = new Date(signedAt + expiresSeconds * 1000);
    const nowMs = this.now();
    if (nowMs > expiresAt.getTime()) return { ok: false, reason: 'expired', expiresAt, serverTime: new Date(nowMs), expiresSeconds };
    return { ok: true, expiresAt };
  }

  private signature(method: SignedMethod, path: string, credential: string, date: string, expires: string): string {
    return createHmac('sha256', this.key).update([method, path, ALGORITHM, credential, date, expires].join('\n')).digest('hex');
  }
}
