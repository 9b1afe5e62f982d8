/**
 * Where a document version's bytes live in the emulator. Three kinds, all streamed, none of
 * them held whole in memory beyond what they already are:
 * - `MemoryBlob`: the small, deterministic contents of the seed documents;
 * - `FileBlob`: bytes PUT to a presigned upload URL, written to the blob directory;
 * - `SyntheticBlob`: a size and a seed; the bytes are generated on every read, so a 1 GiB
 *   version or a hundred thousand benchmark versions cost neither disk nor memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface BlobSource {
  readonly kind: 'memory' | 'file' | 'synthetic';
  readonly size: number;
  /** Content-Type given when the bytes were stored, if any. */
  readonly contentType?: string | undefined;
  /** A fresh stream over the whole content. */
  open(): Readable;
  /** Lower-case hex SHA-256 of the content. */
  digest(): Promise<string>;
}

export class MemoryBlob implements BlobSource {
  readonly kind = 'memory';
  private readonly bytes: Buffer;
  private readonly sha256: string;

  constructor(
    content: string | Uint8Array,
    readonly contentType?: string,
  ) {
    this.bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    this.sha256 = createHash('sha256').update(this.bytes).digest('hex');
  }

  get size(): number {
    return this.bytes.length;
  }

  open(): Readable {
    return Readable.from([this.bytes], { objectMode: false });
  }

  digest(): Promise<string> {
    return Promise.resolve(this.sha256);
  }
}

export class FileBlob implements BlobSource {
  readonly kind = 'file';

  constructor(
    readonly path: string,
    readonly size: number,
    private readonly sha256: string,
    readonly contentType?: string,
  ) {}

  open(): Readable {
    return createReadStream(this.path);
  }

  digest(): Promise<string> {
    return Promise.resolve(this.sha256);
  }
}

const SYNTHETIC_CHUNK_BYTES = 64 * 1024;

/**
 * Deterministic pseudo-random bytes: a 64 KiB pattern derived from the seed, with each chunk's
 * index stamped into its first bytes so that the content is not merely periodic (a reordered or
 * duplicated chunk changes the checksum).
 */
export class SyntheticBlob implements BlobSource {
  readonly kind = 'synthetic';
  readonly contentType = 'application/octet-stream';
  private digestPromise: Promise<string> | undefined;

  constructor(
    readonly size: number,
    readonly seed: string,
  ) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Synthetic blob size must be a non-negative integer, got ${size}`);
  }

  open(): Readable {
    return Readable.from(syntheticChunks(this.size, this.seed), { objectMode: false, highWaterMark: SYNTHETIC_CHUNK_BYTES });
  }

  digest(): Promise<string> {
    this.digestPromise ??= digestOfStream(this.open());
    return this.digestPromise;
  }
}

function syntheticPattern(seed: string): Buffer {
  const pattern = Buffer.allocUnsafe(SYNTHETIC_CHUNK_BYTES);
  for (let i = 0; i < SYNTHETIC_CHUNK_BYTES / 32; i++) {
    createHash('sha256')
      .update(seed)
      .update(':')
      .update(String(i))
      .digest()
      .copy(pattern, i * 32);
  }
  return pattern;
}

function* syntheticChunks(size: number, seed: string): Generator<Buffer> {
  if (size === 0) return;
  const pattern = syntheticPattern(seed);
  let index = 0;
  for (let offset = 0; offset < size; offset += SYNTHETIC_CHUNK_BYTES) {
    const chunk = Buffer.allocUnsafe(SYNTHETIC_CHUNK_BYTES);
    pattern.copy(chunk);
    chunk.writeUInt32BE(index >>> 0, 0);
    index++;
    yield offset + SYNTHETIC_CHUNK_BYTES <= size ? chunk : chunk.subarray(0, size - offset);
  }
}

/** SHA-256 of a stream, consumed chunk by chunk. */
export async function digestOfStream(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Counts and hashes the bytes that flow through it. */
class MeasuringTransform extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Streams `source` into a new file at `path`, hashing on the way. On any failure (the client
 * went away mid-body) the partial file is removed and the error rethrown.
 */
export async function receiveToFile(source: Readable, path: string): Promise<{ size: number; sha256: string }> {
  const measure = new MeasuringTransform();
  try {
    await pipeline(source, measure, createWriteStream(path, { flags: 'wx' }));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { size: measure.bytes, sha256: measure.hash.digest('hex') };
}
