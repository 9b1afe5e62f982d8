/**
 * Parses the body of an SQS message that carries S3 object events, in the shapes real setups
 * deliver them:
 *
 * - an S3 event notification (`{"Records":[...]}`), sent by S3 to the queue directly, or through
 *   an SNS topic with raw message delivery (the body is then the notification itself);
 * - an SNS envelope (`{"Type":"Notification","Message":"<notification JSON>",...}`), the usual
 *   fan-out without raw delivery; its `Message` may itself be an `s3:TestEvent`;
 * - an EventBridge event (`"source":"aws.s3"`, `"detail-type":"Object Created"`), when the bucket
 *   sends its events to EventBridge and a rule targets the queue.
 *
 * The body crosses a trust boundary (anyone allowed to send to the queue can put anything in
 * it), so it is validated with zod; a body that is none of these becomes an `S3EventParseError`
 * naming the message, so that one bad message is reported and the rest of the batch goes on.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';

/** Which delivery path a record came by; logged, so that an operator knows which wiring sent it. */
export type S3EventSource = 's3' | 'sns' | 'eventbridge';

/** One object named by a notification. */
export interface S3ObjectEvent {
  /** As S3 sends it, e.g. `ObjectCreated:Put`; EventBridge's `Object Created` becomes `ObjectCreated:<reason>`. */
  eventName: string;
  /** True for every `ObjectCreated:*` event: the only kind the ingest acts on. */
  created: boolean;
  bucket: string;
  /** The decoded key (`+` is a space, then %-decoding), as the S3 API expects it. */
  key: string;
  /** The key exactly as it appeared in the notification. */
  rawKey: string;
  /**
   * Another reading of the key, tried when `key` names no object. EventBridge's documentation
   * does not say whether its keys are URL-encoded like a notification's: the decoded reading is
   * tried first and the literal one second, whenever the two differ.
   */
  alternateKey?: string | undefined;
  /** Absent when the bucket is not versioned. */
  versionId?: string | undefined;
  size?: number | undefined;
  eTag?: string | undefined;
  /** Orders events of one key (see `compareSequencers`); absent in some hand-made events. */
  sequencer?: string | undefined;
  eventTime?: string | undefined;
  source: S3EventSource;
}

export type S3EventMessage =
  /** S3 sends `s3:TestEvent` once when a notification is configured: acknowledge, nothing to do. */
  { kind: 'test'; bucket?: string | undefined } | { kind: 'records'; records: S3ObjectEvent[] };

/** How much of a bad body goes into logs and errors. Bodies carry no secrets. */
export const BODY_PREVIEW_CHARS = 200;

export class S3EventParseError extends Error {
  override readonly name = 'S3EventParseError';
  constructor(
    readonly messageId: string,
    readonly bodyPreview: string,
    readonly issues: string[],
  ) {
    super(
      `SQS message ${messageId} is not an S3 event notification: ${issues.join('; ')}. ` +
        `Body starts with: ${JSON.stringify(bodyPreview)}. ` +
        'Only S3 (directly, through SNS, or through an EventBridge rule) should send to the ingest queue; ' +
        'check the queue policy, the bucket notification and any subscription or rule that targets the queue.',
    );
  }
}

const optionalString = lazySchema(() =>
  z.pipe(
    z.nullish(z.string()),
    z.transform((v) => v ?? undefined),
  ),
);
const optionalSize = lazySchema(() =>
  z.pipe(
    z.nullish(z.int().check(z.nonnegative())),
    z.transform((v) => v ?? undefined),
  ),
);
const nonEmptyString = () => z.string().check(z.minLength(1));

const TestEventSchema = lazySchema(() =>
  z.object({
    Event: z.literal('s3:TestEvent'),
    Bucket: optionalString,
  }),
);

const RecordSchema = lazySchema(() =>
  z.object({
    eventName: nonEmptyString(),
    eventTime: optionalString,
    s3: z.object({
      bucket: z.object({ name: nonEmptyString() }),
      object: z.object({
        key: nonEmptyString(),
        size: optionalSize,
        versionId: optionalString,
        eTag: optionalString,
        sequencer: optionalString,
      }),
    }),
  }),
);

const NotificationSchema = lazySchema(() => z.object({ Records: z.array(RecordSchema) }));

/** The SNS envelope of a non-raw delivery; only the fields the ingest reads. */
const SnsEnvelopeSchema = lazySchema(() =>
  z.object({
    Type: z.literal('Notification'),
    Message: z.string(),
    TopicArn: optionalString,
    MessageId: optionalString,
  }),
);

