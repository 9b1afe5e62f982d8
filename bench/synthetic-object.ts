/**
 * The bench's source files: any number of bytes generated chunk by chunk, hashed on the way,
 * so that a 1 GiB object is put into the local S3 server without ever existing in memory or on
 * the bench's own disk. Each 1 MiB chunk carries its index in its first bytes, so that a
 * dropped, repeated or reordered chunk changes the checksum.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK_BYTES = 1024 * 1024;

export interface SyntheticObject {
  body: Readable;
  size: number;
  /** Lower-case hex SHA-256 of the bytes produced; complete once `body` has ended. */
  sha256(): string;
}

export function syntheticObject(size: number, seed: number): SyntheticObject {
  const pattern = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let i = 0; i < CHUNK_BYTES; i += 32) createHash('sha256').update(`${seed}:${i}`).digest().copy(pattern, i);
  const hash = createHash('sha256');
  let digest: string | undefined;

  function* chunks(): Generator<Buffer> {
    let index = 0;
    for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
      const chunk = Buffer.from(pattern);
      chunk.writeUInt32BE(index++, 0);
      const out = offset + CHUNK_BYTES <= size ? chunk : chunk.subarray(0, size - offset);
      hash.update(out);
      yield out;
    }
    digest = hash.digest('hex');
  }

  return {
    body: Readable.from(chunks(), { objectMode: false }),
    size,
    sha256: () => {
      if (digest === undefined) throw new Error('the synthetic object has not been read to its end; its checksum is not known yet');
      return digest;
    },
  };
}
