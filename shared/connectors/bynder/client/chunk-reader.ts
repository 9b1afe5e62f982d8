/**
 * Cuts an upload source into chunks of at most `chunkSize` bytes, with each chunk's SHA-256 and
 * the whole file's, reading one chunk ahead of the sender.
 *
 * Why a fixed pool of two chunk buffers: files reach gigabytes and a Lambda has a fixed memory.
 * A chunk must be held whole (its `Content-SHA256` header goes before its bytes, and a failed
 * chunk is re-sent from its own bytes), so one buffer holds the chunk on the wire while the
 * other is filled and hashed with the next one. Both are allocated once per upload and reused
 * for every chunk: memory stays at two chunks whatever the file's size, and no chunk leaves a
 * fresh 5 MiB buffer behind for the garbage collector (which, at gigabytes, costs as much time
 * as the hashing and makes the process's memory grow with the file).
 *
 * Every piece the source hands over is copied once, into its chunk's buffer; the hashes read
 * that buffer in place (chunk-hasher.ts: for a file of several chunks, on a thread of their
 * own, while the previous chunk is on the wire).
 *
 * A chunk handed out (`chunks()`) is a view of a pooled buffer: valid until the consumer asks
 * for the next chunk, i.e. until it is done with this one (accepted or given up on). A
 * consumer that must keep the bytes longer copies them.
 *
 * Why re-open: when the source stream itself fails (an S3 read reset mid-way), the chunk in
 * progress is dropped (only whole chunks are hashed) and the source is re-opened from that
 * chunk's first byte (`UploadSource.open(range)`), a bounded number of times; finished chunks
 * are never re-read.
 */
import { allocateChunkSlot, createChunkHasher, type ChunkHasher } from './chunk-hasher.js';
import { copyIntoPoolBuffer } from '../../../hashing/pooled-buffer-sha256.js';
import { BynderError } from './errors.js';
import type { UploadSource } from './types.js';

export const MAX_CHUNK_BYTES = 5 * 1024 * 1024;

/** Chunk buffers of one upload: the chunk on the wire, and the next one being read and hashed. */
export const CHUNK_BUFFERS = 2;

export interface SourceChunk {
  /** 0-based position of the chunk. */
  index: number;
  /** Offset of the chunk's first byte in the file. */
  start: number;
  /** The chunk's bytes: a view of a pooled buffer, valid until the next chunk is asked for. */
  bytes: Buffer;
  /** SHA-256 of `bytes`, hex. */
  sha256: string;
}

/** The chunk being filled: its buffer, how much of it is filled, and its hashes' state. */
interface ChunkInProgress {
  slot: number;
  start: number;
  length: number;
  filled: number;
}

interface ReadyChunk {
  chunk: Omit<SourceChunk, 'sha256'>;
  sha256: Promise<string>;
  slot: number;
  /** Resolves once the hasher no longer reads the chunk's buffer. */
  released: Promise<void>;
}

/** A chunk buffer not holding a chunk, once the hasher no longer reads it. */
interface FreeSlot {
  slot: number;
  released: Promise<void>;
}

const SOURCE_REQUEST = { method: 'READ', path: '(upload source)' } as const;

export class ChunkReader {
  private fileDigest: string | undefined;
  private slots: Buffer[] = [];
  private hasher: ChunkHasher | undefined;
  /** Bytes of the chunks filled so far (always a chunk boundary). */
  private bytesRead = 0;
  /** Chunks filled so far, handed out or not. */
  private chunksRead = 0;
  private started = false;

  private readonly freeSlots: FreeSlot[] = [];
  private readonly ready: ReadyChunk[] = [];
  private inProgress: ChunkInProgress | undefined;

  private readerDone = false;
  private readerError: unknown;
  private stopped = false;
  private closeSource: (() => void) | undefined;
  private wakeReader: (() => void) | undefined;
  private wakeConsumer: (() => void) | undefined;

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

  /** SHA-256 (hex) of the whole file; known once `chunks()` has handed out every chunk. */
  fileSha256(): string {
    if (this.fileDigest === undefined) throw new Error('fileSha256 asked for before every chunk was read');
    return this.fileDigest;
  }

  /** Chunk buffers this reader allocated (at most `CHUNK_BUFFERS`, however large the file). */
  get chunkBuffersAllocated(): number {
    return this.slots.length;
  }

  /**
   * The chunks in order. The chunk after the one handed out is read meanwhile; asking for the
   * next chunk gives the previous one's buffer back to the pool. Leaving the loop early (a
   * failed send) stops the reading and closes the source. Once per reader.
   */
  async *chunks(): AsyncGenerator<SourceChunk> {
    if (this.started) throw new Error('chunks() was already called on this reader: a reader reads its source once');
    this.started = true;
    const buffers = Math.min(CHUNK_BUFFERS, this.chunkCount);
    const bytes = Math.min(this.chunkSize, this.source.size);
    this.slots = Array.from({ length: buffers }, () => allocateChunkSlot(bytes, this.chunkCount > 1));
    for (let slot = 0; slot < buffers; slot++) this.freeSlots.push({ slot, released: Promise.resolve() });
    this.hasher = createChunkHasher(this.slots, this.chunkCount);
    this.readAll().then(
      () => this.finishReading(undefined),
      (err: unknown) => this.finishReading(err),
    );
    try {
      for (;;) {
        const next = this.ready.shift();
        if (next) {
          const sha256 = await next.sha256;
          yield { ...next.chunk, sha256 };
          this.giveBack({ slot: next.slot, released: next.released });
          continue;
        }
        if (this.readerDone) {
          if (this.readerError !== undefined) throw this.readerError;
          this.fileDigest = await this.hasher.fileSha256();
          return;
        }
        await new Promise<void>((resolve) => {
          this.wakeConsumer = resolve;
        });
        this.wakeConsumer = undefined;
      }
    } finally {
      this.stop();
      this.hasher.close();
    }
  }

