/**
 * Streams one file into the archive bucket while hashing it.
 *
 * - The download is read here, chunk by chunk, and each chunk is copied once, into a part
 *   buffer; there is no stream stage in between.
 * - The stream is cut into parts of `partSize`; at most `queueSize` of them are in flight while
 *   the next one is read (the download is read on while parts upload, and waits only when
 *   `queueSize` are on their way). A file of at most one part goes up with a single PutObject,
 *   a larger one as a multipart upload. A file larger than partSize x 9,000 (announced by
 *   Content-Length) gets bigger parts: S3 allows 10,000.
 * - The whole file's SHA-256 (for the sidecar and the ledger) is computed off the event loop:
 *   the part buffers are shared memory, and a worker thread reads each full part in place while
 *   it uploads (shared/hashing/pooled-buffer-sha256.ts, which the Bynder upload uses too). On
 *   the event loop that pass cost about 0.65 s of CPU per GiB, during which nothing was read
 *   or sent. A file of one part is hashed on the event loop (a thread would cost more than the
 *   8 MiB it hashes). The chunks go into the shared buffers through copyIntoPoolBuffer: V8
 *   copies into shared memory byte by byte when the offsets disagree modulo 8, which cost the
 *   event loop 0.74 s per GiB (the export's CPU for 1 GiB fell from 5.9 s to 4.0 s with it).
 * - Every PutObject/UploadPart carries a checksum of its bytes that S3 verifies, refusing a
 *   part damaged on the way rather than storing it; CompleteMultipartUpload lists each part's
 *   checksum too. The default is CRC32 (`ChecksumCRC32`), computed by zlib's CRC32, which uses
 *   the CPU's carry-less multiply instructions (about 5 GiB/s on the bench machine, a part in
 *   under 2 ms). CRC32C and CRC64NVME, the other fast S3 checksums, have no such implementation
 *   in Node.js without a native add-on (the SDK's are table-driven JavaScript, slower than
 *   SHA-256); a SHA-256 per part was the second hash pass over every byte that halved the
 *   transfer's speed. `SHA256` stays available.
 * - Parts are signed with `UNSIGNED-PAYLOAD`: otherwise the SDK hashes every part's body with
 *   SHA-256 once more, just for the request signature. The body is still protected by TLS and
 *   by the checksum S3 verifies.
 * - Nothing is committed (PutObject, CompleteMultipartUpload) before the download has ended
 *   cleanly with its announced length and the whole file's SHA-256 is known. Any failure (the
 *   download, a part, the hashing thread, the completion) aborts the multipart upload: no part
 *   is left behind (should the abort itself fail, the bucket's lifecycle rule removes the
 *   parts) and no object appears. The download's own error is rethrown as it was, so the
 *   caller can tell an expired link from the rest; a truncated download's ExportError comes
 *   next, as it explains an upload failure best.
 *
 * Why not `@aws-sdk/lib-storage`'s `Upload`: its chunker `Buffer.concat`s every part into a
 * new part-sized buffer, so each part leaves part-sized garbage in external memory, which V8
 * only collects once external memory has grown by ~64 MiB. Exporting a 1 GiB file then peaked
 * at 1.34-1.53x the maxRSS of a 10 MiB one. Here parts are copied into at most queueSize part
 * buffers, allocated once per file and reused once S3 has answered and the hash has read them,
 * so no part-sized garbage is made and memory stays flat. queueSize, not queueSize + 1: the
 * reading waits anyway while queueSize parts are in flight, so a buffer taken for the next
 * part at that moment would only sit there until one of them is answered.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
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
import { checkStreamLength, streamDigestOf, type StreamDigest } from '../../shared/export/hashing-stream.js';
import type { ArchiveChecksumAlgorithm } from '../../shared/export/settings.js';
import {
  allocatePoolBuffer,
  copyIntoPoolBuffer,
  createPooledBufferHasher,
  type PooledBufferHasher,
  type StartHashingThread,
} from '../../shared/hashing/pooled-buffer-sha256.js';

export interface ArchiveUpload {
  s3: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  contentLength?: number | undefined;
  contentType?: string | undefined;
  partSizeBytes: number;
  queueSize: number;
  checksumAlgorithm: ArchiveChecksumAlgorithm | undefined;
  /** Starts the SHA-256 thread (tests give one that fails); Node's `Worker` by default. */
  startHashingThread?: StartHashingThread | undefined;
}

