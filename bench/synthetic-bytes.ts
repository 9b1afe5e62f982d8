/**
 * Deterministic bytes for the fast endpoints: a 1 MiB pseudo-random pattern, repeated, each
 * 1 MiB chunk carrying its index in its first four bytes (a dropped, repeated or reordered
 * chunk changes the checksum). Cheap to serve (a copy per chunk, no hashing on the server),
 * and the bench computes the expected SHA-256 once from the same generator.
 */
import { createHash } from 'node:crypto';

export const SYNTHETIC_CHUNK_BYTES = 1024 * 1024;

export function syntheticPattern(seed: number): Buffer {
  const pattern = Buffer.allocUnsafe(SYNTHETIC_CHUNK_BYTES);
  for (let i = 0; i < SYNTHETIC_CHUNK_BYTES; i += 32) createHash('sha256').update(`${seed}:${i}`).digest().copy(pattern, i);
  return pattern;
}

/** The chunks of a `size`-byte object, each a fresh buffer (a server may still hold the previous one). */
export function* syntheticChunks(pattern: Buffer, size: number): Generator<Buffer> {
  let index = 0;
  for (let offset = 0; offset < size; offset += SYNTHETIC_CHUNK_BYTES) {
    const length = Math.min(SYNTHETIC_CHUNK_BYTES, size - offset);
    const chunk = Buffer.allocUnsafe(length);
    pattern.copy(chunk, 0, 0, length);
    if (length >= 4) chunk.writeUInt32BE(index, 0);
    index++;
    yield chunk;
  }
}

/** Lower-case hex SHA-256 of the synthetic object of `size` bytes. */
export function syntheticSha256(pattern: Buffer, size: number): string {
  const hash = createHash('sha256');
  for (const chunk of syntheticChunks(pattern, size)) hash.update(chunk);
  return hash.digest('hex');
}
