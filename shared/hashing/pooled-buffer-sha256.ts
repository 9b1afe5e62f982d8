/**
 * The SHA-256 of a file that passes through a small pool of reused buffers (the export's part
 * buffers, the Bynder upload's chunk buffers), computed off the event loop: a worker thread
 * reads each filled buffer in place and feeds it to the whole file's hash, and, when asked,
 * answers that piece's own SHA-256 first (Bynder's `Content-SHA256` of a chunk).
 *
 * Why a worker thread: SHA-256 costs about as much CPU as moving the bytes (about 1.6 GB/s with
 * the CPU's SHA instructions, so 0.65 s of a core per GiB). On the event loop it stalls the
 * reading and the sending for that long; on a thread of its own it runs while the event loop
 * reads the next piece and the HTTP requests send the previous ones, which on two cores is
 * time taken off the transfer rather than added to it.
 *
 * Why shared memory: the buffers are `SharedArrayBuffer`s registered once with the worker, so a
 * piece is handed over as "buffer 2, bytes 0..n": no byte is copied to the thread and no buffer
 * is allocated per piece. The caller must not refill a buffer before its `released` resolves
 * (the worker has read it); pieces are hashed in the order given.
 *
 * Where no worker is wanted (a file of one piece: the thread's start and memory would cost more
 * than they save) or none can start, the calling thread hashes, with the same interface.
 *
 * The worker is a few lines of plain script given as source (`eval`), so that the bundled
 * functions need no file of their own for it.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export interface PieceHashing {
  /** The piece's own SHA-256 (hex) when it was asked for; answered before the file's hash takes the piece in. */
  pieceSha256: Promise<string> | undefined;
  /** Resolves once the hasher no longer reads the piece's buffer (it may then be refilled). */
  released: Promise<void>;
}

export interface PooledBufferHasher {
  /** Whether the hashing runs on a worker thread (its buffers must then be shared memory). */
  readonly onWorkerThread: boolean;
  /** Registers a buffer of the pool; returns its slot number. Shared memory when `onWorkerThread`. */
  addBuffer(buffer: Buffer): number;
  /**
   * Takes bytes `0..length` of the buffer in `slot` into the whole file's hash, after every
   * piece given before; with `pieceDigest`, also answers the piece's own SHA-256.
   */
  hash(slot: number, length: number, options?: { pieceDigest?: boolean }): PieceHashing;
  /** The SHA-256 of every piece given so far. */
  fileDigest(): Promise<Buffer>;
  /** Ends the worker, if any; answers still pending fail. Idempotent. */
  close(): void;
}

/** Starts the hashing thread; a parameter so that a test can give one that fails. */
export type StartHashingThread = (source: string, options: WorkerOptions) => Worker;

export interface PooledBufferHasherOptions {
  /** Hash on a worker thread (falls back to the calling thread when none starts). */
  workerThread: boolean;
  /** Names the work in errors, e.g. `upload of "plan.pdf"`. */
  subject: string;
  startThread?: StartHashingThread | undefined;
}

export function createPooledBufferHasher(options: PooledBufferHasherOptions): PooledBufferHasher {
  if (options.workerThread) {
    try {
      return new WorkerBufferHasher(options.subject, options.startThread ?? ((source, workerOptions) => new Worker(source, workerOptions)));
    } catch {
      // No worker in this runtime: the calling thread hashes.
    }
  }
  return new InlineBufferHasher();
}

/** Bytes of the ordinary buffer a misaligned copy into shared memory passes through (copyIntoPoolBuffer). */
const STAGING_BYTES = 256 * 1024;
let staging: Buffer | undefined;

/**
 * Copies all of `source` into a pool buffer at `targetStart`.
 *
 * Why not `source.copy(target, targetStart)` alone: V8 copies into a SharedArrayBuffer word by
 * word only when source and target lie at the same offset modulo 8, and byte by byte otherwise,
 * about five times slower. A socket hands a download over in chunks of odd lengths now and then
 * (the first one after the headers, for one), and from the first such chunk on nearly every copy
 * into a part buffer was misaligned: 0.74 s of the event loop per GiB in the export's transfer,
 * more than the hashing the worker thread takes off it. A misaligned chunk goes first into an
 * ordinary buffer at the target's alignment (a plain memcpy) and from there into shared memory
 * word by word: about 60 ms per GiB instead of 300 ms measured alone.
 */
export function copyIntoPoolBuffer(source: Buffer, target: Buffer, targetStart: number): void {
  const shift = (target.byteOffset + targetStart) & 7;
  if (!(target.buffer instanceof SharedArrayBuffer) || (source.byteOffset & 7) === shift || source.length < 64) {
    source.copy(target, targetStart);
    return;
  }
  // The staging buffer has an ArrayBuffer of its own (offset 0), so `shift` lines it up with the target.
  staging ??= Buffer.allocUnsafeSlow(STAGING_BYTES + 8);
  for (let done = 0; done < source.length; ) {
    const n = Math.min(STAGING_BYTES, source.length - done);
    source.copy(staging, shift, done, done + n);
    staging.copy(target, targetStart + done, shift, shift + n);
    done += n;
  }
}

/** A pool buffer of `bytes`: shared memory (a worker reads it in place) or an ordinary one. */
export function allocatePoolBuffer(bytes: number, shared: boolean): Buffer {
  return shared ? Buffer.from(new SharedArrayBuffer(bytes)) : Buffer.allocUnsafeSlow(bytes);
}

