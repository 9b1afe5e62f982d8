import { describe, expect, it } from 'vitest';
import { decodeS3Key, parseS3EventMessage, S3EventParseError } from '../../shared/s3/event.js';
import { s3NotificationBody, testEventBody } from '../helpers/ingest-factories.js';

describe('parseS3EventMessage', () => {
  it('acknowledges s3:TestEvent as a test message', () => {
    expect(parseS3EventMessage('m1', testEventBody('my-bucket'))).toEqual({ kind: 'test', bucket: 'my-bucket' });
  });

  it('returns every record of a message, with bucket, key, versionId and size', () => {
    const body = s3NotificationBody([
      { rawKey: 'inbox/a.pdf', size: 11, versionId: 'v1' },
      { rawKey: 'inbox/b.pdf', size: 22, versionId: 'v2', bucket: 'other' },
    ]);
    const parsed = parseS3EventMessage('m1', body);
    expect(parsed.kind).toBe('records');
    if (parsed.kind !== 'records') return;
    expect(parsed.records).toHaveLength(2);
    expect(parsed.records[0]).toMatchObject({ bucket: 'inbox-bucket', key: 'inbox/a.pdf', versionId: 'v1', size: 11, created: true, eventName: 'ObjectCreated:Put' });
    expect(parsed.records[1]).toMatchObject({ bucket: 'other', key: 'inbox/b.pdf', versionId: 'v2', size: 22 });
  });

  it('decodes keys: + is a space, then %-escapes (unicode too)', () => {
    const raw = 'inbox/Site+plan+%C3%85rsta+%2B+50%25.pdf';
    const parsed = parseS3EventMessage('m1', s3NotificationBody([{ rawKey: raw }]));
    if (parsed.kind !== 'records') throw new Error('expected records');
    expect(parsed.records[0]?.key).toBe('inbox/Site plan Årsta + 50%.pdf');
    expect(parsed.records[0]?.rawKey).toBe(raw);
    expect(decodeS3Key('inbox/%E6%96%87%E6%9B%B8.txt')).toBe('inbox/文書.txt');
  });

  it('marks events other than ObjectCreated:* as not created and keeps versionId absent when unversioned', () => {
    const parsed = parseS3EventMessage('m1', s3NotificationBody([{ rawKey: 'inbox/a', eventName: 'ObjectRemoved:Delete' }]));
    if (parsed.kind !== 'records') throw new Error('expected records');
    expect(parsed.records[0]?.created).toBe(false);
    expect(parsed.records[0]?.versionId).toBeUndefined();
  });

  it('rejects a body that is not JSON with a typed error naming the message and the body start', () => {
    const body = `not json ${'x'.repeat(500)}`;
    let error: unknown;
    try {
      parseS3EventMessage('msg-42', body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(S3EventParseError);
    const e = error as S3EventParseError;
    expect(e.messageId).toBe('msg-42');
    expect(e.bodyPreview).toHaveLength(200);
    expect(e.message).toContain('msg-42');
    expect(e.message).toContain('not JSON');
  });

  it('rejects JSON that is not an S3 notification, saying which field is wrong', () => {
    expect(() => parseS3EventMessage('m', JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: {} } }] }))).toThrow(
      /Records\.0\.s3\.bucket\.name/,
    );
    expect(() => parseS3EventMessage('m', JSON.stringify({ hello: 'world' }))).toThrow(S3EventParseError);
  });

  it('rejects a key with a broken %-escape', () => {
    expect(() => parseS3EventMessage('m', s3NotificationBody([{ rawKey: 'inbox/bad%E0%A4%A.pdf' }]))).toThrow(/not a valid URL-encoded key/);
  });
});