/** S3 allows 10,000 parts; a file larger than partSize x 9,000 gets bigger parts. */
const MAX_PARTS_PLANNED = 9_000;
/** S3's limit on the parts of one multipart upload. */
const S3_MAX_PARTS = 10_000;

export async function streamToArchive(upload: ArchiveUpload): Promise<StreamDigest> {
  const subject = `download for ${upload.key}`;
  let sourceError: unknown;
  upload.body.once('error', (err) => {
    sourceError ??= err;
  });
  const partSize =
    upload.contentLength !== undefined
      ? Math.max(upload.partSizeBytes, Math.ceil(upload.contentLength / MAX_PARTS_PLANNED))
      : upload.partSizeBytes;
  const writer = new PooledPartWriter(upload, partSize);

  let size = 0;
  let finished: FinishedUpload;
  try {
    for await (const chunk of upload.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Most chunks only fill the current part: no promise to wait for.
      const waiting = writer.write(chunk);
      if (waiting) await waiting;
    }
    // The download has ended, cleanly and with its announced length, before anything is committed.
    checkStreamLength(size, upload.contentLength, subject);
    finished = await writer.finish();
  } catch (err) {
    // Stop reading: nobody consumes the download any more.
    upload.body.destroy();
    await writer.abort();
    if (sourceError !== undefined) throw sourceError;
    throw err;
  } finally {
    writer.close();
  }

  const digest = streamDigestOf(size, finished.sha256);
  const checksumFromS3 = finished.checksum;
  if (upload.checksumAlgorithm === 'SHA256' && checksumFromS3?.reported !== undefined && checksumFromS3.reported !== digest.sha256Base64) {
    throw new ExportError(
      `S3 stored ${upload.key} with SHA-256 ${checksumFromS3.reported} but the bytes read hash to ${digest.sha256Base64}; the job is retried`,
      'transient',
    );
  }
  if (checksumFromS3 && checksumFromS3.reported !== undefined && checksumFromS3.reported !== checksumFromS3.sent) {
    throw new ExportError(
      `S3 stored ${upload.key} with ${checksumFromS3.algorithm} ${checksumFromS3.reported} but the bytes sent have ${checksumFromS3.sent}; the job is retried`,
      'transient',
    );
  }
  return digest;
}

/** What a finished upload knows: the whole file's SHA-256 and, for a single put, its checksum sent and reported. */
interface FinishedUpload {
  sha256: Buffer;
  checksum: PartChecksum | undefined;
}

/** The checksum sent with a single PutObject and the one S3 reported back, if it did. */
interface PartChecksum {
  algorithm: ArchiveChecksumAlgorithm;
  sent: string;
  reported: string | undefined;
}

type ChecksumFields = { ChecksumAlgorithm?: ArchiveChecksumAlgorithm; ChecksumCRC32?: string; ChecksumSHA256?: string };

/** The checksum fields of a part or object body, for the request and for CompleteMultipartUpload. */
export function checksumFieldsOf(body: Buffer, algorithm: ArchiveChecksumAlgorithm | undefined): ChecksumFields {
  switch (algorithm) {
    case 'CRC32': {
      const value = Buffer.allocUnsafe(4);
      value.writeUInt32BE(crc32(body) >>> 0, 0);
      return { ChecksumAlgorithm: 'CRC32', ChecksumCRC32: value.toString('base64') };
    }
    case 'SHA256':
      return { ChecksumAlgorithm: 'SHA256', ChecksumSHA256: createHash('sha256').update(body).digest('base64') };
    case undefined:
      return {};
  }
}

/** The checksum value among `fields` (CRC32 or SHA-256), if any. */
function checksumValueOf(
  fields: { ChecksumCRC32?: string | undefined; ChecksumSHA256?: string | undefined },
  algorithm: ArchiveChecksumAlgorithm,
): string | undefined {
  return algorithm === 'CRC32' ? fields.ChecksumCRC32 : fields.ChecksumSHA256;
}

/** Header that makes SigV4 skip hashing the body for the signature. */
export const UNSIGNED_PAYLOAD_HEADER = { name: 'x-amz-content-sha256', value: 'UNSIGNED-PAYLOAD' } as const;

