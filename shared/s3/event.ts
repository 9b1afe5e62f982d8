/**
 * Parses the body of an SQS message that carries an S3 event notification.
 *
 * The body crosses a trust boundary (anyone allowed to send to the queue can put anything in
 * it), so it is validated with zod; a body that is not an S3 notification becomes an
 * `S3EventParseError` naming the message, so that one bad message is reported and the rest of
 * the batch goes on.
 */
import { z } from 'zod';

/** One object named by a notification. */
export interface S3ObjectEvent {
  /** As S3 sends it, e.g. `ObjectCreated:Put`. */
  eventName: string;
  /** True for every `ObjectCreated:*` event: the only kind the ingest acts on. */
  created: boolean;
  bucket: string;
  /** The decoded key (`+` is a space, then %-decoding), as the S3 API expects it. */
  key: string;
  /** The key exactly as it appeared in the notification. */
  rawKey: string;
  /** Absent when the bucket is not versioned. */
  versionId?: string | undefined;
  size?: number | undefined;
  eTag?: string | undefined;
  sequencer?: string | undefined;
  eventTime?: string | undefined;
}

export type S3EventMessage =
  /** S3 sends `s3:TestEvent` once when a notification is configured: acknowledge, nothing to do. */
  | { kind: 'test'; bucket?: string | undefined }
  | { kind: 'records'; records: S3ObjectEvent[] };

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
        'Only S3 should send to the ingest queue; check the queue policy and the bucket notification.',
    );
  }
}

const optionalString = z.string().nullish().transform((v) => v ?? undefined);

const TestEventSchema = z.object({
  Event: z.literal('s3:TestEvent'),
  Bucket: optionalString,
});

const RecordSchema = z.object({
  eventName: z.string().min(1),
  eventTime: optionalString,
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().nullish().transform((v) => v ?? undefined),
      versionId: optionalString,
      eTag: optionalString,
      sequencer: optionalString,
    }),
  }),
});

const NotificationSchema = z.object({ Records: z.array(RecordSchema) });

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

  const test = TestEventSchema.safeParse(json);
  if (test.success) return { kind: 'test', bucket: test.data.Bucket };

  const parsed = NotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new S3EventParseError(
      messageId,
      preview,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
    );
  }

  const records: S3ObjectEvent[] = [];
  const issues: string[] = [];
  parsed.data.Records.forEach((r, index) => {
    let key: string;
    try {
      key = decodeS3Key(r.s3.object.key);
    } catch {
      issues.push(`Records.${index}.s3.object.key: ${JSON.stringify(r.s3.object.key)} is not a valid URL-encoded key`);
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
    });
  });
  if (issues.length > 0) throw new S3EventParseError(messageId, preview, issues);
  return { kind: 'records', records };
}
