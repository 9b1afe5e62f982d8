/**
 * The Bynder cases a measured process runs (measured-process.ts dispatches to them): the Bynder
 * client's upload, its baseline (a plain chunked POST copy of the same bytes), and a Bynder
 * version's export transfer into the archive. Each builds its own client the way a Lambda
 * would, except for two settings the bench needs: a permanent token (no token endpoint on the
 * fast endpoint; one token call per process would change nothing) and a request budget high
 * enough never to pace (the bench measures the code, not the portal's rate limit; with the
 * default 10 requests per second, 5 MiB chunks would be capped at 50 MiB/s).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { streamToArchive } from '../functions/export-worker/archive-upload.js';
import { createS3Client } from '../shared/aws/clients.js';
import { MAX_CHUNK_BYTES } from '../shared/connectors/bynder/client/chunk-reader.js';
import { HttpBynderClient } from '../shared/connectors/bynder/client/client.js';
import type { UploadSource } from '../shared/connectors/bynder/client/types.js';
import { openBynderVersion } from '../shared/connectors/bynder/export/open-version.js';
import { DEFAULT_EXPORT_SETTINGS } from '../shared/export/settings.js';
import type { BynderArchiveTransferTask, BynderUploadTask, ChunkedPostCopyTask, TaskOutcome } from './protocol.js';
import { SYNTHETIC_CHUNK_BYTES, syntheticPattern } from './synthetic-bytes.js';

/** Far above any request rate a loopback exchange reaches: the budget never makes a call wait. */
const UNPACED_REQUESTS_PER_SECOND = 1_000_000;

function benchBynderClient(portalUrl: string): HttpBynderClient {
  return new HttpBynderClient({
    config: {
      portalUrl,
      scopes: 'asset:read asset:write',
      uploadFlow: 'file-service',
      fileServicePaths: 'sdk',
      requestsPerSecond: UNPACED_REQUESTS_PER_SECOND,
      throttlePauseSeconds: 330,
    },
    credentials: () => Promise.resolve({ permanentToken: 'bench-permanent-token' }),
  });
}

/**
 * The synthetic bytes (synthetic-bytes.ts) from `start` to `end` (exclusive), as a network
 * stream would hand them over, but without making garbage of its own: each 1 MiB chunk is its
 * 4-byte index (a small fresh buffer) and a view of the shared pattern. The measured process
 * then holds only what the code under test allocates; the bytes are those of
 * `syntheticChunks`, so the bench's expected SHA-256 holds.
 */
export function syntheticRange(seed: number, size: number, range?: { start: number; end: number }): Readable {
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? size, size);
  const pattern = syntheticPattern(seed);
  function* pieces(): Generator<Buffer> {
    const firstChunk = Math.floor(start / SYNTHETIC_CHUNK_BYTES);
    for (let index = firstChunk, offset = index * SYNTHETIC_CHUNK_BYTES; offset < end; index++, offset += SYNTHETIC_CHUNK_BYTES) {
      const length = Math.min(SYNTHETIC_CHUNK_BYTES, size - offset);
      const head = Buffer.allocUnsafe(Math.min(4, length));
      pattern.copy(head, 0, 0, head.length);
      if (length >= 4) head.writeUInt32BE(index, 0);
      for (const [piece, at] of [
        [head, offset],
        [pattern.subarray(head.length, length), offset + head.length],
      ] as const) {
        const from = Math.max(start, at);
        const to = Math.min(end, at + piece.length);
        if (to > from) yield piece.subarray(from - at, to - at);
      }
    }
  }
  return Readable.from(pieces(), { objectMode: false });
}

export async function runBynderUpload(task: BynderUploadTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  const client = benchBynderClient(task.portalUrl);
  const source: UploadSource = {
    open: (range) => Promise.resolve(syntheticRange(task.seed, task.size, range)),
    size: task.size,
    fileName: task.fileName,
  };
  const started = performance.now();
  const upload = await client.startUpload(task.fileName);
  const { importId } = await client.sendUpload(upload, source);
  const durationMs = performance.now() - started;
  return { durationMs, outcome: { kind: 'bynder-upload', fileId: importId, bytes: task.size } };
}