/**
 * Signs the command's request with UNSIGNED-PAYLOAD instead of the body's SHA-256 (see the
 * module's JSDoc). Added at the build step, before the signer reads the header.
 */
export function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  (command.middlewareStack as unknown as BuildStepStack).add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      if (request?.headers) request.headers[UNSIGNED_PAYLOAD_HEADER.name] = UNSIGNED_PAYLOAD_HEADER.value;
      return next(args);
    },
    { step: 'build', name: 'archiveUnsignedPayload', override: true },
  );
  return command;
}

/** The one overload of the SDK's middleware stack used here: a build-step middleware. */
interface BuildStepStack {
  add(
    middleware: (next: (args: { request: unknown }) => Promise<unknown>) => (args: { request: unknown }) => Promise<unknown>,
    options: { step: 'build'; name: string; override: boolean },
  ): void;
}

/**
 * Copies the bytes it is given into part-sized buffers and uploads each full one. A full part
 * is sent only once more bytes follow it, so a file of exactly one part is a single PutObject
 * and the last part is never empty. A buffer returns to the pool when its UploadPart has
 * answered (retries included) and the SHA-256 thread has read it; at most queueSize buffers
 * ever exist, and the reading waits for one while queueSize parts are in flight.
 */
class PooledPartWriter {
  /** Every part buffer of this file, by slot (the hasher's numbering). */
  private readonly buffers: Buffer[] = [];
  /** Slots free to be filled. */
  private readonly free: number[] = [];
  private wakeForBuffer: (() => void) | undefined;
  private slot: number;
  private filled = 0;
  private uploadId: string | undefined;
  private partsSent = 0;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Parts whose buffer is not back in the pool yet (upload or hash still at it). */
  private readonly held = new Set<Promise<void>>();
  private partError: unknown;
  private readonly queueSize: number;
  private readonly maxBuffers: number;
  private readonly sharedBuffers: boolean;
  private readonly hasher: PooledBufferHasher;
  private readonly target: { Bucket: string; Key: string };
  private readonly contentType: string;

  constructor(
    private readonly upload: ArchiveUpload,
    private readonly partSize: number,
  ) {
    // Zero would wait forever for a part in flight to make room.
    this.queueSize = Math.max(1, upload.queueSize);
    this.maxBuffers = this.queueSize;
    // A file known to fit one part is hashed on the event loop; any other on the SHA-256 thread.
    const severalParts = upload.contentLength === undefined || upload.contentLength > partSize;
    this.hasher = createPooledBufferHasher({
      workerThread: severalParts,
      subject: `archive upload of ${upload.key}`,
      startThread: upload.startHashingThread,
    });
    this.sharedBuffers = this.hasher.onWorkerThread;
    this.slot = this.allocate();
    this.target = { Bucket: upload.bucket, Key: upload.key };
    this.contentType = upload.contentType ?? 'application/octet-stream';
  }

