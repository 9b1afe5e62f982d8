/**
 * A pass-through stream that computes the SHA-256 and the length of the bytes flowing through
 * it, so the checksum of an exported file is the checksum of exactly the bytes that went to
 * the archive, computed without holding the file in memory.
 *
 * When the expected length is known (the download's Content-Length) a shorter or longer
 * stream fails at its end, before the consumer sees the end: a truncated download then never
 * becomes a complete-looking object in the archive.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { ExportError } from './errors.js';

export interface StreamDigest {
  size: number;
  sha256Hex: string;
  sha256Base64: string;
}

export class Sha256PassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digestValue: StreamDigest | undefined;

  constructor(
    private readonly expectedLength?: number,
    /** Names the object in the error of a length mismatch. */
    private readonly subject = 'download',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expectedLength !== undefined && this.bytes !== this.expectedLength) {
      callback(
        new ExportError(
          `${this.subject} ended after ${this.bytes} of ${this.expectedLength} bytes (Content-Length); nothing was archived, the job is retried`,
          'transient',
        ),
      );
      return;
    }
    const digest = this.hash.digest();
    this.digestValue = { size: this.bytes, sha256Hex: digest.toString('hex'), sha256Base64: digest.toString('base64') };
    callback();
  }

  /** The digest of everything that passed; throws when the stream has not ended cleanly. */
  digest(): StreamDigest {
    if (!this.digestValue) throw new Error(`${this.subject}: digest read before the stream ended`);
    return this.digestValue;
  }
}
