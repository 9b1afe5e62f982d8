/**
 * The two keys of a rejected object: `rejected/<rest>` where the ingest copied it, and
 * `inbox/<rest>` where it came from and goes back to. The inverse of the ingest's
 * `rejectedKeyFor`, which keeps the part after the inbox prefix, except where it had to cut a
 * key to S3's limit: such a key ends in `~<16 hex>` and only its report's `object.key` still
 * holds the original inbox key (`resolveRejectedObjectKeys` reads it).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { isShortenedRejectedKey, rejectedKeyFor, reportKeyFor } from '../functions/ingest/rejection.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { UsageError } from './errors.js';

export interface RejectedObjectKeys {
  rejectedKey: string;
  reportKey: string;
  inboxKey: string;
}

type KeyPrefixes = Pick<PipelineConfig, 'inboxPrefix' | 'rejectedPrefix'>;

/** Reads a rejection report's text; undefined when there is no such object. */
export type RejectionReportReader = (reportKey: string) => Promise<string | undefined>;

/** The one part of a rejection report (functions/ingest/rejection.ts) the keys need. */
const ReportObjectKeySchema = z.object({ object: z.object({ key: z.string().min(1) }) });

/**
 * Accepts the key as a person copies it: `rejected/a/b.pdf`, `inbox/a/b.pdf` (the original
 * key), or `a/b.pdf` (the part after either prefix). Pure: for a shortened rejected key the
 * inbox key it returns is not the original one; use `resolveRejectedObjectKeys` before copying.
 */
export function rejectedObjectKeys(key: string, config: KeyPrefixes): RejectedObjectKeys {
  const rest = key.startsWith(config.rejectedPrefix)
    ? key.slice(config.rejectedPrefix.length)
    : key.startsWith(config.inboxPrefix)
      ? key.slice(config.inboxPrefix.length)
      : key;
  const inboxKey = `${config.inboxPrefix}${rest}`;
  const rejectedKey = rejectedKeyFor(inboxKey, config.inboxPrefix, config.rejectedPrefix);
  return { rejectedKey, reportKey: reportKeyFor(rejectedKey), inboxKey };
}

/**
 * `rejectedObjectKeys`, with the original inbox key of a shortened rejected key taken from its
 * report, so that `reingest` copies the object back under the key it was uploaded with (and its
 * routing rule and producer prefix still match). The report must name a key that shortens to
 * this very rejected key; otherwise it belongs to another object and is refused.
 */
export async function resolveRejectedObjectKeys(
  key: string,
  config: KeyPrefixes,
  readReport: RejectionReportReader,
): Promise<RejectedObjectKeys> {
  const keys = rejectedObjectKeys(key, config);
  if (!isShortenedRejectedKey(keys.rejectedKey)) return keys;

  const shortened = `${keys.rejectedKey} was shortened to fit S3's key limit, so only its report ${keys.reportKey} holds the original inbox key`;
  const byHand = `copy the object back under its original key by hand (aws s3 cp with --copy-props metadata-directive), then delete the rejected copy and its report`;
  const text = await readReport(keys.reportKey);
  if (text === undefined) throw new UsageError(`${shortened}, and that report is missing`, byHand);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${shortened}, and that report is not JSON`, byHand);
  }
  const parsed = ReportObjectKeySchema.safeParse(json);
  if (!parsed.success) throw new UsageError(`${shortened}, and that report has no object.key`, byHand);
  const inboxKey = parsed.data.object.key;
  if (rejectedKeyFor(inboxKey, config.inboxPrefix, config.rejectedPrefix) !== keys.rejectedKey) {
    throw new UsageError(
      `${shortened}, and that report names ${JSON.stringify(inboxKey.slice(0, 80))}..., which is not the key this rejected copy was made from`,
      `check that ${keys.reportKey} was not overwritten; ${byHand}`,
    );
  }
  return { ...keys, inboxKey };
}

/** Reads a report from the bucket; the S3 code is loaded only when a shortened key needs it. */
export function s3RejectionReportReader(s3: S3Client, bucket: string): RejectionReportReader {
  return async (reportKey) => {
    const [{ GetObjectCommand }, { isObjectGone }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('../functions/ingest/object-store.js'),
    ]);
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: reportKey }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (isObjectGone(err)) return undefined;
      throw err;
    }
  };
}
