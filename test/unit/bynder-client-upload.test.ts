import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BynderTokenCache } from '../../shared/connectors/bynder/client/auth.js';
import { CHUNK_BUFFERS, ChunkReader } from '../../shared/connectors/bynder/client/chunk-reader.js';
import { HttpBynderClient, type HttpBynderClientOptions } from '../../shared/connectors/bynder/client/client.js';
import { BynderApiError } from '../../shared/connectors/bynder/client/errors.js';
import { RateBudget } from '../../shared/connectors/bynder/client/rate-budget.js';
import type { UploadSource } from '../../shared/connectors/bynder/client/types.js';
import type { FileServicePathsSwitch } from '../../shared/connectors/bynder/client/upload-file-service.js';
import { startHttpStubServer, type HttpStubServer, type RecordedRequest } from '../helpers/http-stub-server.js';

const TOKEN_PATH = '/v6/authentication/oauth2/token';
const MiB = 1024 * 1024;

let stub: HttpStubServer;
let clock: number;
let sleeps: number[];
const now = () => clock;
const sleep = (ms: number) => {
  sleeps.push(ms);
  clock += ms;
  return Promise.resolve();
};

beforeEach(async () => {
  stub = await startHttpStubServer();
  stub.route('POST', TOKEN_PATH, { json: { access_token: 'token-1', expires_in: 3600 } });
  clock = 1_800_000_000_000;
  sleeps = [];
});
afterEach(async () => {
  await stub.close();
});

function client(
  overrides: Partial<HttpBynderClientOptions> = {},
  config: Partial<HttpBynderClientOptions['config']> = {},
): HttpBynderClient {
  return new HttpBynderClient({
    config: {
      portalUrl: stub.url,
      scopes: 'asset:read asset:write',
      uploadFlow: 'file-service',
      fileServicePaths: 'sdk',
      requestsPerSecond: 1000,
      throttlePauseSeconds: 330,
      ...config,
    },
    credentials: () => Promise.resolve({ clientId: 'client-1', clientSecret: 'secret' }),
    tokenCache: new BynderTokenCache(),
    rateBudget: new RateBudget({ requestsPerSecond: 1000, throttlePauseMs: 330_000, now, sleep }),
    now,
    sleep,
    random: () => 0.5,
    ...overrides,
  });
}

/** Deterministic bytes: byte i is (i * 31 + 7) mod 251. */
function bytesOf(size: number, offset = 0): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = ((offset + i) * 31 + 7) % 251;
  return b;
}

