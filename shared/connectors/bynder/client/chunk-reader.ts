/**
 * Cuts an upload source into chunks of at most `chunkSize` bytes, one at a time, while
 * computing the whole file's SHA-256.
 *
 * Why one chunk at a time: files reach gigabytes and a Lambda has a fixed memory; only the
 * chunk being sent is held (it must be: its `Content-SHA256` header goes before its bytes, and
 * a failed chunk is re-sent from its own bytes). The next chunk is read only when the consumer
 * asks for it, i.e. after the previous one was accepted.
 *
 * Why re-open: when the source stream itself fails (an S3 read reset mid-way), the chunk in
 * progress is dropped and the source is re-opened from that chunk's first byte
 * (`UploadSource.open(range)`), a bounded number of times; finished chunks are never re-read.
 */
import { createHash, type Hash } from 'node:crypto';
import { BynderError } from './errors.js';
import type { UploadSource } from './types.js';

export const MAX_CHUNK_BYTES = 5 * 1024 * 1024;

export interface SourceChunk {
  /** 0-based position of the chunk. */
  index: number;
  /** Offset of the chunk's first byte in the file. */
  start: number;
  bytes: Buffer;
  /** SHA-256 of `bytes`, hex. */
  sha256: string;
}

export class ChunkReader {
  private readonly wholeFile: Hash = createHash('sha256');
  private bytesRead = 0;
  private chunksRead = 0;

  constructor(
    private readonly source: UploadSource,
    private readonly chunkSize: number = MAX_CHUNK_BYTES,
    private readonly maxReopens = 3,
  ) {
    if (!(chunkSize > 0 && chunkSize <= MAX_CHUNK_BYTES)) throw new RangeError(`chunkSize must be 1..${MAX_CHUNK_BYTES}, got ${chunkSize}`);
  }

  /** Number of chunks the source will give: at least one (an empty file is one empty chunk). */
  get chunkCount(): number {
    return Math.max(1, Math.ceil(this.source.size / this.chunkSize));
  }

  /** SHA-256 (hex) of every byte read; complete once every chunk was read. */
  fileSha256(): string {
    if (this.chunksRead < this.chunkCount) throw new Error('fileSha256 asked for before every chunk was read');
    return this.wholeFile.copy().digest('hex');
  }

  async *chunks(): AsyncGenerator<SourceChunk> {
    const { size, fileName } = this.source;
    let reopens = 0;
    while (this.chunksRead < this.chunkCount) {
      const start = this.bytesRead;
      let stream: AsyncIterable<Buffer | string> | undefined;
      try {
        stream = await this.source.open(start === 0 ? undefined : { start, end: size });
        for await (const chunk of this.cut(stream, start)) {
          reopens = 0;
          yield chunk;
        }
        if (this.chunksRead < this.chunkCount) {
          throw new BynderError(
            `the source of "${fileName}" ended after ${this.bytesRead} of its ${size} bytes — the object changed or its size is wrong; upload it again`,
            'permanent',
            { method: 'READ', path: '(upload source)' },
          );
        }
      } catch (err) {
        if (err instanceof BynderError || reopens >= this.maxReopens) throw err;
        reopens += 1;
      }
    }
  }

  private async *cut(stream: AsyncIterable<Buffer | string>, offset: number): AsyncGenerator<SourceChunk> {
    let position = offset;
    let pending = this.newBuffer(position);
    let filled = 0;
    for await (const piece of stream) {
      let data = typeof piece === 'string' ? Buffer.from(piece) : piece;
      while (data.length > 0) {
        if (pending.length === 0 || position + filled >= this.source.size) {
          throw new BynderError(
            `the source of "${this.source.fileName}" gave more than its ${this.source.size} bytes — its size is wrong; upload it again`,
            'permanent',
            { method: 'READ', path: '(upload source)' },
          );
        }
        const take = Math.min(pending.length - filled, data.length);
        data.copy(pending, filled, 0, take);
        filled += take;
        data = data.subarray(take);
        if (filled === pending.length) {
          yield this.accept(pending, position);
          position += filled;
          pending = this.newBuffer(position);
          filled = 0;
        }
      }
    }
    if (this.source.size === 0 && this.chunksRead === 0) yield this.accept(Buffer.alloc(0), 0);
  }

  private newBuffer(position: number): Buffer {
    return Buffer.allocUnsafe(Math.max(0, Math.min(this.chunkSize, this.source.size - position)));
  }

  private accept(bytes: Buffer, start: number): SourceChunk {
    this.wholeFile.update(bytes);
    this.bytesRead = start + bytes.length;
    const chunk = { index: this.chunksRead, start, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    this.chunksRead += 1;
    return chunk;
  }
}
