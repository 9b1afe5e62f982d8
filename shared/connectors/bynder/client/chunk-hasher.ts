/**
 * The SHA-256s of a Bynder upload: each chunk's (its `Content-SHA256` header) and the whole
 * file's (finalise), computed from the same bytes in one pass over each chunk.
 *
 * The hashing itself is the shared pooled-buffer hasher (shared/hashing/pooled-buffer-sha256.ts),
 * which the export's transfer uses too: for a file of several chunks a worker thread reads the
 * chunk buffers in place (shared memory, no byte copied to it), answers a chunk's hash as soon
 * as it has it, so that the chunk can go, and feeds the same bytes to the whole file's hash while
 * that chunk is on the wire. A one-chunk file, or a process that cannot start a worker, hashes
 * on the calling thread: the worker's start and memory would cost more than they save.
 *
 * One worker for both hashes, not one each: on the one or two vCPUs a Lambda has, a second
 * hashing thread measured no faster (the CPU, not the order of the work, is the limit) and
 * costs another isolate's memory.
 */
import { allocatePoolBuffer, createPooledBufferHasher, type StartHashingThread } from '../../../hashing/pooled-buffer-sha256.js';

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

/** A hasher over `slots`: on a worker thread when `chunks` is more than one, the slots are shared memory and a worker starts. */
export function createChunkHasher(slots: readonly Buffer[], chunks: number, startThread?: StartHashingThread): ChunkHasher {
  const shared = slots.every((slot) => slot.buffer instanceof SharedArrayBuffer && slot.byteOffset === 0);
  const hasher = createPooledBufferHasher({ workerThread: chunks > 1 && shared, subject: 'Bynder upload', startThread });
  for (const slot of slots) hasher.addBuffer(slot);
  return {
    hash(slot, length) {
      const hashed = hasher.hash(slot, length, { pieceDigest: true });
      return {
        sha256: hashed.pieceSha256 ?? Promise.reject(new Error('the chunk hasher answered no chunk digest')),
        released: hashed.released,
      };
    },
    fileSha256: async () => (await hasher.fileDigest()).toString('hex'),
    close: () => hasher.close(),
  };
}

/** Buffers a worker can read in place; plain ones where no worker will. */
export function allocateChunkSlot(bytes: number, shared: boolean): Buffer {
  return allocatePoolBuffer(bytes, shared);
}
