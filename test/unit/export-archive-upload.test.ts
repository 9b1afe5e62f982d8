import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { streamToArchive, type ArchiveUpload } from '../../functions/export-worker/archive-upload.js';
import { DEFAULT_EXPORT_SETTINGS } from '../../shared/export/settings.js';
import { ExportError } from '../../shared/export/errors.js';
import { isExpiredLinkError } from '../../shared/connectors/ibinder/client/client.js';
import { PresignedStorageError } from '../../shared/connectors/ibinder/client/http.js';

const BUCKET = 'archive-bucket';
const KEY = 'acme/Bx7kQ2mZp/doc-1/v-1/Model.ifc';
/** An odd size, so part buffers are told apart from any other allocation. */
const PART = 4099;

const sha256Base64 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('base64');
const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
/** S3's ChecksumCRC32: the big-endian CRC32 of the bytes, base64. */
const crc32Base64 = (bytes: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(bytes) >>> 0, 0);
  return out.toString('base64');
};

/** A download delivering `data` in chunks of `chunkSize` (not a divisor of the part size). */
function source(data: Buffer, chunkSize = 1000): Readable {
  return Readable.from(chunksOf(data, chunkSize), { objectMode: false });
}

function chunksOf(data: Buffer, chunkSize: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += chunkSize) chunks.push(data.subarray(offset, offset + chunkSize));
  return chunks;
}

/**
 * A download that delivers `data`, then holds its end until `ready()` (e.g. "two parts went
 * up"), then ends or fails with `error`. Without the hold the whole download could sit in the
 * stream buffers and fail before the first part is sent.
 */
function heldSource(data: Buffer, ready: () => boolean, error?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunksOf(data, 1000)) yield chunk;
      for (let turn = 0; turn < 1000 && !ready(); turn++) await turns(1);
      if (error) throw error;
    })(),
    { objectMode: false },
  );
}

interface SentPart {
  partNumber: number;
  /** A copy taken when the part was sent (its buffer is reused afterwards). */
  body: Buffer;
  checksumAlgorithm: string | undefined;
  checksumSHA256: string | undefined;
  checksumCRC32?: string | undefined;
}

