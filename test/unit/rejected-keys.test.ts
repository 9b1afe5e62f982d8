/**
 * The keys `check` and `reingest` derive from a rejected key: for a key the ingest shortened
 * to fit S3's limit, the original inbox key comes from the report's `object.key`.
 */
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../cli/errors.js';
import { rejectedObjectKeys, resolveRejectedObjectKeys } from '../../cli/rejected-keys.js';
import { isShortenedRejectedKey, rejectedKeyFor, reportKeyFor } from '../../functions/ingest/rejection.js';

const config = { inboxPrefix: 'inbox/', rejectedPrefix: 'rejected/' };
/** An inbox key of 1,013 bytes: its rejected copy's report would pass S3's 1,024-byte limit. */
const longInboxKey = `inbox/erp/${'Kvartalsrapport-prosjekt-Bjørvika/'.repeat(28)}${'x'.repeat(19)}.pdf`;
const shortenedKey = rejectedKeyFor(longInboxKey, config.inboxPrefix, config.rejectedPrefix);

function reportNaming(key: string): string {
  return JSON.stringify({
    object: { bucket: 'inbox-bucket', key, size: 10 },
    rejectedCopy: { bucket: 'inbox-bucket', key: shortenedKey, note: 'shortened' },
  });
}

describe('resolveRejectedObjectKeys', () => {
  it('the fixture is a shortened key, which the pure mapping cannot turn back', () => {
    expect(Buffer.byteLength(longInboxKey, 'utf8')).toBeLessThanOrEqual(1024);
    expect(isShortenedRejectedKey(shortenedKey)).toBe(true);
    expect(rejectedObjectKeys(shortenedKey, config).inboxKey).not.toBe(longInboxKey);
  });

  it('takes the inbox key of a shortened rejected key from its report', async () => {
    const readReport = vi.fn(async (reportKey: string) =>
      reportKey === reportKeyFor(shortenedKey) ? reportNaming(longInboxKey) : undefined,
    );

    await expect(resolveRejectedObjectKeys(shortenedKey, config, readReport)).resolves.toEqual({
      rejectedKey: shortenedKey,
      reportKey: reportKeyFor(shortenedKey),
      inboxKey: longInboxKey,
    });
    expect(readReport).toHaveBeenCalledTimes(1);
  });

  it('reads no report for a key that was not shortened', async () => {
    const readReport = vi.fn(async () => undefined);
    await expect(resolveRejectedObjectKeys('rejected/scanner-1/a.pdf', config, readReport)).resolves.toEqual(
      rejectedObjectKeys('rejected/scanner-1/a.pdf', config),
    );
    expect(readReport).not.toHaveBeenCalled();
  });

  it.each([
    ['the report is missing', async () => undefined, /that report is missing/],
    ['the report is not JSON', async () => 'not json', /that report is not JSON/],
    ['the report has no object.key', async () => '{"object":{}}', /that report has no object.key/],
    [
      'the report names another object',
      async () => reportNaming(`${longInboxKey.slice(0, -4)}-other.pdf`),
      /not the key this rejected copy was made from/,
    ],
  ])('refuses when %s, naming the key and what to do by hand', async (_case, readReport, message) => {
    const attempt = resolveRejectedObjectKeys(shortenedKey, config, readReport);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({
      message: expect.stringContaining(reportKeyFor(shortenedKey)),
      hint: expect.stringContaining('by hand'),
    });
  });
});
