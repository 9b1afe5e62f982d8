/**
 * The SHA-256s of an upload: each chunk's (its `Content-SHA256` header) and the whole file's
 * (finalise), computed from the same bytes in one pass over each chunk.
 *
 * Why a worker thread for files of several chunks: SHA-256 costs about as much CPU as sending
 * the bytes over the wire, and on the event loop it would stall the chunk being sent while the
 * next one is hashed. The worker reads the chunk buffers in place (they are shared memory, no
 * byte is copied to it), answers a chunk's hash as soon as it has it, so that the chunk can go,
 * and feeds the same bytes to the whole file's hash while that chunk is on the wire. A
 * one-chunk file, or a process that cannot start a worker, hashes on the calling thread: the
 * worker's start and memory would cost more than they save.
 *
 * One worker for both hashes, not one each: on the one or two vCPUs a Lambda has, a second
 * hashing thread measured no faster (the CPU, not the order of the work, is the limit) and
 * costs another isolate's memory.
 *
 * The worker is a few lines of plain script given as source (`eval`), so that the bundled
 * functions need no file of their own for it.
 */
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface HashedChunk {
  /** The chunk's SHA-256, hex; known before the whole file's hash has taken the chunk in. */
  sha256: Promise<string>;
  /** Resolves once the hasher no longer reads the chunk's buffer (it may then be refilled). */
  released: Promise<void>;
}

export interface ChunkHasher {
  /**
   * Hashes the chunk in `slot` (0-based index of the buffer given at creation), bytes
   * `0..length`. Chunks are given in file order; each goes into the whole file's hash.
   */
  hash(slot: number, length: number): HashedChunk;
  /** The whole file's SHA-256 (hex) of every chunk given so far. */
  fileSha256(): Promise<string>;
  /** Ends the worker, if any; pending answers fail. */
  close(): void;
}

/** A hasher over `slots`: a worker's when `chunks` is more than one and a worker starts. */
export function createChunkHasher(slots: readonly Buffer[], chunks: number): ChunkHasher {
  if (chunks > 1 && slots.every((slot) => slot.buffer instanceof SharedArrayBuffer)) {
    try {
      return new WorkerChunkHasher(slots);
    } catch {
      // No worker in this runtime: the calling thread hashes.
    }
  }
  return new InlineChunkHasher(slots);
}

/** Buffers a worker can read in place; plain ones where no worker will. */
export function allocateChunkSlot(bytes: number, shared: boolean): Buffer {
  return shared ? Buffer.from(new SharedArrayBuffer(bytes)) : Buffer.allocUnsafeSlow(bytes);
}

class InlineChunkHasher implements ChunkHasher {
  private readonly wholeFile: Hash = createHash('sha256');

  constructor(private readonly slots: readonly Buffer[]) {}

  hash(slot: number, length: number): HashedChunk {
    const bytes = bufferOf(this.slots, slot).subarray(0, length);
    this.wholeFile.update(bytes);
    return { sha256: Promise.resolve(createHash('sha256').update(bytes).digest('hex')), released: Promise.resolve() };
  }

  fileSha256(): Promise<string> {
    return Promise.resolve(this.wholeFile.copy().digest('hex'));
  }

  close(): void {}
}

/** The worker's side: per message, the chunk's hash first (answered at once), then the file's. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const slots = workerData.slots.map((memory) => Buffer.from(memory));
const wholeFile = createHash('sha256');
parentPort.on('message', (message) => {
  if (message.type === 'chunk') {
    const bytes = slots[message.slot].subarray(0, message.length);
    parentPort.postMessage({ type: 'chunk', id: message.id, sha256: createHash('sha256').update(bytes).digest('hex') });
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

/** What the worker answers (it is this module's own script: checked for shape, not distrusted). */
interface WorkerAnswer {
  type: 'chunk' | 'released' | 'file';
  id: number;
  sha256?: string;
}

class WorkerChunkHasher implements ChunkHasher {
  private readonly worker: Worker;
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor(slots: readonly Buffer[]) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { slots: slots.map((slot) => slot.buffer) },
      // The hashes need no more than a small heap; the chunks are outside it.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.worker.on('message', (answer: WorkerAnswer) => this.settle(answer));
    this.worker.on('error', (err) =>
      this.fail(new Error(`the upload's hashing thread failed (${err.message}) — transient; upload the file again`)),
    );
    this.worker.on('exit', () =>
      this.fail(new Error("the upload's hashing thread ended before its work was done — transient; upload the file again")),
    );
  }

  hash(slot: number, length: number): HashedChunk {
    const id = this.nextId++;
    const sha256 = this.expect(`chunk:${id}`);
    const released = this.expect(`released:${id}`).then(() => undefined);
    released.catch(() => undefined);
    this.worker.postMessage({ type: 'chunk', id, slot, length });
    return { sha256, released };
  }

  fileSha256(): Promise<string> {
    const id = this.nextId++;
    const sha256 = this.expect(`file:${id}`);
    this.worker.postMessage({ type: 'file', id });
    return sha256;
  }

  close(): void {
    this.fail(new Error("the upload's hashing thread was closed before its work was done"));
    void this.worker.terminate();
  }

  private expect(key: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const answer = new Promise<string>((resolve, reject) => this.pending.set(key, { resolve, reject }));
    // Awaited by the reader; a failure must not count as unhandled before that.
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

function bufferOf(slots: readonly Buffer[], slot: number): Buffer {
  const buffer = slots[slot];
  if (!buffer) throw new RangeError(`no chunk buffer ${slot}: the hasher was given ${slots.length}`);
  return buffer;
}