/** One POST with a body, its answer read to the end; the status is checked by the caller. */
function post(agent: http.Agent, url: string, headers: Record<string, string>, body?: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent, headers }, resolve).once('error', reject);
    request.end(body);
  });
}

async function answered(response: http.IncomingMessage, what: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of response as AsyncIterable<Buffer>) parts.push(chunk);
  const text = Buffer.concat(parts).toString('utf8');
  if (response.statusCode !== 200) throw new Error(`${what} answered ${response.statusCode}: ${text.slice(0, 200)}`);
  return text;
}

/**
 * Prepare, then the synthetic bytes written straight into one POST per chunk (each request
 * ends when its chunk's bytes are written, the next starts when it was answered), then
 * finalise: the exchanges of the file-service flow with nothing of the client in between.
 */
export async function runChunkedPostCopy(task: ChunkedPostCopyTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  const base = `${task.portalUrl}/v7/file_cmds/upload`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const started = performance.now();
  const prepared = JSON.parse(await answered(await post(agent, `${base}/prepare`, {}), 'prepare')) as { file_id?: string };
  const fileId = prepared.file_id;
  if (fileId === undefined) throw new Error('prepare answered without a file_id');

  let chunks = 0;
  let bytes = 0;
  let request: http.ClientRequest | undefined;
  let response: Promise<http.IncomingMessage> | undefined;
  let left = 0;
  const open = (): void => {
    const length = Math.min(task.chunkSizeBytes, task.size - bytes);
    const url = `${base}/${encodeURIComponent(fileId)}/chunk/${chunks}`;
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
    });
    response = new Promise((resolve, reject) => req.once('response', resolve).once('error', reject));
    request = req;
    left = length;
  };
  const close = async (): Promise<void> => {
    request?.end();
    if (response) await answered(await response, `chunk ${chunks}`);
    chunks += 1;
    request = undefined;
    response = undefined;
  };
  for await (const piece of syntheticRange(task.seed, task.size) as AsyncIterable<Buffer>) {
    let data = piece;
    while (data.length > 0) {
      if (!request) open();
      const take = Math.min(left, data.length);
      const req = request as http.ClientRequest;
      if (!req.write(data.subarray(0, take))) await new Promise<void>((resolve) => req.once('drain', resolve));
      left -= take;
      bytes += take;
      data = data.subarray(take);
      if (left === 0) await close();
    }
  }
  const form = new URLSearchParams({ fileName: 'copy.bin', fileSize: String(bytes), chunksCount: String(chunks), sha256: '' });
  await answered(
    await post(
      agent,
      `${base}/${encodeURIComponent(fileId)}/finalise_api`,
      { 'content-type': 'application/x-www-form-urlencoded' },
      form.toString(),
    ),
    'finalise',
  );
  const durationMs = performance.now() - started;
  agent.destroy();
  return { durationMs, outcome: { kind: 'chunked-post-copy', fileId, bytes, chunks } };
}

/** The Bynder export worker's transfer: a fresh location, the storage GET, `streamToArchive`. */
export async function runBynderArchiveTransfer(task: BynderArchiveTransferTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  const client = benchBynderClient(task.portalUrl);
  const s3 = createS3Client(
    { endpoint: task.s3Endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } },
    {},
  );
  const started = performance.now();
  const opened = await openBynderVersion(client, { assetId: task.assetId, version: 1, mediaItemId: task.mediaItemId });
  const digest = await streamToArchive({
    s3,
    bucket: task.bucket,
    key: task.key,
    body: opened.body,
    contentLength: opened.contentLength,
    contentType: opened.contentType,
    partSizeBytes: DEFAULT_EXPORT_SETTINGS.partSizeBytes,
    queueSize: DEFAULT_EXPORT_SETTINGS.uploadQueueSize,
    checksumAlgorithm: DEFAULT_EXPORT_SETTINGS.s3ChecksumAlgorithm,
  });
  const durationMs = performance.now() - started;
  s3.destroy();
  return {
    durationMs,
    outcome: { kind: 'bynder-archive-transfer', size: digest.size, sha256Hex: digest.sha256Hex, locationsFetched: opened.locationsFetched },
  };
}

/** The client's chunk size, which the baseline copies. */
export const BYNDER_CHUNK_BYTES = MAX_CHUNK_BYTES;