/** An S3 event as EventBridge delivers it; other detail types of `aws.s3` are recognised and not created. */
const EventBridgeEventSchema = lazySchema(() =>
  z.object({
    source: z.literal('aws.s3'),
    'detail-type': nonEmptyString(),
    time: optionalString,
    detail: z.object({
      bucket: z.object({ name: nonEmptyString() }),
      object: z.object({
        key: nonEmptyString(),
        size: optionalSize,
        etag: optionalString,
        'version-id': optionalString,
        sequencer: optionalString,
      }),
      reason: optionalString,
    }),
  }),
);

/**
 * Decodes a key as S3 writes it into notifications: form-encoded, so `+` is a space and every
 * other special character is %-escaped. Throws URIError on a broken escape.
 */
export function decodeS3Key(rawKey: string): string {
  return decodeURIComponent(rawKey.replace(/\+/g, ' '));
}

export function parseS3EventMessage(messageId: string, body: string): S3EventMessage {
  const preview = body.slice(0, BODY_PREVIEW_CHARS);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new S3EventParseError(messageId, preview, [`body is not JSON (${(err as Error).message})`]);
  }

  const envelope = SnsEnvelopeSchema.safeParse(json);
  if (envelope.success) {
    let inner: unknown;
    try {
      inner = JSON.parse(envelope.data.Message);
    } catch (err) {
      throw new S3EventParseError(messageId, preview, [
        `SNS notification${envelope.data.TopicArn ? ` from ${envelope.data.TopicArn}` : ''}: Message is not JSON (${(err as Error).message})`,
      ]);
    }
    return parseNotification(messageId, preview, inner, 'sns', 'Message.');
  }

  const eventBridge = EventBridgeEventSchema.safeParse(json);
  if (eventBridge.success) return { kind: 'records', records: [eventBridgeRecord(eventBridge.data)] };

  return parseNotification(messageId, preview, json, 's3', '');
}

/** Which events of one key happened later: S3's rule, compare after left-padding with zeros. */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padStart(width, '0');
  const right = b.toUpperCase().padStart(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

function parseNotification(messageId: string, preview: string, json: unknown, source: S3EventSource, pathPrefix: string): S3EventMessage {
  const test = TestEventSchema.safeParse(json);
  if (test.success) return { kind: 'test', bucket: test.data.Bucket };

  const parsed = NotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new S3EventParseError(
      messageId,
      preview,
      parsed.error.issues.map((i) => `${pathPrefix}${i.path.join('.') || '(body)'}: ${i.message}`),
    );
  }

  const records: S3ObjectEvent[] = [];
  const issues: string[] = [];
  parsed.data.Records.forEach((r, index) => {
    let key: string;
    try {
      key = decodeS3Key(r.s3.object.key);
    } catch {
      issues.push(`${pathPrefix}Records.${index}.s3.object.key: ${JSON.stringify(r.s3.object.key)} is not a valid URL-encoded key`);
      return;
    }
    const eventName = r.eventName.replace(/^s3:/, '');
    records.push({
      eventName,
      created: eventName.startsWith('ObjectCreated:'),
      bucket: r.s3.bucket.name,
      key,
      rawKey: r.s3.object.key,
      versionId: r.s3.object.versionId,
      size: r.s3.object.size,
      eTag: r.s3.object.eTag,
      sequencer: r.s3.object.sequencer,
      eventTime: r.eventTime,
      source,
    });
  });
  if (issues.length > 0) throw new S3EventParseError(messageId, preview, issues);
  return { kind: 'records', records };
}

/**
 * An EventBridge event as one record. Its key may or may not be URL-encoded (the pages leave it
 * open): the decoded reading comes first, the literal one is kept as the alternate.
 */
function eventBridgeRecord(event: z.infer<typeof EventBridgeEventSchema>): S3ObjectEvent {
  const { bucket, object, reason } = event.detail;
  const created = event['detail-type'] === 'Object Created';
  let decoded: string | undefined;
  try {
    decoded = decodeS3Key(object.key);
  } catch {
    decoded = undefined;
  }
  const key = decoded ?? object.key;
  return {
    eventName: created ? `ObjectCreated:${reason ?? 'Put'}` : event['detail-type'],
    created,
    bucket: bucket.name,
    key,
    rawKey: object.key,
    alternateKey: key !== object.key ? object.key : undefined,
    versionId: object['version-id'],
    size: object.size,
    eTag: object.etag,
    sequencer: object.sequencer,
    eventTime: event.time,
    source: 'eventbridge',
  };
}
