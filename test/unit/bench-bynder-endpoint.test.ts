/**
 * The Bynder upload bench's moving parts on loopback: the fast in-memory Bynder endpoint records
 * what the Bynder client's upload and the plain chunked copy sent, well enough for the bench to
 * verify them, and the synthetic source re-opens at any offset with the same bytes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type BynderMemoryEndpoint, startBynderMemoryEndpoint } from '../../bench/bynder-memory-endpoint.js';
import { runBynderUpload, runChunkedPostCopy, syntheticRange } from '../../bench/bynder-measured-tasks.js';
import { chunkCountOf, uploadProblems } from '../../bench/bynder-upload-bench.js';
import { syntheticChunks, syntheticPattern, syntheticSha256 } from '../../bench/synthetic-bytes.js';

const MIB = 1024 * 1024;
let endpoint: BynderMemoryEndpoint | undefined;
afterEach(async () => {
  await endpoint?.stop();
  endpoint = undefined;
});

async function bytesOf(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

describe('the Bynder upload bench on loopback', () => {
  it('verifies the client upload of 11 MiB: 3 chunks with their SHA-256 headers, finalise with the file SHA-256', async () => {
    endpoint = await startBynderMemoryEndpoint();
    const size = 11 * MIB + 123;
    const { outcome } = await runBynderUpload({
      kind: 'bynder-upload',
      portalUrl: endpoint.portalUrl,
      seed: 5,
      size,
      fileName: 'dir/plan.bin',
    });
    if (outcome.kind !== 'bynder-upload') throw new Error(`unexpected outcome ${outcome.kind}`);
    const received = endpoint.uploads.get(outcome.fileId);
    expect(received?.highestChunk).toBe(2);
    expect(received?.finalised?.fileName).toBe('plan.bin');
    const expected = { bytes: size, chunks: chunkCountOf(size), sha256: syntheticSha256(syntheticPattern(5), size) };
    expect(uploadProblems(received, expected, 'upload')).toEqual([]);
    // The same record against another source's checksum is a difference: the check can fail.
    expect(uploadProblems(received, { ...expected, sha256: syntheticSha256(syntheticPattern(6), size) }, 'upload')).toHaveLength(1);
  });

  it('records the plain chunked copy as the same bytes in the same chunks, without checksum headers', async () => {
    endpoint = await startBynderMemoryEndpoint();
    const size = 11 * MIB;
    const { outcome } = await runChunkedPostCopy({
      kind: 'chunked-post-copy',
      portalUrl: endpoint.portalUrl,
      seed: 5,
      size,
      chunkSizeBytes: 5 * MIB,
    });
    expect(outcome).toMatchObject({ kind: 'chunked-post-copy', bytes: size, chunks: 3 });
    if (outcome.kind !== 'chunked-post-copy') throw new Error(`unexpected outcome ${outcome.kind}`);
    expect(endpoint.uploads.get(outcome.fileId)).toMatchObject({ bytes: size, chunks: 3, chunksWithoutSha256: 3, highestChunk: 2 });
  });

  it('answers a registered download location and 404 for any other media item', async () => {
    endpoint = await startBynderMemoryEndpoint();
    endpoint.setDownloadLocation('asset-1', 'item-1', 'http://127.0.0.1:1/source/1/10');
    const found = await fetch(`${endpoint.portalUrl}/api/v4/media/asset-1/download/item-1/`);
    expect(await found.json()).toEqual({ s3_file: 'http://127.0.0.1:1/source/1/10' });
    const missing = await fetch(`${endpoint.portalUrl}/api/v4/media/asset-2/download/item-1/`);
    expect(missing.status).toBe(404);
  });

  it('gives the synthetic bytes, and re-opens them at an offset with the same bytes', async () => {
    const size = 3 * MIB + 17;
    const whole = await bytesOf(syntheticRange(9, size));
    expect(whole.equals(Buffer.concat([...syntheticChunks(syntheticPattern(9), size)]))).toBe(true);
    const tail = await bytesOf(syntheticRange(9, size, { start: MIB + 5, end: size }));
    expect(tail.equals(whole.subarray(MIB + 5))).toBe(true);
    const middle = await bytesOf(syntheticRange(9, size, { start: 10, end: 2 * MIB }));
    expect(middle.equals(whole.subarray(10, 2 * MIB))).toBe(true);
  });
});
