import { describe, expect, it } from 'vitest';
import {
  isShortenedRejectedKey,
  rejectedKeyFor,
  reportKeyFor,
  S3_MAX_KEY_BYTES,
  unshortenedRejectedKeyFor,
} from '../../functions/ingest/rejection.js';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('rejectedKeyFor', () => {
  it('keeps the path after the inbox prefix when the report key fits', () => {
    expect(rejectedKeyFor('inbox/a/b.pdf', 'inbox/', 'rejected/')).toBe('rejected/a/b.pdf');
    expect(isShortenedRejectedKey('rejected/a/b.pdf')).toBe(false);
  });

  it('keeps a key whose report is exactly 1,024 bytes, and shortens one byte more', () => {
    const fits = `inbox/${'x'.repeat(S3_MAX_KEY_BYTES - 'rejected/'.length - '.error.json'.length)}`;
    expect(bytes(reportKeyFor(rejectedKeyFor(fits, 'inbox/', 'rejected/')))).toBe(S3_MAX_KEY_BYTES);
    expect(rejectedKeyFor(fits, 'inbox/', 'rejected/')).toBe(unshortenedRejectedKeyFor(fits, 'inbox/', 'rejected/'));
    const over = `${fits}y`;
    expect(rejectedKeyFor(over, 'inbox/', 'rejected/')).not.toBe(unshortenedRejectedKeyFor(over, 'inbox/', 'rejected/'));
  });

  it("shortens a key whose copy or report would pass S3's limit: under rejected/, same start, ~hash, report within 1,024 bytes", () => {
    const key = `inbox/erp/${'å'.repeat(300)}/${'Drawing '.repeat(50)}.pdf`; // 1,022 bytes: a valid S3 key
    expect(bytes(key)).toBeLessThanOrEqual(S3_MAX_KEY_BYTES);
    const shortened = rejectedKeyFor(key, 'inbox/', 'rejected/');
    expect(shortened.startsWith(`rejected/erp/${'å'.repeat(100)}`)).toBe(true);
    expect(shortened).toMatch(/~[0-9a-f]{16}$/);
    expect(bytes(reportKeyFor(shortened))).toBeLessThanOrEqual(S3_MAX_KEY_BYTES);
    expect(bytes(reportKeyFor(shortened))).toBeGreaterThan(S3_MAX_KEY_BYTES - 4);
    expect(isShortenedRejectedKey(shortened)).toBe(true);
    // No character is cut in half.
    expect(Buffer.from(shortened, 'utf8').toString('utf8')).toBe(shortened);
    expect(shortened).not.toContain('\uFFFD');
  });

  it('is the same on every delivery and differs for keys that share their beginning', () => {
    const start = `inbox/${'s'.repeat(1000)}`;
    const a = rejectedKeyFor(`${start}-a.pdf`, 'inbox/', 'rejected/');
    const b = rejectedKeyFor(`${start}-b.pdf`, 'inbox/', 'rejected/');
    expect(rejectedKeyFor(`${start}-a.pdf`, 'inbox/', 'rejected/')).toBe(a);
    expect(a).not.toBe(b);
    expect(a.slice(0, -16)).toBe(b.slice(0, -16));
  });

  it('says what to change when the rejected prefix itself leaves no room', () => {
    expect(() => rejectedKeyFor(`inbox/${'k'.repeat(1000)}`, 'inbox/', `${'r'.repeat(1020)}/`)).toThrow(/shorter rejectedPrefix/);
  });
});