  private finishReading(err: unknown): void {
    this.readerDone = true;
    this.readerError = err;
    this.wakeConsumer?.();
  }

  private stop(): void {
    this.stopped = true;
    this.closeSource?.();
    this.wakeReader?.();
  }

  /** Reads the source to its end, re-opening it at the chunk in progress after a failure. */
  private async readAll(): Promise<void> {
    const { size } = this.source;
    let reopens = 0;
    while (this.chunksRead < this.chunkCount && !this.stopped) {
      const start = this.bytesRead;
      const chunksBefore = this.chunksRead;
      try {
        const stream = await this.source.open(start === 0 ? undefined : { start, end: size });
        await this.readStream(stream);
        if (this.stopped) return;
        if (size === 0 && this.chunksRead === 0) await this.fillEmptyChunk();
        if (this.chunksRead < this.chunkCount) {
          throw new BynderError(
            `the source of "${this.source.fileName}" ended after ${this.bytesRead + (this.inProgress?.filled ?? 0)} of its ${size} bytes — the object changed or its size is wrong; upload it again`,
            'permanent',
            SOURCE_REQUEST,
          );
        }
      } catch (err) {
        this.dropChunkInProgress();
        if (this.stopped || err instanceof BynderError) throw err;
        if (this.chunksRead > chunksBefore) reopens = 0;
        if (reopens >= this.maxReopens) throw err;
        reopens += 1;
      }
    }
  }

  private async readStream(stream: AsyncIterable<Buffer | string>): Promise<void> {
    const pieces = stream[Symbol.asyncIterator]();
    const destroy = (stream as { destroy?: unknown }).destroy;
    let closed = false;
    this.closeSource = () => {
      if (closed) return;
      closed = true;
      if (typeof destroy === 'function') destroy.call(stream);
      else pieces.return?.().catch(() => undefined);
    };
    try {
      while (!this.stopped) {
        const next = await pieces.next();
        if (next.done || this.stopped) return;
        const piece = next.value;
        await this.place(typeof piece === 'string' ? Buffer.from(piece) : piece);
      }
    } finally {
      this.closeSource();
      this.closeSource = undefined;
    }
  }

  /** Copies `piece` into the chunk buffers it belongs to (waiting for a free one); a full chunk goes to the hasher. */
  private async place(piece: Buffer): Promise<void> {
    let data = piece;
    while (data.length > 0) {
      const chunk = this.inProgress ?? (await this.startChunk());
      if (!chunk) return;
      const take = Math.min(chunk.length - chunk.filled, data.length);
      const bytes = take === data.length ? data : data.subarray(0, take);
      copyIntoPoolBuffer(bytes, this.slotBuffer(chunk.slot), chunk.filled);
      chunk.filled += take;
      data = data.subarray(take);
      if (chunk.filled === chunk.length) this.completeChunk(chunk);
    }
  }

  /** The next chunk's buffer, once one is free; undefined when the reading was stopped meanwhile. */
  private async startChunk(): Promise<ChunkInProgress | undefined> {
    const { size, fileName } = this.source;
    if (this.chunksRead >= this.chunkCount || this.bytesRead >= size) {
      throw new BynderError(
        `the source of "${fileName}" gave more than its ${size} bytes — its size is wrong; upload it again`,
        'permanent',
        SOURCE_REQUEST,
      );
    }
    const slot = await this.takeSlot();
    if (slot === undefined) return undefined;
    const start = this.bytesRead;
    this.inProgress = {
      slot,
      start,
      length: Math.min(this.chunkSize, size - start),
      filled: 0,
    };
    return this.inProgress;
  }

  private completeChunk(chunk: ChunkInProgress): void {
    const bytes = this.slotBuffer(chunk.slot).subarray(0, chunk.length);
    const hashed = (this.hasher as ChunkHasher).hash(chunk.slot, chunk.length);
    this.ready.push({
      chunk: { index: this.chunksRead, start: chunk.start, bytes },
      sha256: hashed.sha256,
      slot: chunk.slot,
      released: hashed.released,
    });
    this.chunksRead += 1;
    this.bytesRead = chunk.start + chunk.length;
    this.inProgress = undefined;
    this.wakeConsumer?.();
  }

  private async fillEmptyChunk(): Promise<void> {
    const slot = await this.takeSlot();
    if (slot === undefined) return;
    this.inProgress = { slot, start: 0, length: 0, filled: 0 };
    this.completeChunk(this.inProgress);
  }

  /** A chunk the source failed in the middle of: never hashed, its buffer free again. */
  private dropChunkInProgress(): void {
    const chunk = this.inProgress;
    if (!chunk) return;
    this.inProgress = undefined;
    this.giveBack({ slot: chunk.slot, released: Promise.resolve() });
  }

  /** A free chunk buffer; waits while every buffer holds a chunk or is still being hashed. */
  private async takeSlot(): Promise<number | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const free = this.freeSlots.shift();
      if (free) {
        await free.released;
        return this.stopped ? undefined : free.slot;
      }
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
      this.wakeReader = undefined;
    }
  }

  private giveBack(free: FreeSlot): void {
    this.freeSlots.push(free);
    this.wakeReader?.();
  }

  private slotBuffer(slot: number): Buffer {
    const buffer = this.slots[slot];
    if (!buffer) throw new RangeError(`no chunk buffer ${slot}: this reader has ${this.slots.length}`);
    return buffer;
  }
}
