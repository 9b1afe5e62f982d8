/**
 * The transfer bench's own parts, so that its figures can be trusted: the in-memory endpoints
 * serve the synthetic bytes they promise and act as S3 toward the export's real transfer code
 * (parts assembled, a wrong CRC32 refused as S3 refuses it), and the statistics and the cold
 * start's turn order are what the report says they are.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { familyOf, packageOf, roundOrder } from '../../bench/cold-start.js';
import { startMemoryEndpoints, type MemoryEndpoints } from '../../bench/memory-endpoints.js';
import { median, spread } from '../../bench/statistics.js';
import { syntheticChunks, syntheticPattern, syntheticSha256 } from '../../bench/synthetic-bytes.js';
import { streamToArchive } from '../../functions/export-worker/archive-upload.js';
import { createS3Client } from '../../shared/aws/clients.js';

const MIB = 1024 * 1024;

let endpoints: MemoryEndpoints;
beforeAll(async () => {
  endpoints = await startMemoryEndpoints();
});
afterAll(async () => {
  await endpoints.stop();
});

function s3(): ReturnType<typeof createS3Client> {
  return createS3Client(
    { endpoint: endpoints.baseUrl, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } },
    {},
  );
}

describe('in-memory endpoints', () => {
  it('serve the synthetic bytes with their length, as the bench computes their SHA-256', async () => {
    const bytes = 3 * MIB + 17;
    const response = await fetch(endpoints.sourceUrl(1, bytes));
    const body = Buffer.from(await response.arrayBuffer());

    expect(response.headers.get('content-length')).toBe(String(bytes));
    expect(body.length).toBe(bytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(syntheticSha256(syntheticPattern(1), bytes));
    // Each 1 MiB chunk is numbered, so a repeated or dropped chunk would change the hash.
    expect([...syntheticChunks(syntheticPattern(1), bytes)].map((c) => c.readUInt32BE(0))).toEqual([0, 1, 2, 3]);
  });

  it('act as the archive for the export transfer: a multipart upload is assembled at its full size', async () => {
    const bytes = 20 * MIB + 5;
    const client = s3();
    const download = await fetch(endpoints.sourceUrl(2, bytes));
    if (!download.body) throw new Error('test: no body');

    const digest = await streamToArchive({
      s3: client,
      bucket: 'bench-archive',
      key: 'a/file.bin',
      body: Readable.fromWeb(download.body as Parameters<typeof Readable.fromWeb>[0]),
      contentLength: bytes,
      partSizeBytes: 8 * MIB,
      queueSize: 4,
      checksumAlgorithm: 'CRC32',
    });
    client.destroy();

    expect(digest.sha256Hex).toBe(syntheticSha256(syntheticPattern(2), bytes));
    expect(endpoints.objects.get('bench-archive/a/file.bin')).toEqual({ size: bytes, parts: 3 });
  });

  it('refuse a part whose CRC32 does not match its bytes, as S3 does (BadDigest)', async () => {
    const response = await fetch(`${endpoints.baseUrl}/bench-archive/b.bin`, {
      method: 'PUT',
      headers: { 'x-amz-checksum-crc32': 'AAAAAA==' },
      body: 'some bytes',
    });

    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>BadDigest</Code>');
    expect(endpoints.objects.has('bench-archive/b.bin')).toBe(false);
  });

  it('count what the raw pipe sends to the sink', async () => {
    const before = endpoints.sinkBytes();
    const response = await fetch(endpoints.sinkUrl, { method: 'PUT', body: Buffer.alloc(1000, 7) });

    expect(response.status).toBe(200);
    expect(endpoints.sinkBytes() - before).toBe(1000);
  });
});

describe('bench statistics and turn order', () => {
  it('quotes the median and the range of the finite measurements', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([2, Number.NaN, 8, 4])).toEqual({ median: 4, min: 2, max: 8, n: 3 });
  });

  it('gives each bundle a different place in each round, so none always follows another', () => {
    const items = ['a', 'b', 'c'];
    const orders = [0, 1, 2, 3].map((round) => roundOrder(items, round).join(''));

    expect(orders).toEqual(['abc', 'acb', 'cab', 'cba']);
    expect(orders.map((o) => o.split('').sort().join(''))).toEqual(['abc', 'abc', 'abc', 'abc']);
  });

  it('attributes bundle bytes to the package families the issue names', () => {
    expect(packageOf('node_modules/undici/lib/core/util.js')).toBe('undici');
    expect(packageOf('node_modules/@aws-sdk/client-s3/dist-es/index.js')).toBe('@aws-sdk/client-s3');
    expect(packageOf('shared/export/job.ts')).toBeUndefined();
    expect(['undici', 'zod', '@smithy/core', '@aws-lambda-powertools/logger', 'p-limit', undefined].map(familyOf)).toEqual([
      'undici',
      'zod',
      'AWS SDK',
      'Powertools',
      'other packages',
      'project code',
    ]);
  });
});
