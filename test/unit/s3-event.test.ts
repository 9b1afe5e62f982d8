import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  compareSequencers,
  decodeS3Key,
  parseS3EventMessage,
  S3EventParseError,
  type S3EventMessage,
  type S3ObjectEvent,
} from '../../shared/s3/event.js';
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
    expect(parsed.records[0]).toMatchObject({
      bucket: 'inbox-bucket',
      key: 'inbox/a.pdf',
      versionId: 'v1',
      size: 11,
      created: true,
      eventName: 'ObjectCreated:Put',
    });
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
    expect(() => parseS3EventMessage('m', s3NotificationBody([{ rawKey: 'inbox/bad%E0%A4%A.pdf' }]))).toThrow(
      /not a valid URL-encoded key/,
    );
  });
});

/** The AWS documentation's sample messages, as files, so that the shapes are the real ones. */
function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/s3-events/${name}`, import.meta.url)), 'utf8');
}

/** An SNS envelope (non-raw delivery) around a message body. */
function snsEnvelope(message: string): string {
  const envelope = JSON.parse(fixture('sns-envelope-template.json')) as Record<string, unknown>;
  return JSON.stringify({ ...envelope, Message: message });
}

function onlyRecord(parsed: S3EventMessage): S3ObjectEvent {
  if (parsed.kind !== 'records' || parsed.records.length !== 1) throw new Error(`expected one record, got ${JSON.stringify(parsed)}`);
  return parsed.records[0] as S3ObjectEvent;
}

describe('parseS3EventMessage: the message shapes real setups deliver', () => {
  const expectedNotificationRecord = {
    eventName: 'ObjectCreated:Put',
    created: true,
    bucket: 'amzn-s3-demo-bucket',
    key: 'inbox/Happy Face.jpg',
    versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
    size: 1024,
    sequencer: '0055AED6DCD90281E5',
  };

  it('reads S3 notifications sent directly, or through SNS with raw message delivery (the same body)', () => {
    const record = onlyRecord(parseS3EventMessage('m1', fixture('s3-notification.json')));
    expect(record).toMatchObject({ ...expectedNotificationRecord, source: 's3' });
  });

  it('unwraps an SNS envelope (non-raw delivery) around an S3 notification', () => {
    const record = onlyRecord(parseS3EventMessage('m1', snsEnvelope(fixture('s3-notification.json'))));
    expect(record).toMatchObject({ ...expectedNotificationRecord, source: 'sns' });
  });

  it('acknowledges an s3:TestEvent inside an SNS envelope', () => {
    expect(parseS3EventMessage('m1', snsEnvelope(fixture('s3-test-event.json')))).toEqual({ kind: 'test', bucket: 'amzn-s3-demo-bucket' });
  });

  it('names the SNS topic when an envelope carries something that is not an S3 notification', () => {
    expect(() => parseS3EventMessage('m1', snsEnvelope('Hello world!'))).toThrow(/s3-inbox-events: Message is not JSON/);
    expect(() => parseS3EventMessage('m1', snsEnvelope(JSON.stringify({ hello: 'world' })))).toThrow(/Message\.Records/);
  });

  it('reads an EventBridge "Object Created" event: bucket, key, version, size, ETag and sequencer', () => {
    const record = onlyRecord(parseS3EventMessage('m1', fixture('eventbridge-object-created.json')));
    expect(record).toEqual({
      eventName: 'ObjectCreated:PutObject',
      created: true,
      bucket: 'amzn-s3-demo-bucket',
      key: 'inbox/example-key',
      rawKey: 'inbox/example-key',
      alternateKey: undefined,
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      size: 5,
      eTag: 'b1946ac92492d2347c6235b4d2611184',
      sequencer: '617f08299329d189',
      eventTime: '2021-11-12T00:00:00Z',
      source: 'eventbridge',
    });
  });

  it('keeps both readings of an EventBridge key that may or may not be URL-encoded: decoded first, literal as the alternate', () => {
    const event = JSON.parse(fixture('eventbridge-object-created.json')) as { detail: { object: { key: string } } };
    event.detail.object.key = 'inbox/Site+plan+50%25.pdf';
    const record = onlyRecord(parseS3EventMessage('m1', JSON.stringify(event)));
    expect(record.key).toBe('inbox/Site plan 50%.pdf');
    expect(record.alternateKey).toBe('inbox/Site+plan+50%25.pdf');

    event.detail.object.key = 'inbox/100% sure.pdf';
    const literalOnly = onlyRecord(parseS3EventMessage('m1', JSON.stringify(event)));
    expect(literalOnly.key).toBe('inbox/100% sure.pdf');
    expect(literalOnly.alternateKey).toBeUndefined();
  });

  it('marks EventBridge events other than "Object Created" as not created', () => {
    const record = onlyRecord(parseS3EventMessage('m1', fixture('eventbridge-object-deleted.json')));
    expect(record).toMatchObject({ created: false, eventName: 'Object Deleted', source: 'eventbridge' });
  });
});

describe('compareSequencers', () => {
  it('orders sequencers of different lengths by left-padding the shorter with zeros', () => {
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBe(-1);
    expect(compareSequencers('617f08299329d189', '0055AED6DCD90281E5')).toBeGreaterThan(0);
    expect(compareSequencers('FF', '0100')).toBe(-1);
    expect(compareSequencers('00ff', 'FF')).toBe(0);
    expect(compareSequencers('0100', 'FF')).toBe(1);
  });
});
