/**
 * Streams one file into the archive bucket while hashing it.
 *
 * - The stream is cut into parts of `partSize` and at most `queueSize` of them are in flight;
 *   while they are, the download is not read (backpressure). A file of at most one part goes
 *   up with a single PutObject, a larger one as a multipart upload. A file larger than
 *   partSize x 9,000 (announced by Content-Length) gets bigger parts: S3 allows 10,000.
 * - With `checksumAlgorithm: "SHA256"` every PutObject/UploadPart carries the SHA-256 of its
 *   bytes (`ChecksumSHA256`, computed here while the part is filled), so S3 verifies each part
 *   and refuses one damaged on the way rather than storing it; CompleteMultipartUpload lists
 *   each part's checksum too. (The SDK would compute the header itself when only
 *   `ChecksumAlgorithm` is set, also in the "when required" mode of local endpoints; giving
 *   the value makes it skip that and lets us list it in CompleteMultipartUpload.)
 * - The whole-file SHA-256 is computed by a pass-through on the way (S3's own checksum of a
 *   multipart object is a checksum of the parts' checksums, not of the file). For a single
 *   PutObject S3 returns the file's SHA-256, which must then equal ours.
 * - Nothing is committed (PutObject, CompleteMultipartUpload) before the download has ended
 *   cleanly. Any failure (the download, a part, the completion) aborts the multipart upload:
 *   no part is left behind (should the abort itself fail, the bucket's lifecycle rule removes
 *   the parts) and no object appears. The download's own error is rethrown as it was, so the
 *   caller can tell an expired link from the rest; a truncated download's ExportError comes
 *   next, as it explains an upload failure best.
 *
 * Why not `@aws-sdk/lib-storage`'s `Upload`: its chunker `Buffer.concat`s every part into a
 * new part-sized buffer, so each part leaves part-sized garbage in external memory, which V8
 * only collects once external memory has grown by ~64 MiB. Exporting a 1 GiB file then peaked
 * at 1.34-1.53x the maxRSS of a 10 MiB one (8 MiB parts; fewer parts in flight or bigger parts
 * did not help, 5 MiB parts gave 1.18-1.23x). Here parts are copied into at most
 * queueSize + 1 part buffers that are reused once S3 has answered, so no part-sized garbage is
 * made and memory stays flat: 1.08-1.23x over several runs of the bench (it varies with the
 * machine's load).
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
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
/** S3's limit on the parts of one multipart upload. */
const S3_MAX_PARTS = 10_000;

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
  const writer = new PooledPartWriter(upload, partSize);

  let uploadError: unknown;
  let checksumFromS3: string | undefined;
  try {
    for await (const chunk of hasher as AsyncIterable<Buffer>) await writer.write(chunk);
    // The hasher has ended; the download must have too, cleanly, before anything is committed.
    const downloadError = await piping;
    if (downloadError !== undefined) throw downloadError;
    checksumFromS3 = await writer.finish();
  } catch (err) {
    uploadError = err;
    // Stop reading: the pipe would otherwise wait forever on a consumer that is gone.
    upload.body.destroy();
    hasher.destroy();
    await writer.abort();
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

/**
 * Copies the bytes it is given into part-sized buffers and uploads each full one. A full part
 * is sent only once more bytes follow it, so a file of exactly one part is a single PutObject
 * and the last part is never empty. A buffer returns to the pool when its UploadPart has
 * answered (retries included), so at most queueSize + 1 buffers ever exist.
 */
class PooledPartWriter {
  private readonly pool: Buffer[] = [];
  private buffer: Buffer;
  private filled = 0;
  private partHash: Hash | undefined;
  private uploadId: string | undefined;
  private partsSent = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private partError: unknown;
  private readonly queueSize: number;
  private readonly target: { Bucket: string; Key: string };
  private readonly contentType: string;

  constructor(
    private readonly upload: ArchiveUpload,
    private readonly partSize: number,
  ) {
    this.buffer = Buffer.allocUnsafe(partSize);
    this.partHash = this.newPartHash();
    // Zero would wait forever for a part in flight to make room.
    this.queueSize = Math.max(1, upload.queueSize);
    this.target = { Bucket: upload.bucket, Key: upload.key };
    this.contentType = upload.contentType ?? 'application/octet-stream';
  }

  /** Takes one chunk of the stream; resolves once it is copied and fewer than queueSize parts are in flight. */
  async write(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      if (this.filled === this.partSize) await this.sendPart();
      this.throwIfPartFailed();
      const end = Math.min(chunk.length, offset + this.partSize - this.filled);
      chunk.copy(this.buffer, this.filled, offset, end);
      this.partHash?.update(chunk.subarray(offset, end));
      this.filled += end - offset;
      offset = end;
    }
  }

  /**
   * The stream has ended: a single PutObject when it never filled more than one part, else the
   * last part and CompleteMultipartUpload. Returns the SHA-256 S3 reports for a single put.
   */
  async finish(): Promise<string | undefined> {
    if (this.uploadId === undefined) {
      const body = this.buffer.subarray(0, this.filled);
      const put = await this.upload.s3.send(
        new PutObjectCommand({
          ...this.target,
          Body: body,
          ContentLength: body.length,
          ContentType: this.contentType,
          ...this.checksumOf(this.partHash),
        }),
      );
      return put.ChecksumSHA256;
    }
    await this.sendPart();
    await Promise.all([...this.inFlight]);
    this.throwIfPartFailed();
    await this.upload.s3.send(
      new CompleteMultipartUploadCommand({ ...this.target, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
    );
    return undefined;
  }

  /** After a failure: lets the parts in flight settle, then aborts the multipart upload if one was begun. Never throws. */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    if (this.uploadId === undefined) return;
    await this.upload.s3
      .send(new AbortMultipartUploadCommand({ ...this.target, UploadId: this.uploadId }))
      .catch(() => undefined);
  }

  private async sendPart(): Promise<void> {
    if (this.partsSent >= S3_MAX_PARTS) {
      const announced = this.upload.contentLength;
      throw announced === undefined
        ? new ExportError(
            `the download for ${this.upload.key} is larger than S3's ${S3_MAX_PARTS} parts of ${this.partSize} bytes and announced no Content-Length to size the parts by; raise the export's partSizeBytes`,
            'permanent',
          )
        : new ExportError(
            `the download for ${this.upload.key} ran past ${S3_MAX_PARTS} parts of ${this.partSize} bytes although its Content-Length was ${announced}; nothing was archived, the job is retried`,
            'transient',
          );
    }
    const uploadId = (this.uploadId ??= await this.createMultipartUpload());
    const partNumber = ++this.partsSent;
    const buffer = this.buffer;
    const body = buffer.subarray(0, this.filled);
    const checksum = this.checksumOf(this.partHash);
    const sent: Promise<void> = this.upload.s3
      .send(new UploadPartCommand({ ...this.target, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length, ...checksum }))
      .then((answer) => {
        if (!answer.ETag) throw new Error(`UploadPart ${partNumber} of s3://${this.upload.bucket}/${this.upload.key} returned no ETag`);
        this.parts[partNumber - 1] = {
          PartNumber: partNumber,
          ETag: answer.ETag,
          ...(checksum.ChecksumSHA256 !== undefined ? { ChecksumSHA256: checksum.ChecksumSHA256 } : {}),
        };
      })
      .catch((err: unknown) => {
        this.partError ??= err;
      })
      .finally(() => {
        this.inFlight.delete(sent);
        this.pool.push(buffer);
      });
    this.inFlight.add(sent);
    this.buffer = this.pool.pop() ?? Buffer.allocUnsafe(this.partSize);
    this.filled = 0;
    this.partHash = this.newPartHash();
    // Backpressure: no more bytes are taken (so none read) while queueSize parts are on their way.
    while (this.inFlight.size >= this.queueSize) await Promise.race(this.inFlight);
  }

  private async createMultipartUpload(): Promise<string> {
    const created = await this.upload.s3.send(
      new CreateMultipartUploadCommand({
        ...this.target,
        ContentType: this.contentType,
        ...(this.upload.checksumAlgorithm ? { ChecksumAlgorithm: this.upload.checksumAlgorithm } : {}),
      }),
    );
    if (!created.UploadId) throw new Error(`CreateMultipartUpload for s3://${this.upload.bucket}/${this.upload.key} returned no UploadId`);
    return created.UploadId;
  }

  private throwIfPartFailed(): void {
    if (this.partError !== undefined) throw this.partError;
  }

  private newPartHash(): Hash | undefined {
    return this.upload.checksumAlgorithm === 'SHA256' ? createHash('sha256') : undefined;
  }

  private checksumOf(hash: Hash | undefined): { ChecksumAlgorithm?: 'SHA256'; ChecksumSHA256?: string } {
    return hash ? { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: hash.digest('base64') } : {};
  }
}
