/**
 * File bytes on disk: upload chunks and S3 parts are streamed to files under the emulator's
 * data directory while being counted and hashed, and an upload's content is the ordered list of
 * those files, streamed back one after the other. A 1 GiB upload therefore costs disk, not
 * memory, and finalising never concatenates.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobSource } from '../blobs.js';

export interface StoredFile {
  path: string;
  size: number;
  sha256: string;
}

export class BodyTooLargeError extends Error {}

class LimitedMeasure extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new BodyTooLargeError(`more than ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }
}

/**
 * Streams `source` to `path` (replacing what was there only once the body arrived whole),
 * hashing on the way; throws BodyTooLargeError past `maxBytes`. A partial file is removed.
 */
export async function receiveFile(source: Readable, path: string, maxBytes: number): Promise<StoredFile> {
  const partial = `${path}.partial-${process.hrtime.bigint()}`;
  const measure = new LimitedMeasure(maxBytes);
  try {
    await pipeline(source, measure, createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return { path, size: measure.bytes, sha256: measure.hash.digest('hex') };
}

/** SHA-256 and size of files read in order, streamed. */
export async function digestFiles(files: readonly StoredFile[]): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for (const file of files) {
    for await (const chunk of createReadStream(file.path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  }
  return { size, sha256: hash.digest('hex') };
}

/** An upload's content: its chunk files in order, read as one stream. */
export class ChunkedFileBlob implements BlobSource {
  readonly kind = 'file';
  readonly contentType = 'application/octet-stream';

  constructor(
    private readonly files: readonly StoredFile[],
    readonly size: number,
    private readonly sha256: string,
  ) {}

  open(): Readable {
    const out = new PassThrough();
    const files = this.files;
    void (async () => {
      try {
        for (const file of files) await pipeline(createReadStream(file.path), out, { end: false });
        out.end();
      } catch (err) {
        out.destroy(err as Error);
      }
    })();
    return out;
  }

  digest(): Promise<string> {
    return Promise.resolve(this.sha256);
  }
}