  /**
   * Takes one chunk of the stream. Returns nothing when the chunk only filled the current part,
   * else a promise that resolves once it is copied and fewer than queueSize parts are in flight.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    this.throwIfPartFailed();
    const room = this.partSize - this.filled;
    if (chunk.length <= room) {
      copyIntoPoolBuffer(chunk, this.bufferOf(this.slot), this.filled);
      this.filled += chunk.length;
      return undefined;
    }
    return this.writeAcrossParts(chunk);
  }

  private async writeAcrossParts(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      if (this.filled === this.partSize) await this.sendPart();
      this.throwIfPartFailed();
      const end = Math.min(chunk.length, offset + this.partSize - this.filled);
      copyIntoPoolBuffer(chunk.subarray(offset, end), this.bufferOf(this.slot), this.filled);
      this.filled += end - offset;
      offset = end;
    }
  }

  /**
   * The stream has ended: a single PutObject when it never filled more than one part, else the
   * last part and, once every part is in and the whole file's SHA-256 known, CompleteMultipartUpload.
   */
  async finish(): Promise<FinishedUpload> {
    const algorithm = this.upload.checksumAlgorithm;
    if (this.uploadId === undefined) {
      const body = this.bufferOf(this.slot).subarray(0, this.filled);
      await this.hasher.hash(this.slot, this.filled).released;
      const sha256 = await this.hasher.fileDigest();
      const checksum = checksumFieldsOf(body, algorithm);
      const put = await this.upload.s3.send(
        withUnsignedPayload(
          new PutObjectCommand({ ...this.target, Body: body, ContentLength: body.length, ContentType: this.contentType, ...checksum }),
        ),
      );
      const sent = algorithm ? checksumValueOf(checksum, algorithm) : undefined;
      return {
        sha256,
        checksum: algorithm && sent !== undefined ? { algorithm, sent, reported: checksumValueOf(put, algorithm) } : undefined,
      };
    }
    await this.sendPart({ last: true });
    await Promise.all([...this.held]);
    this.throwIfPartFailed();
    const sha256 = await this.hasher.fileDigest();
    await this.upload.s3.send(
      new CompleteMultipartUploadCommand({ ...this.target, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts } }),
    );
    return { sha256, checksum: undefined };
  }

  /** After a failure: lets the parts in flight settle, then aborts the multipart upload if one was begun. Never throws. */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.close();
    if (this.uploadId === undefined) return;
    await this.upload.s3.send(new AbortMultipartUploadCommand({ ...this.target, UploadId: this.uploadId })).catch(() => undefined);
  }

  /** Ends the SHA-256 thread, if any. */
  close(): void {
    this.hasher.close();
  }

  private async sendPart(options?: { last: boolean }): Promise<void> {
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
    const slot = this.slot;
    const body = this.bufferOf(slot).subarray(0, this.filled);
    // The SHA-256 thread reads the part while it uploads; the event loop reads on.
    const hashed = this.hasher.hash(slot, this.filled).released.catch((err: unknown) => {
      this.partError ??= err;
    });
    const checksum = checksumFieldsOf(body, this.upload.checksumAlgorithm);
    const sent: Promise<void> = this.upload.s3
      .send(
        withUnsignedPayload(
          new UploadPartCommand({
            ...this.target,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: body.length,
            ...checksum,
          }),
        ),
      )
      .then((answer) => {
        if (!answer.ETag) throw new Error(`UploadPart ${partNumber} of s3://${this.upload.bucket}/${this.upload.key} returned no ETag`);
        this.parts[partNumber - 1] = {
          PartNumber: partNumber,
          ETag: answer.ETag,
          ...(checksum.ChecksumCRC32 !== undefined ? { ChecksumCRC32: checksum.ChecksumCRC32 } : {}),
          ...(checksum.ChecksumSHA256 !== undefined ? { ChecksumSHA256: checksum.ChecksumSHA256 } : {}),
        };
      })
      .catch((err: unknown) => {
        this.partError ??= err;
      })
      .finally(() => {
        this.inFlight.delete(sent);
      });
    this.inFlight.add(sent);
    const held: Promise<void> = Promise.all([sent, hashed]).then(() => {
      this.held.delete(held);
      this.giveBack(slot);
    });
    this.held.add(held);
    if (options?.last) return;
    this.slot = await this.takeBuffer();
    this.filled = 0;
    // Backpressure: no more bytes are taken (so none read) while queueSize parts are on their way.
    while (this.inFlight.size >= this.queueSize) await Promise.race(this.inFlight);
  }

  /** A free part buffer: a pooled one, a new one while fewer than queueSize exist, else the next one given back. */
  private async takeBuffer(): Promise<number> {
    for (;;) {
      const free = this.free.pop();
      if (free !== undefined) return free;
      if (this.buffers.length < this.maxBuffers) return this.allocate();
      await new Promise<void>((resolve) => {
        this.wakeForBuffer = resolve;
      });
      this.wakeForBuffer = undefined;
    }
  }

  private giveBack(slot: number): void {
    this.free.push(slot);
    this.wakeForBuffer?.();
  }

  private allocate(): number {
    const buffer = allocatePoolBuffer(this.partSize, this.sharedBuffers);
    const slot = this.hasher.addBuffer(buffer);
    this.buffers[slot] = buffer;
    return slot;
  }

  private bufferOf(slot: number): Buffer {
    const buffer = this.buffers[slot];
    if (!buffer) throw new RangeError(`no part buffer ${slot}: ${this.buffers.length} allocated for ${this.upload.key}`);
    return buffer;
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
}
