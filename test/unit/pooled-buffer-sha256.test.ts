import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  allocatePoolBuffer,
  copyIntoPoolBuffer,
  createPooledBufferHasher,
  type PooledBufferHasher,
  type StartHashingThread,
} from '../../shared/hashing/pooled-buffer-sha256.js';

const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Feeds `data` through `buffers` pieces of `pieceSize`, each buffer refilled only once the hasher
 * has released it, as the export's part writer and the Bynder chunk reader do.
 */
async function hashThroughPool(hasher: PooledBufferHasher, data: Buffer, pieceSize: number, buffers: number, shared: boolean) {
  const slots = Array.from({ length: buffers }, () => {
    const buffer = allocatePoolBuffer(pieceSize, shared);
    return { buffer, slot: hasher.addBuffer(buffer), released: Promise.resolve() };
  });
  const pieceDigests: (Promise<string> | undefined)[] = [];
  for (let offset = 0, turn = 0; offset < data.length; offset += pieceSize, turn++) {
    const entry = slots[turn % buffers];
    if (!entry) throw new Error('no slot');
    await entry.released;
    // Whatever the buffer held before is overwritten: the hasher must have read it by now.
    entry.buffer.fill(0xee);
    const piece = data.subarray(offset, offset + pieceSize);
    piece.copy(entry.buffer);
    const hashed = hasher.hash(entry.slot, piece.length, { pieceDigest: true });
    entry.released = hashed.released;
    pieceDigests.push(hashed.pieceSha256);
  }
  return { digest: await hasher.fileDigest(), pieceDigests: await Promise.all(pieceDigests) };
}

/** A hashing thread whose script throws on the first piece: the failure a crashed thread makes. */
const failingThread: StartHashingThread = (_source, options) =>
  new Worker(
    `require('node:worker_threads').parentPort.on('message', (m) => { if (m.type === 'piece') throw new Error('hash engine broke'); });`,
    options,
  );

describe('pooled-buffer SHA-256', () => {
  for (const workerThread of [true, false]) {
    it(`${workerThread ? 'on a worker thread' : 'on the calling thread'}: the file's digest equals a one-pass SHA-256, through two reused buffers`, async () => {
      const hasher = createPooledBufferHasher({ workerThread, subject: 'test upload' });
      try {
        expect(hasher.onWorkerThread).toBe(workerThread);
        const pieceSize = 64 * 1024 + 3;
        const data = randomBytes(pieceSize * 9 + 1234);
        const { digest, pieceDigests } = await hashThroughPool(hasher, data, pieceSize, 2, workerThread);
        expect(digest.toString('hex')).toBe(sha256Hex(data));
        expect(pieceDigests).toEqual(Array.from({ length: 10 }, (_, i) => sha256Hex(data.subarray(i * pieceSize, (i + 1) * pieceSize))));
      } finally {
        hasher.close();
      }
    });
  }

  it('reads the shared buffers in place: a byte changed in a registered buffer before it is hashed is in the digest', async () => {
    const hasher = createPooledBufferHasher({ workerThread: true, subject: 'test upload' });
    try {
      const buffer = allocatePoolBuffer(16, true);
      const slot = hasher.addBuffer(buffer);
      buffer.fill(1);
      buffer[3] = 9;
      await hasher.hash(slot, 16).released;
      expect((await hasher.fileDigest()).toString('hex')).toBe(sha256Hex(Buffer.from(buffer)));
    } finally {
      hasher.close();
    }
  });

  it('refuses a buffer a worker cannot read in place, and a slot never registered', () => {
    const hasher = createPooledBufferHasher({ workerThread: true, subject: 'test upload' });
    try {
      expect(() => hasher.addBuffer(Buffer.alloc(16))).toThrow(/shared memory only/);
      expect(() => hasher.hash(0, 1)).toThrow(/no pool buffer 0 for the SHA-256 of the test upload/);
    } finally {
      hasher.close();
    }
  });

  it('a failing hashing thread fails the pending release and the digest, naming the work, and every later call', async () => {
    const hasher = createPooledBufferHasher({ workerThread: true, subject: 'archive upload of a/b.bin', startThread: failingThread });
    try {
      const slot = hasher.addBuffer(allocatePoolBuffer(8, true));
      const hashed = hasher.hash(slot, 8);
      await expect(hashed.released).rejects.toThrow(/SHA-256 thread of the archive upload of a\/b\.bin failed \(hash engine broke\)/);
      await expect(hasher.fileDigest()).rejects.toThrow(/archive upload of a\/b\.bin/);
      await expect(hasher.hash(slot, 8).released).rejects.toThrow(/archive upload of a\/b\.bin/);
    } finally {
      hasher.close();
    }
  });

  it('closing fails what is still pending instead of leaving it waiting', async () => {
    const hasher = createPooledBufferHasher({ workerThread: true, subject: 'test upload' });
    const digest = hasher.fileDigest();
    hasher.close();
    await expect(digest).rejects.toThrow(/closed before its work was done/);
  });
});

describe('copyIntoPoolBuffer', () => {
  it('copies every byte, whatever the offsets of source and target modulo 8 and the length', () => {
    const bytes = randomBytes(600_000);
    const target = allocatePoolBuffer(700_000, true);
    for (const sourceOffset of [0, 1, 3, 7, 8]) {
      for (const targetStart of [0, 2, 5, 8, 13]) {
        // Below the staged path's threshold, one staging buffer, and several (256 KiB each).
        for (const length of [10, 63, 64, 1_000, 65_539, 262_144, 262_151, 590_001]) {
          target.fill(0);
          const source = bytes.subarray(sourceOffset, sourceOffset + length);
          copyIntoPoolBuffer(source, target, targetStart);
          expect(target.subarray(targetStart, targetStart + length).equals(source)).toBe(true);
          expect(target[targetStart - 1] ?? 0).toBe(0);
          expect(target[targetStart + length]).toBe(0);
        }
      }
    }
  });

  it('copies into an ordinary buffer too', () => {
    const source = randomBytes(100_003).subarray(3);
    const target = allocatePoolBuffer(200_000, false);
    copyIntoPoolBuffer(source, target, 7);
    expect(target.subarray(7, 7 + source.length).equals(source)).toBe(true);
  });
});