/** An in-memory source that records every open(range). */
function memorySource(data: Buffer, fileName: string, opens: ({ start: number; end: number } | undefined)[] = []): UploadSource {
  return {
    size: data.length,
    fileName,
    open: (range) => {
      opens.push(range);
      const slice = range ? data.subarray(range.start, range.end) : data;
      // Small pieces, as a network stream delivers them.
      const pieces: Buffer[] = [];
      for (let i = 0; i < slice.length; i += 700) pieces.push(slice.subarray(i, i + 700));
      return Promise.resolve(Readable.from(pieces));
    },
  };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const form = (r: RecordedRequest) => Object.fromEntries(new URLSearchParams(r.body.toString()));

function fileServiceRoutes(base: string, finalise: string, fileId = 'f-1'): void {
  stub.route('POST', `${base}/prepare`, { json: { file_id: fileId } });
  for (let n = 0; n < 10; n++) stub.route('POST', `${base}/${fileId}/chunk/${n}`, { status: 201, text: '' });
  stub.route('POST', `${base}/${fileId}/${finalise}`, { status: 201, text: '', headers: { 'x-api-correlation-id': 'corr-fin' } });
}

const chunkRequests = () => stub.requests.filter((r) => /\/chunk\/\d+$/.test(r.path));

describe('file-service upload', () => {
  it("sdk paths: prepare, chunks from 0 with each chunk's SHA-256, finalise with the whole file's", async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    const data = bytesOf(2500);
    const c = client({ chunkSizeBytes: 1000 });
    const upload = await c.startUpload('in/dir/report.pdf');
    expect(upload).toMatchObject({ uploadId: 'f-1', flow: 'file-service', fileServicePaths: 'sdk' });
    const sent = await c.sendUpload(upload, memorySource(data, 'in/dir/report.pdf'));
    expect(sent).toEqual({ importId: 'f-1' });

    const chunks = chunkRequests();
    expect(chunks.map((r) => r.path)).toEqual([0, 1, 2].map((n) => `/v7/file_cmds/upload/f-1/chunk/${n}`));
    expect(chunks.map((r) => r.body.length)).toEqual([1000, 1000, 500]);
    for (const r of chunks) {
      expect(r.headers['content-sha256']).toBe(r.sha256);
      expect(r.headers.authorization).toBe('Bearer token-1');
    }
    expect(Buffer.concat(chunks.map((r) => r.body)).equals(data)).toBe(true);
    const [finalise] = stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api');
    expect(form(finalise!)).toEqual({ fileName: 'report.pdf', fileSize: '2500', chunksCount: '3', sha256: sha256(data) });
  });

  it('outline paths when configured', async () => {
    fileServiceRoutes('/v7/file/cmds/upload', 'finalise');
    const data = bytesOf(1200);
    const c = client({ chunkSizeBytes: 1000 }, { fileServicePaths: 'outline' });
    const upload = await c.startUpload('a.bin');
    await c.sendUpload(upload, memorySource(data, 'a.bin'));
    expect(chunkRequests().map((r) => r.path)).toEqual(['/v7/file/cmds/upload/f-1/chunk/0', '/v7/file/cmds/upload/f-1/chunk/1']);
    expect(stub.requestsTo('POST', '/v7/file/cmds/upload/f-1/finalise')).toHaveLength(1);
    expect(stub.requestsTo('POST', '/v7/file_cmds/upload/prepare')).toHaveLength(0);
  });

  it('falls back to the other reading when prepare answers 404, says so, and remembers it', async () => {
    fileServiceRoutes('/v7/file/cmds/upload', 'finalise');
    stub.route('POST', '/v7/file_cmds/upload/prepare', { status: 404, json: { message: 'no Route matched with those values' } });
    const switches: FileServicePathsSwitch[] = [];
    const c = client({ chunkSizeBytes: 1000, onFileServicePathsSwitched: (e) => switches.push(e) });
    const upload = await c.startUpload('a.bin');
    expect(upload.fileServicePaths).toBe('outline');
    expect(switches).toEqual([{ from: 'sdk', to: 'outline' }]);
    await c.sendUpload(upload, memorySource(bytesOf(10), 'a.bin'));
    expect(stub.requestsTo('POST', '/v7/file/cmds/upload/f-1/finalise')).toHaveLength(1);

    // A later client of the same portal goes straight to the reading that works.
    await client().startUpload('b.bin');
    expect(stub.requestsTo('POST', '/v7/file_cmds/upload/prepare')).toHaveLength(1);
    expect(stub.requestsTo('POST', '/v7/file/cmds/upload/prepare')).toHaveLength(2);
    expect(switches).toHaveLength(1);
  });

  it('when both readings answer 404, throws an operator error naming the configured path', async () => {
    stub.route('POST', '/v7/file_cmds/upload/prepare', { status: 404, json: { message: 'no Route matched with those values' } });
    stub.route('POST', '/v7/file/cmds/upload/prepare', { status: 404, json: { message: 'no Route matched with those values' } });
    const err = await client()
      .startUpload('a.bin')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BynderApiError);
    expect(err).toMatchObject({ status: 404, operator: true, request: { path: '/v7/file_cmds/upload/prepare' } });
  });

  it('re-sends only the failed chunk, from the same bytes', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    stub.route('POST', '/v7/file_cmds/upload/f-1/chunk/1', [{ status: 503, text: 'busy' }, { drop: true }, { status: 201, text: '' }]);
    const data = bytesOf(2500);
    const opens: ({ start: number; end: number } | undefined)[] = [];
    const c = client({ chunkSizeBytes: 1000 });
    await c.sendUpload(await c.startUpload('a.bin'), memorySource(data, 'a.bin', opens));
    const paths = chunkRequests().map((r) => r.path.split('/').at(-1));
    expect(paths).toEqual(['0', '1', '1', '1', '2']);
    const ones = chunkRequests().filter((r) => r.path.endsWith('/chunk/1'));
    expect(new Set(ones.map((r) => r.sha256)).size).toBe(1);
    expect(ones[0]!.headers['content-sha256']).toBe(sha256(data.subarray(1000, 2000)));
    expect(opens).toEqual([undefined]);
    expect(form(stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api')[0]!).sha256).toBe(sha256(data));
  });

  it('a chunk that keeps failing fails the upload without finalising', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    stub.route('POST', '/v7/file_cmds/upload/f-1/chunk/0', { status: 500, json: { message: 'boom' } });
    const c = client({ chunkSizeBytes: 1000, maxAttempts: 3 });
    await expect(c.sendUpload(await c.startUpload('a.bin'), memorySource(bytesOf(1500), 'a.bin'))).rejects.toMatchObject({
      kind: 'transient',
      status: 500,
    });
    expect(chunkRequests()).toHaveLength(3);
    expect(stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api')).toHaveLength(0);
  });

  it('finalise is sent again only when Bynder answers 500 with "retry": 1', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    const FIN = '/v7/file_cmds/upload/f-1/finalise_api';
    stub.route('POST', FIN, [
      { status: 500, json: { message: 'Could not complete upload', retry: 1 } },
      { status: 201, text: '' },
    ]);
    const c = client({ chunkSizeBytes: 1000 });
    await expect(c.sendUpload(await c.startUpload('a.bin'), memorySource(bytesOf(10), 'a.bin'))).resolves.toEqual({ importId: 'f-1' });
    expect(stub.requestsTo('POST', FIN)).toHaveLength(2);

    stub.route('POST', FIN, { status: 500, json: { message: 'Internal error' } });
    await expect(c.sendUpload(await c.startUpload('a.bin'), memorySource(bytesOf(10), 'a.bin'))).rejects.toMatchObject({ status: 500 });
    expect(stub.requestsTo('POST', FIN)).toHaveLength(3);
  });

  it('re-opens a failed source at the start of the chunk in progress only', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    const data = bytesOf(3000);
    const opens: ({ start: number; end: number } | undefined)[] = [];
    let failed = false;
    const source: UploadSource = {
      size: data.length,
      fileName: 'a.bin',
      open: (range) => {
        opens.push(range);
        const start = range?.start ?? 0;
        async function* pieces() {
          for (let i = start; i < data.length; i += 500) {
            if (!failed && i >= 1500) {
              failed = true;
              throw Object.assign(new Error('socket reset'), { code: 'ECONNRESET' });
            }
            yield data.subarray(i, Math.min(i + 500, data.length));
          }
        }
        return Promise.resolve(Readable.from(pieces()));
      },
    };
    const c = client({ chunkSizeBytes: 1000 });
    await c.sendUpload(await c.startUpload('a.bin'), source);
    expect(opens).toEqual([undefined, { start: 1000, end: 3000 }]);
    expect(chunkRequests().map((r) => r.path.split('/').at(-1))).toEqual(['0', '1', '2']);
    expect(Buffer.concat(chunkRequests().map((r) => r.body)).equals(data)).toBe(true);
    expect(form(stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api')[0]!).sha256).toBe(sha256(data));
  });

  it('a source shorter than its size fails permanently before finalise', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    const data = bytesOf(1500);
    const source: UploadSource = { size: 2000, fileName: 'a.bin', open: () => Promise.resolve(Readable.from([data])) };
    const c = client({ chunkSizeBytes: 1000 });
    await expect(c.sendUpload(await c.startUpload('a.bin'), source)).rejects.toMatchObject({ kind: 'permanent' });
    expect(stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api')).toHaveLength(0);
  });

  it('streams a 20 MiB source in 5 MiB chunks without holding more than its two chunk buffers (one on the wire, one read ahead)', async () => {
    fileServiceRoutes('/v7/file_cmds/upload', 'finalise_api');
    const size = 20 * MiB;
    const piece = 64 * 1024;
    let produced = 0;
    let peakAhead = 0;
    const whole = createHash('sha256');
    const source: UploadSource = {
      size,
      fileName: 'big.bin',
      open: () =>
        Promise.resolve(
          new Readable({
            highWaterMark: piece,
            read() {
              if (produced >= size) {
                this.push(null);
                return;
              }
              const bytes = bytesOf(Math.min(piece, size - produced), produced);
              produced += bytes.length;
              whole.update(bytes);
              // Bytes read from the source that the server has not received yet.
              peakAhead = Math.max(peakAhead, produced - stub.bytesReceived());
              this.push(bytes);
            },
          }),
        ),
    };
    const c = client();
    await c.sendUpload(await c.startUpload('big.bin'), source);
    expect(chunkRequests().map((r) => r.body.length)).toEqual([5 * MiB, 5 * MiB, 5 * MiB, 5 * MiB]);
    expect(peakAhead).toBeLessThanOrEqual(CHUNK_BUFFERS * 5 * MiB + 4 * piece);
    expect(form(stub.requestsTo('POST', '/v7/file_cmds/upload/f-1/finalise_api')[0]!)).toMatchObject({
      fileSize: String(size),
      chunksCount: '4',
      sha256: whole.digest('hex'),
    });
  });
});

