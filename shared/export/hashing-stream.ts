/**
 * The SHA-256 and the length of a file's bytes as they stream past, so the checksum of an
 * exported file is the checksum of exactly the bytes that went to the archive, computed without
 * holding the file in memory.
 *
 * `StreamDigester` is fed the chunks by whoever reads the stream (the archive upload reads the
 * download itself, so no extra stream stage sits in the byte path); `Sha256PassThrough` is the
 * same as a Transform, for a pipeline.
 *
 * When the expected length is known (the download's Content-Length) a shorter or longer
 * stream fails at its end, before anything is committed: a truncated download then never
 * becomes a complete-looking object in the archive.
 *
 * The archive upload itself hashes its part buffers on a worker thread
 * (shared/hashing/pooled-buffer-sha256.ts) and takes only the length check and the digest's
 * shape from here (`checkStreamLength`, `streamDigestOf`); `StreamDigester` hashes on the
 * calling thread, for a stream that passes through no buffer pool.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ExportError } from './errors.js';

export interface StreamDigest {
  size: number;
  sha256Hex: string;
  sha256Base64: string;
}

export class StreamDigester {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digestValue: StreamDigest | undefined;

  constructor(
    private readonly expectedLength?: number,
    /** Names the object in the error of a length mismatch. */
    private readonly subject = 'download',
  ) {}

  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Ends the digest. Throws a transient ExportError when the stream's length differs from the
   * expected one (the retry reads it again).
   */
  finish(): StreamDigest {
    if (this.digestValue) return this.digestValue;
    checkStreamLength(this.bytes, this.expectedLength, this.subject);
    this.digestValue = streamDigestOf(this.bytes, this.hash.digest());
    return this.digestValue;
  }
}

/**
 * Throws a transient ExportError when a stream of `bytes` ended short of (or past) its
 * announced length: the retry reads it again, and nothing is committed before this check.
 */
export function checkStreamLength(bytes: number, expectedLength: number | undefined, subject: string): void {
  if (expectedLength !== undefined && bytes !== expectedLength) {
    throw new ExportError(
      `${subject} ended after ${bytes} of ${expectedLength} bytes (Content-Length); nothing was archived, the job is retried`,
      'transient',
    );
  }
}

/** The digest of a stream of `size` bytes whose SHA-256 is `sha256` (32 bytes). */
export function streamDigestOf(size: number, sha256: Buffer): StreamDigest {
  return { size, sha256Hex: sha256.toString('hex'), sha256Base64: sha256.toString('base64') };
}

export class Sha256PassThrough extends Transform {
  private readonly digester: StreamDigester;
  private digestValue: StreamDigest | undefined;

  constructor(
    expectedLength?: number,
    /** Names the object in the error of a length mismatch. */
    private readonly subject = 'download',
  ) {
    super();
    this.digester = new StreamDigester(expectedLength, subject);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.digester.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.digestValue = this.digester.finish();
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  /** The digest of everything that passed; throws when the stream has not ended cleanly. */
  digest(): StreamDigest {
    if (!this.digestValue) throw new Error(`${this.subject}: digest read before the stream ended`);
    return this.digestValue;
  }
}
