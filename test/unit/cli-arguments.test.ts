/** The CLI's argument parsers and key helpers: what people type, and what it becomes. */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseS3Location, parseSince, parseTagOption } from '../../cli/arguments.js';
import { UsageError } from '../../cli/errors.js';
import { rejectedObjectKeys } from '../../cli/rejected-keys.js';
import { applyTagChanges } from '../../cli/tag-changes.js';
import { table } from '../../cli/output.js';

describe('parseS3Location', () => {
  it('reads s3://bucket/key and bucket/key, keeping the key as typed', () => {
    expect(parseS3Location('s3://my-inbox/inbox/a b+c%20.pdf')).toEqual({ bucket: 'my-inbox', key: 'inbox/a b+c%20.pdf' });
    expect(parseS3Location('my-inbox/inbox/ø.pdf')).toEqual({ bucket: 'my-inbox', key: 'inbox/ø.pdf' });
  });

  it.each([
    ['https://my-inbox.s3.amazonaws.com/inbox/a.pdf', 'only s3://bucket/key is understood'],
    ['s3://My_Bucket/a.pdf', 'valid bucket name'],
    ['my-inbox', 'names no object key'],
    ['s3://my-inbox/inbox/', 'ends with "/"'],
  ])('refuses %s with a usage error that shows the expected form', (text, message) => {
    expect(() => parseS3Location(text)).toThrow(UsageError);
    expect(() => parseS3Location(text)).toThrow(message);
    try {
      parseS3Location(text);
    } catch (err) {
      expect((err as UsageError).hint).toContain('s3://my-inbox-bucket/inbox/');
      expect((err as UsageError).exitCode).toBe(2);
    }
  });
});

describe('--tag and tag changes', () => {
  it('splits at the first "=" and collects repeats', () => {
    const first = parseTagOption('ibinder:binder=PRJ0001AB', undefined);
    expect(parseTagOption('ibinder:meta:formula=a=b', first)).toEqual([
      { key: 'ibinder:binder', value: 'PRJ0001AB' },
      { key: 'ibinder:meta:formula', value: 'a=b' },
    ]);
    expect(() => parseTagOption('no-equals', undefined)).toThrow(InvalidArgumentError);
    expect(() => parseTagOption('=value', undefined)).toThrow('expected key=value');
  });

  it('replaces a tag of the same key, adds new ones, and removes one given with an empty value', () => {
    const tags = [
      { Key: 'ibinder:binder', Value: 'OLD' },
      { Key: 'producer', Value: 'scanner' },
      { Key: 'ibinder:version', Value: 'A' },
    ];
    expect(
      applyTagChanges(tags, [
        { key: 'ibinder:binder', value: 'NEW' },
        { key: 'ibinder:version', value: '' },
        { key: 'ibinder:meta:discipline', value: 'ARC' },
      ]),
    ).toEqual([
      { Key: 'ibinder:binder', Value: 'NEW' },
      { Key: 'producer', Value: 'scanner' },
      { Key: 'ibinder:meta:discipline', Value: 'ARC' },
    ]);
  });
});

describe('parseSince', () => {
  it('takes a date as midnight UTC and a date-time with its offset', () => {
    expect(parseSince('2024-05-01')).toBe('2024-05-01T00:00:00.000Z');
    expect(parseSince('2024-05-01T02:00:00+02:00')).toBe('2024-05-01T00:00:00.000Z');
  });

  it.each(['yesterday', '05/01/2024', '2024-13-45'])('refuses %s', (text) => {
    expect(() => parseSince(text)).toThrow(InvalidArgumentError);
  });
});

describe('rejectedObjectKeys', () => {
  const config = { inboxPrefix: 'inbox/', rejectedPrefix: 'rejected/' };

  it.each(['rejected/scanner-1/scan 0042.pdf', 'inbox/scanner-1/scan 0042.pdf', 'scanner-1/scan 0042.pdf'])(
    'maps %s to the rejected copy, its report and the inbox key',
    (key) => {
      expect(rejectedObjectKeys(key, config)).toEqual({
        rejectedKey: 'rejected/scanner-1/scan 0042.pdf',
        reportKey: 'rejected/scanner-1/scan 0042.pdf.error.json',
        inboxKey: 'inbox/scanner-1/scan 0042.pdf',
      });
    },
  );
});

describe('table', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['PRJ0001AB', 'Harbour'],
          ['X', 'Riverside'],
        ],
      ),
    ).toEqual(['ID         NAME', 'PRJ0001AB  Harbour', 'X          Riverside']);
  });
});