class InlineBufferHasher implements PooledBufferHasher {
  readonly onWorkerThread = false;
  private readonly buffers: Buffer[] = [];
  private readonly wholeFile: Hash = createHash('sha256');

  addBuffer(buffer: Buffer): number {
    return this.buffers.push(buffer) - 1;
  }

  hash(slot: number, length: number, options?: { pieceDigest?: boolean }): PieceHashing {
    const bytes = bufferIn(this.buffers, slot).subarray(0, length);
    const pieceSha256 = options?.pieceDigest ? Promise.resolve(createHash('sha256').update(bytes).digest('hex')) : undefined;
    this.wholeFile.update(bytes);
    return { pieceSha256, released: Promise.resolve() };
  }

  fileDigest(): Promise<Buffer> {
    return Promise.resolve(this.wholeFile.copy().digest());
  }

  close(): void {}
}

/**
 * The worker's side: buffers arrive once each; per piece, its own hash first when asked (so the
 * piece can go), then the file's update and the release.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const buffers = [];
const wholeFile = createHash('sha256');
parentPort.on('message', (message) => {
  if (message.type === 'buffer') {
    buffers[message.slot] = Buffer.from(message.memory);
  } else if (message.type === 'piece') {
    const bytes = buffers[message.slot].subarray(0, message.length);
    if (message.pieceDigest) parentPort.postMessage({ type: 'piece', id: message.id, sha256: createHash('sha256').update(bytes).digest('hex') });
    wholeFile.update(bytes);
    parentPort.postMessage({ type: 'released', id: message.id });
  } else if (message.type === 'file') {
    parentPort.postMessage({ type: 'file', id: message.id, sha256: wholeFile.copy().digest('hex') });
  }
});
`;

interface Pending {
  resolve: (value: string) => void;
  reject: (err: Error) => void;
}

/** What the worker answers (this module's own script: checked for shape, not distrusted). */
interface WorkerAnswer {
  type: 'piece' | 'released' | 'file';
  id: number;
  sha256?: string;
}

class WorkerBufferHasher implements PooledBufferHasher {
  readonly onWorkerThread = true;
  private readonly worker: Worker;
  private readonly pending = new Map<string, Pending>();
  private slots = 0;
  private nextId = 0;
  private failure: Error | undefined;

  constructor(
    private readonly subject: string,
    startThread: StartHashingThread,
  ) {
    this.worker = startThread(WORKER_SOURCE, {
      eval: true,
      // The hash needs no more than a small heap; the buffers are outside it.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on('message', (answer: WorkerAnswer) => this.settle(answer));
    this.worker.on('error', (err) =>
      this.fail(new Error(`the SHA-256 thread of the ${this.subject} failed (${err.message}); it is transient: try the transfer again`)),
    );
    this.worker.on('exit', () =>
      this.fail(
        new Error(`the SHA-256 thread of the ${this.subject} ended before its work was done; it is transient: try the transfer again`),
      ),
    );
  }

  addBuffer(buffer: Buffer): number {
    if (!(buffer.buffer instanceof SharedArrayBuffer) || buffer.byteOffset !== 0) {
      throw new TypeError(
        `the SHA-256 thread of the ${this.subject} reads shared memory only: allocate the buffer with allocatePoolBuffer(bytes, true)`,
      );
    }
    const slot = this.slots++;
    this.worker.postMessage({ type: 'buffer', slot, memory: buffer.buffer });
    return slot;
  }

  hash(slot: number, length: number, options?: { pieceDigest?: boolean }): PieceHashing {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.slots)) {
      throw new RangeError(`no pool buffer ${slot} for the SHA-256 of the ${this.subject}: ${this.slots} registered`);
    }
    const id = this.nextId++;
    const pieceDigest = options?.pieceDigest === true;
    const pieceSha256 = pieceDigest ? this.expect(`piece:${id}`) : undefined;
    const released = this.expect(`released:${id}`).then(() => undefined);
    released.catch(() => undefined);
    this.worker.postMessage({ type: 'piece', id, slot, length, pieceDigest });
    return { pieceSha256, released };
  }

  async fileDigest(): Promise<Buffer> {
    const id = this.nextId++;
    const answer = this.expect(`file:${id}`);
    this.worker.postMessage({ type: 'file', id });
    return Buffer.from(await answer, 'hex');
  }

  close(): void {
    this.fail(new Error(`the SHA-256 thread of the ${this.subject} was closed before its work was done`));
    void this.worker.terminate();
  }

  private expect(key: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const answer = new Promise<string>((resolve, reject) => this.pending.set(key, { resolve, reject }));
    // Awaited by the caller; a failure must not count as unhandled before that.
    answer.catch(() => undefined);
    return answer;
  }

  private settle(answer: WorkerAnswer): void {
    const key = `${answer.type}:${answer.id}`;
    const waiting = this.pending.get(key);
    if (!waiting) return;
    this.pending.delete(key);
    waiting.resolve(answer.sha256 ?? '');
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

function bufferIn(buffers: readonly Buffer[], slot: number): Buffer {
  const buffer = buffers[slot];
  if (!buffer) throw new RangeError(`no pool buffer ${slot}: ${buffers.length} registered`);
  return buffer;
}
