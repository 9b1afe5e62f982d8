/**
 * Streams one file into the archive bucket while hashing it.
 *
 * - `@aws-sdk/lib-storage` `Upload` cuts the stream into parts of `partSize` and keeps at most
 *   `queueSize` of them in flight, so memory is about (queueSize + 1) x partSize whatever the
 *   file's size; a file smaller than one part goes up with a single PutObject.
 * - `ChecksumAlgorithm: "SHA256"` makes the SDK send each part's SHA-256 and S3 verify it; a
 *   part damaged on the way is refused rather than stored.
 * - The whole-file SHA-256 is computed by a pass-through on the way (S3's own checksum of a
 *   multipart object is a checksum of the parts' checksums, not of the file). For a single
 *   PutObject S3 returns the file's SHA-256, which must then equal ours.
 * - A failure of the download stream aborts the upload (no part is left behind, no object
 *   appears) and is rethrown as it was, so the caller can tell an expired link from the rest.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ExportError } from '../../shared/export/errors.js';
import { Sha256PassThrough, type StreamDigest } from '../../shared/export/hashing-stream.js';

export interface ArchiveUpload {
  s3: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  contentLength?: number | undefined;
  contentType?: string | undefined;
  partSizeBytes: number;
  queueSize: number;
  checksumAlgorithm: 'SHA256' | undefined;
}

/** S3 allows 10,000 parts; a file larger than partSize x 9,000 gets bigger parts. */
const MAX_PARTS_PLANNED = 9_000;

export async function streamToArchive(upload: ArchiveUpload): Promise<StreamDigest> {
  const hasher = new Sha256PassThrough(upload.contentLength, `download for ${upload.key}`);
  let sourceError: unknown;
  upload.body.once('error', (err) => {
    sourceError ??= err;
  });
  const piping = pipeline(upload.body, hasher).then(
    () => undefined,
    (err: unknown) => err,
  );
  const partSize =
    upload.contentLength !== undefined
      ? Math.max(upload.partSizeBytes, Math.ceil(upload.contentLength / MAX_PARTS_PLANNED))
      : upload.partSizeBytes;
  const transfer = new Upload({
    client: upload.s3,
    params: {
      Bucket: upload.bucket,
      Key: upload.key,
      Body: hasher,
      ContentType: upload.contentType ?? 'application/octet-stream',
      ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm } : {}),
    },
    partSize,
    queueSize: upload.queueSize,
    leavePartsOnError: false,
  });

  let uploadError: unknown;
  let checksumFromS3: string | undefined;
  try {
    const result = await transfer.done();
    checksumFromS3 = result.ChecksumSHA256;
  } catch (err) {
    uploadError = err;
    // Stop reading: the pipe would otherwise wait forever on a consumer that is gone.
    upload.body.destroy();
    hasher.destroy();
  }
  const pipeError = await piping;
  if (sourceError !== undefined) throw sourceError;
  // The hasher's own verdict (a truncated download) explains an upload failure best.
  if (pipeError instanceof ExportError) throw pipeError;
  if (uploadError !== undefined) throw uploadError;
  if (pipeError !== undefined) throw pipeError;

  const digest = hasher.digest();
  // A single-part object's checksum is the file's; a multipart one's ends in "-<parts>".
  if (checksumFromS3 && !checksumFromS3.includes('-') && checksumFromS3 !== digest.sha256Base64) {
    throw new ExportError(
      `S3 stored ${upload.key} with SHA-256 ${checksumFromS3} but the bytes read hash to ${digest.sha256Base64}; the job is retried`,
      'transient',
    );
  }
  return digest;
}