/** An S3 client over aws-sdk-client-mock that answers like S3 and records what it was sent. */
function fakeS3() {
  const s3 = new S3Client({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(s3);
  const parts: SentPart[] = [];
  mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  mock
    .on(UploadPartCommand)
    .callsFake(
      async (input: { PartNumber: number; Body: Buffer; ChecksumAlgorithm?: string; ChecksumSHA256?: string; ChecksumCRC32?: string }) => {
        parts.push({
          partNumber: input.PartNumber,
          body: Buffer.from(input.Body),
          checksumAlgorithm: input.ChecksumAlgorithm,
          checksumSHA256: input.ChecksumSHA256,
          checksumCRC32: input.ChecksumCRC32,
        });
        return { ETag: `"etag-${input.PartNumber}"`, ...(input.ChecksumSHA256 ? { ChecksumSHA256: input.ChecksumSHA256 } : {}) };
      },
    );
  mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"mpu"', ChecksumSHA256: 'Y29tcG9zaXRl-3' });
  mock.on(AbortMultipartUploadCommand).resolves({});
  mock.on(PutObjectCommand).callsFake(async (input: { Body: Buffer; ChecksumAlgorithm?: string }) => ({
    ETag: '"etag"',
    ...(input.ChecksumAlgorithm === 'SHA256' ? { ChecksumSHA256: sha256Base64(Buffer.from(input.Body)) } : {}),
  }));
  return { s3, mock, parts };
}

function uploadOf(s3: S3Client, body: Readable, overrides: Partial<ArchiveUpload> = {}): ArchiveUpload {
  return {
    s3,
    bucket: BUCKET,
    key: KEY,
    body,
    contentType: 'application/x-step',
    partSizeBytes: PART,
    queueSize: 2,
    checksumAlgorithm: 'SHA256',
    ...overrides,
  };
}

/** Lets every pending stream step and promise run: event-loop turns, not time. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('streamToArchive', () => {
  it('uploads a file larger than a part as a multipart upload: parts in order, each with its SHA-256, all listed on completion', async () => {
    const { s3, mock, parts } = fakeS3();
    const data = randomBytes(PART * 2 + 1234);

    const digest = await streamToArchive(uploadOf(s3, source(data), { contentLength: data.length }));

    expect(digest).toEqual({ size: data.length, sha256Hex: sha256Hex(data), sha256Base64: sha256Base64(data) });
    const created = mock.commandCalls(CreateMultipartUploadCommand);
    expect(created.map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: KEY, ContentType: 'application/x-step', ChecksumAlgorithm: 'SHA256' },
    ]);
    expect(parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
    expect(parts.map((p) => p.body.length)).toEqual([PART, PART, 1234]);
    expect(Buffer.concat(parts.map((p) => p.body)).equals(data)).toBe(true);
    for (const part of parts) {
      expect(part.checksumAlgorithm).toBe('SHA256');
      expect(part.checksumSHA256).toBe(sha256Base64(part.body));
    }
    const completed = mock.commandCalls(CompleteMultipartUploadCommand).map((c) => c.args[0].input);
    expect(completed).toEqual([
      {
        Bucket: BUCKET,
        Key: KEY,
        UploadId: 'upload-1',
        MultipartUpload: {
          Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"etag-${p.partNumber}"`, ChecksumSHA256: sha256Base64(p.body) })),
        },
      },
    ]);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  it.each([
    ['smaller than a part', 1500],
    ['exactly one part', PART],
    ['empty', 0],
  ])('sends a file %s as a single PutObject carrying its SHA-256', async (_label, size) => {
    const { s3, mock } = fakeS3();
    const data = randomBytes(size);

    const digest = await streamToArchive(uploadOf(s3, source(data), { contentLength: data.length }));

    expect(digest.sha256Hex).toBe(sha256Hex(data));
    expect(digest.size).toBe(size);
    const puts = mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(Buffer.from(puts[0]?.Body as Buffer).equals(data)).toBe(true);
    expect(puts[0]).toMatchObject({
      Bucket: BUCKET,
      Key: KEY,
      ContentLength: size,
      ContentType: 'application/x-step',
      ChecksumAlgorithm: 'SHA256',
      ChecksumSHA256: sha256Base64(data),
    });
    expect(mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    expect(mock.commandCalls(UploadPartCommand)).toHaveLength(0);
  });

  it('refuses, as transient, a single put whose SHA-256 reported by S3 differs from the bytes read', async () => {
    const { s3, mock } = fakeS3();
    mock.on(PutObjectCommand).resolves({ ETag: '"etag"', ChecksumSHA256: sha256Base64(Buffer.from('something else')) });
    const data = randomBytes(2000);

    const failure = await streamToArchive(uploadOf(s3, source(data))).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ExportError);
    expect((failure as ExportError).kind).toBe('transient');
    expect((failure as ExportError).message).toContain(`S3 stored ${KEY} with SHA-256`);
    expect((failure as ExportError).message).toContain(sha256Base64(data));
  });

  it('aborts the multipart upload and rethrows the download error as it was (an expired link stays recognisable)', async () => {
    const { s3, mock, parts } = fakeS3();
    const expired = new PresignedStorageError(
      'storage GET /raw answered 403 "Forbidden"',
      'permanent',
      { method: 'GET', path: '/raw' },
      403,
      'Forbidden',
      {},
      undefined,
      undefined,
    );
    const data = randomBytes(PART * 3);
    const body = heldSource(data.subarray(0, PART * 2 + 500), () => parts.length >= 2, expired);

    const failure = await streamToArchive(uploadOf(s3, body, { contentLength: data.length })).catch((err: unknown) => err);

    expect(failure).toBe(expired);
    expect(isExpiredLinkError(failure)).toBe(true);
    expect(parts).toHaveLength(2);
    expect(mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: KEY, UploadId: 'upload-1' },
    ]);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('aborts and rethrows when an UploadPart fails, and stops reading the download', async () => {
    const { s3, mock } = fakeS3();
    const refused = Object.assign(new Error('We encountered an internal error. Please try again.'), {
      name: 'InternalError',
      $metadata: { httpStatusCode: 500 },
    });
    mock.on(UploadPartCommand, { PartNumber: 2 }).rejects(refused);
    const data = randomBytes(PART * 6);
    const body = source(data);

    const failure = await streamToArchive(uploadOf(s3, body, { contentLength: data.length })).catch((err: unknown) => err);

    expect(failure).toBe(refused);
    expect(body.destroyed).toBe(true);
    expect(mock.commandCalls(UploadPartCommand).length).toBeLessThan(6);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('aborts when CompleteMultipartUpload fails, and a failing abort does not hide the first error', async () => {
    const { s3, mock } = fakeS3();
    const completeFailed = Object.assign(new Error('complete failed'), { $metadata: { httpStatusCode: 500 } });
    mock.on(CompleteMultipartUploadCommand).rejects(completeFailed);
    mock.on(AbortMultipartUploadCommand).rejects(new Error('abort failed too'));
    const data = randomBytes(PART * 2);

    const failure = await streamToArchive(uploadOf(s3, source(data))).catch((err: unknown) => err);

    expect(failure).toBe(completeFailed);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("prefers the truncated download's ExportError, commits nothing and aborts the parts sent", async () => {
    const { s3, mock, parts } = fakeS3();
    const data = randomBytes(PART * 2 + 10);
    const body = heldSource(data, () => parts.length >= 2);

    const failure = await streamToArchive(uploadOf(s3, body, { contentLength: data.length + 500 })).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ExportError);
    expect((failure as ExportError).kind).toBe('transient');
    expect((failure as ExportError).message).toMatch(new RegExp(`ended after ${data.length} of ${data.length + 500} bytes`));
    expect(parts).toHaveLength(2);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('puts nothing for a truncated download smaller than a part', async () => {
    const { s3, mock } = fakeS3();
    const data = randomBytes(1000);

    const failure = await streamToArchive(uploadOf(s3, source(data), { contentLength: 2000 })).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ExportError);
    expect(mock.calls()).toHaveLength(0);
  });

  it('keeps at most queueSize parts in flight, reuses a part buffer only once S3 has answered, and uses at most queueSize buffers', async () => {
    const { s3, mock } = fakeS3();
    const queueSize = 2;
    const pending: { answer: () => void; body: Buffer; hashWhenSent: string }[] = [];
    let mostPending = 0;
    mock.on(UploadPartCommand).callsFake(
      (input: { PartNumber: number; Body: Buffer }) =>
        new Promise<Partial<UploadPartCommandOutput>>((resolve) => {
          pending.push({
            answer: () => resolve({ ETag: `"etag-${input.PartNumber}"` }),
            body: input.Body,
            hashWhenSent: sha256Hex(input.Body),
          });
          mostPending = Math.max(mostPending, pending.length);
        }),
    );
    const data = randomBytes(PART * 9 + 77);

    let settled = false;
    const result = streamToArchive(uploadOf(s3, source(data, 700), { queueSize, contentLength: data.length })).finally(() => {
      settled = true;
    });
    while (!settled) {
      await turns(20);
      expect(pending.length).toBeLessThanOrEqual(queueSize);
      const oldest = pending.shift();
      if (oldest) {
        expect(sha256Hex(oldest.body)).toBe(oldest.hashWhenSent);
        oldest.answer();
      }
    }
    const digest = await result;

    expect(mostPending).toBe(queueSize);
    expect(mock.commandCalls(UploadPartCommand)).toHaveLength(10);
    const partMemory = new Set(mock.commandCalls(UploadPartCommand).map((call) => (call.args[0].input.Body as Buffer).buffer));
    expect(partMemory.size).toBeGreaterThan(1);
    expect(partMemory.size).toBeLessThanOrEqual(queueSize);
    // Shared memory: the SHA-256 thread reads the parts in place.
    expect([...partMemory].every((memory) => memory instanceof SharedArrayBuffer)).toBe(true);
    expect(digest.sha256Hex).toBe(sha256Hex(data));
  });

  it('commits nothing and aborts when the SHA-256 thread fails, with an error that names the upload', async () => {
    const { s3, mock } = fakeS3();
    const data = randomBytes(PART * 3 + 5);
    const failingThread = (_source: string, options: WorkerOptions) =>
      new Worker(
        `require('node:worker_threads').parentPort.on('message', (m) => { if (m.type === 'piece') throw new Error('hash engine broke'); });`,
        options,
      );

    await expect(
      streamToArchive(uploadOf(s3, source(data), { contentLength: data.length, startHashingThread: failingThread })),
    ).rejects.toThrow(`SHA-256 thread of the archive upload of ${KEY} failed (hash engine broke)`);
    expect(mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('hashes a file of one part on the calling thread and a file of unknown length on the SHA-256 thread, both to the same digest', async () => {
    const small = randomBytes(PART - 1);
    const single = fakeS3();
    const threads: string[] = [];
    const countingThread = (source: string, options: WorkerOptions) => {
      threads.push('started');
      return new Worker(source, options);
    };
    const one = await streamToArchive(
      uploadOf(single.s3, source(small), { contentLength: small.length, startHashingThread: countingThread }),
    );
    expect(one.sha256Hex).toBe(sha256Hex(small));
    expect(threads).toHaveLength(0);

    const unknown = fakeS3();
    const large = randomBytes(PART * 2 + 1);
    const many = await streamToArchive(uploadOf(unknown.s3, source(large), { startHashingThread: countingThread }));
    expect(many).toEqual({ size: large.length, sha256Hex: sha256Hex(large), sha256Base64: sha256Base64(large) });
    expect(threads).toHaveLength(1);
  });

  it('cuts a file announced larger than partSize x 9,000 into bigger parts', async () => {
    const { s3, parts } = fakeS3();
    const announced = PART * 9_000 * 3;
    const grownPart = Math.ceil(announced / 9_000);
    // Only the first parts are delivered; the download then ends short of its Content-Length.
    const data = randomBytes(grownPart * 2 + 1);

    await expect(streamToArchive(uploadOf(s3, source(data), { contentLength: announced }))).rejects.toThrow(/ended after/);

    expect(parts.map((p) => p.body.length).slice(0, 2)).toEqual([grownPart, grownPart]);
  });

  it('refuses, as permanent, a download of unknown length that needs more than 10,000 parts', async () => {
    const { s3, mock } = fakeS3();
    const data = randomBytes(10_001);

    const failure = await streamToArchive(uploadOf(s3, source(data, 5000), { partSizeBytes: 1, queueSize: 8 })).catch(
      (err: unknown) => err,
    );

    expect(failure).toBeInstanceOf(ExportError);
    expect((failure as ExportError).kind).toBe('permanent');
    expect((failure as ExportError).message).toMatch(/10000 parts of 1 bytes and announced no Content-Length/);
    expect(mock.commandCalls(UploadPartCommand)).toHaveLength(10_000);
    expect(mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('sends no checksum fields when the checksum is switched off (servers that cannot check one)', async () => {
    const { s3, mock, parts } = fakeS3();
    const data = randomBytes(PART + 10);

    const digest = await streamToArchive(uploadOf(s3, source(data), { checksumAlgorithm: undefined }));

    expect(digest.sha256Hex).toBe(sha256Hex(data));
    expect(mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input.ChecksumAlgorithm).toBeUndefined();
    expect(parts.every((p) => p.checksumAlgorithm === undefined && p.checksumSHA256 === undefined)).toBe(true);
    const completedParts = mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts;
    expect(completedParts).toEqual([
      { PartNumber: 1, ETag: '"etag-1"' },
      { PartNumber: 2, ETag: '"etag-2"' },
    ]);
  });

  it('with CRC32 (the default) gives each part and a single put its CRC32 for S3 to verify, and hashes no part with SHA-256', async () => {
    expect(DEFAULT_EXPORT_SETTINGS.s3ChecksumAlgorithm).toBe('CRC32');
    const { s3, mock, parts } = fakeS3();
    const data = randomBytes(PART * 2 + 77);

    const digest = await streamToArchive(uploadOf(s3, source(data), { contentLength: data.length, checksumAlgorithm: 'CRC32' }));

    expect(digest).toEqual({ size: data.length, sha256Hex: sha256Hex(data), sha256Base64: sha256Base64(data) });
    expect(mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input.ChecksumAlgorithm).toBe('CRC32');
    expect(parts.map((p) => [p.checksumAlgorithm, p.checksumCRC32, p.checksumSHA256])).toEqual(
      parts.map((p) => ['CRC32', crc32Base64(p.body), undefined]),
    );
    expect(mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts).toEqual(
      parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"etag-${p.partNumber}"`, ChecksumCRC32: crc32Base64(p.body) })),
    );

    const small = randomBytes(100);
    const single = fakeS3();
    await streamToArchive(uploadOf(single.s3, source(small), { contentLength: small.length, checksumAlgorithm: 'CRC32' }));
    expect(single.mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      ChecksumAlgorithm: 'CRC32',
      ChecksumCRC32: crc32Base64(small),
    });
  });

  it('refuses, as transient, a single put whose CRC32 reported by S3 differs from the one sent', async () => {
    const { s3, mock } = fakeS3();
    mock.on(PutObjectCommand).resolves({ ETag: '"etag"', ChecksumCRC32: crc32Base64(Buffer.from('something else')) });
    const data = randomBytes(500);

    const failure = await streamToArchive(uploadOf(s3, source(data), { checksumAlgorithm: 'CRC32' })).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(ExportError);
    expect((failure as ExportError).kind).toBe('transient');
    expect((failure as ExportError).message).toContain(`S3 stored ${KEY} with CRC32 ${crc32Base64(Buffer.from('something else'))}`);
  });

  it('signs parts and single puts with UNSIGNED-PAYLOAD, so the SDK does not hash each body with SHA-256 for the signature', async () => {
    const seen: { method: string; query: Record<string, unknown>; contentSha256: string | undefined }[] = [];
    // A real client and its whole middleware stack (checksums, signing), over a handler that records the signed requests.
    const s3 = new S3Client({
      region: 'eu-north-1',
      endpoint: 'http://127.0.0.1:9',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: {
        handle: async (request: { method: string; query: Record<string, unknown>; headers: Record<string, string>; body?: unknown }) => {
          seen.push({ method: request.method, query: request.query, contentSha256: request.headers['x-amz-content-sha256'] });
          const isCreate = request.method === 'POST' && 'uploads' in request.query;
          const body = isCreate
            ? '<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>'
            : request.method === 'POST'
              ? '<CompleteMultipartUploadResult><ETag>"mpu"</ETag></CompleteMultipartUploadResult>'
              : '';
          return { response: { statusCode: 200, headers: { etag: '"e"' }, body: Readable.from([Buffer.from(body)]) } };
        },
      },
    });
    const data = randomBytes(PART + 5);

    await streamToArchive(uploadOf(s3, source(data), { contentLength: data.length, checksumAlgorithm: 'CRC32' }));
    await streamToArchive(uploadOf(s3, source(data.subarray(0, 10)), { contentLength: 10, checksumAlgorithm: 'CRC32' }));

    const bodies = seen.filter((r) => r.method === 'PUT');
    expect(bodies).toHaveLength(3);
    expect(bodies.map((r) => r.contentSha256)).toEqual(['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']);
  });
});