describe('chunk reader', () => {
  it('reuses its two chunk buffers for every chunk, and a chunk handed out stays intact while the next one is read', async () => {
    // Chunks above Buffer's 4 KiB pool size: a fresh buffer per chunk would show as a new ArrayBuffer.
    const chunkSize = 64 * 1024;
    const data = bytesOf(6 * chunkSize + 1234);
    const reader = new ChunkReader(memorySource(data, 'a.bin'), chunkSize);
    const memories = new Set<ArrayBufferLike>();
    const seen: number[] = [];
    for await (const chunk of reader.chunks()) {
      const expected = data.subarray(chunk.start, chunk.start + chunkSize);
      memories.add(chunk.bytes.buffer);
      expect(chunk.bytes.equals(expected)).toBe(true);
      expect(chunk.sha256).toBe(sha256(expected));
      // The next chunk is read meanwhile (as while this one is on the wire): it must not land here.
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(chunk.bytes.equals(expected)).toBe(true);
      seen.push(chunk.index);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(memories.size).toBeLessThanOrEqual(CHUNK_BUFFERS);
    expect(reader.chunkBuffersAllocated).toBe(CHUNK_BUFFERS);
    expect(reader.fileSha256()).toBe(sha256(data));
  });

  it('an empty file is one empty chunk; a one-chunk file gets one buffer', async () => {
    const empty = new ChunkReader(memorySource(Buffer.alloc(0), 'empty.bin'), 1000);
    const chunks = [];
    for await (const chunk of empty.chunks()) chunks.push({ index: chunk.index, length: chunk.bytes.length, sha256: chunk.sha256 });
    expect(chunks).toEqual([{ index: 0, length: 0, sha256: sha256(Buffer.alloc(0)) }]);
    expect(empty.fileSha256()).toBe(sha256(Buffer.alloc(0)));

    const small = new ChunkReader(memorySource(bytesOf(999), 'small.bin'), 1000);
    for await (const _chunk of small.chunks()) {
      // read to the end
    }
    expect(small.chunkBuffersAllocated).toBe(1);
    expect(small.fileSha256()).toBe(sha256(bytesOf(999)));
  });
});

describe('legacy upload', () => {
  const S3 = '/bucket-upload';

  function legacyRoutes(polls: unknown[]): void {
    stub.route('GET', '/api/upload/endpoint', { json: `${stub.url}${S3}` });
    stub.route('POST', '/api/upload/init', {
      json: {
        s3file: { uploadid: 'up-1', targetid: 'tg-1' },
        s3_filename: 'tmp/abc/report.pdf',
        target_key: 'ignored',
        multipart_params: { policy: 'POLICY', 'x-amz-signature': 'SIG', acl: 'private', key: 'replaced' },
      },
    });
    stub.route('POST', S3, { status: 204 });
    stub.route('POST', '/api/v4/upload/up-1/', (r) => (form(r).s3_filename !== undefined ? { json: { importId: 'imp-1' } } : { json: {} }));
    stub.route(
      'GET',
      '/api/v4/upload/poll/',
      polls.map((json) => ({ json })),
    );
  }

  it('endpoint, init with the plain name, parts from 1 to storage without Authorization, each registered, finalise, poll', async () => {
    legacyRoutes([
      { itemsDone: [], itemsFailed: [] },
      { itemsDone: ['imp-1'], itemsFailed: [] },
    ]);
    const data = bytesOf(2500);
    const c = client({ chunkSizeBytes: 1000 }, { uploadFlow: 'legacy' });
    const upload = await c.startUpload('/tmp/in/report.pdf');
    expect(upload).toMatchObject({ uploadId: 'tg-1', flow: 'legacy', legacy: { uploadId: 'up-1', s3Filename: 'tmp/abc/report.pdf' } });
    expect(form(stub.requestsTo('POST', '/api/upload/init')[0]!)).toEqual({ filename: 'report.pdf' });

    const sent = await c.sendUpload(upload, memorySource(data, '/tmp/in/report.pdf'));
    expect(sent).toEqual({ importId: 'imp-1' });

    const parts = stub.requestsTo('POST', S3);
    expect(parts).toHaveLength(3);
    parts.forEach((p, i) => {
      expect(p.headers.authorization).toBeUndefined();
      expect(p.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      const text = p.body.toString('latin1');
      expect(text).toContain(`name="key"\r\n\r\ntmp/abc/report.pdf/p${i + 1}\r\n`);
      expect(text).toContain('name="policy"\r\n\r\nPOLICY\r\n');
      expect(text).not.toContain('replaced');
      expect(text.indexOf('name="file"')).toBeGreaterThan(text.indexOf('name="policy"'));
      expect(p.body.includes(data.subarray(i * 1000, Math.min((i + 1) * 1000, 2500)))).toBe(true);
    });
    const calls = stub.requestsTo('POST', '/api/v4/upload/up-1/').map(form);
    expect(calls.slice(0, 3)).toEqual(
      [1, 2, 3].map((n) => ({ id: 'up-1', targetid: 'tg-1', filename: `tmp/abc/report.pdf/p${n}`, chunkNumber: String(n) })),
    );
    expect(calls[3]).toEqual({
      id: 'up-1',
      targetid: 'tg-1',
      s3_filename: 'tmp/abc/report.pdf/p3',
      chunks: '3',
      original_filename: 'report.pdf',
    });
    const polls = stub.requestsTo('GET', '/api/v4/upload/poll/');
    expect(polls).toHaveLength(2);
    expect(polls[0]!.query.get('items')).toBe('imp-1');
  });

  it('a failed import is permanent; one never done is transient after the bounded polls', async () => {
    legacyRoutes([{ itemsDone: [], itemsFailed: ['imp-1'] }]);
    const c = client({ chunkSizeBytes: 1000, maxPolls: 5 }, { uploadFlow: 'legacy' });
    await expect(c.sendUpload(await c.startUpload('a.pdf'), memorySource(bytesOf(10), 'a.pdf'))).rejects.toMatchObject({
      kind: 'permanent',
    });

    legacyRoutes([{ itemsDone: [] }]);
    const before = stub.requestsTo('GET', '/api/v4/upload/poll/').length;
    await expect(c.sendUpload(await c.startUpload('a.pdf'), memorySource(bytesOf(10), 'a.pdf'))).rejects.toMatchObject({
      kind: 'transient',
    });
    expect(stub.requestsTo('GET', '/api/v4/upload/poll/').length - before).toBe(5);
  });

  it('finalise is repeated after Bynder\'s 500 "retry": 1', async () => {
    legacyRoutes([{ itemsDone: ['imp-1'] }]);
    let finalises = 0;
    stub.route('POST', '/api/v4/upload/up-1/', (r) => {
      if (form(r).s3_filename === undefined) return { json: {} };
      return ++finalises === 1
        ? { status: 500, json: { message: 'Could not complete upload', retry: 1 } }
        : { json: { importId: 'imp-1' } };
    });
    const c = client({ chunkSizeBytes: 1000 }, { uploadFlow: 'legacy' });
    await expect(c.sendUpload(await c.startUpload('a.pdf'), memorySource(bytesOf(10), 'a.pdf'))).resolves.toEqual({ importId: 'imp-1' });
    expect(finalises).toBe(2);
  });

  it('retries a part that storage refused with a 5xx, on its own', async () => {
    legacyRoutes([{ itemsDone: ['imp-1'] }]);
    let partCalls = 0;
    stub.route('POST', S3, () =>
      ++partCalls === 2 ? { status: 500, text: '<Error><Code>InternalError</Code></Error>' } : { status: 204 },
    );
    const c = client({ chunkSizeBytes: 1000 }, { uploadFlow: 'legacy' });
    await c.sendUpload(await c.startUpload('a.pdf'), memorySource(bytesOf(2000), 'a.pdf'));
    const keys = stub.requestsTo('POST', S3).map((r) => /name="key"\r\n\r\n([^\r]+)/.exec(r.body.toString('latin1'))?.[1]);
    expect(keys).toEqual(['tmp/abc/report.pdf/p1', 'tmp/abc/report.pdf/p2', 'tmp/abc/report.pdf/p2']);
  });
});
