/**
 * A fast in-memory stand-in for the few Bynder routes the Bynder benches call, on 127.0.0.1:
 * the file-service upload (SDK path reading: `prepare`, `chunk/{n}`, `finalise_api`) and the
 * download location of a media item. It does as little per byte as a server can (chunk bodies
 * are counted and dropped, never hashed or kept), so that a bench measures the client against
 * the machine's limit rather than against the emulator, which keeps and checks every chunk.
 *
 * What it records is enough for the bench to verify a transfer without hashing on the server:
 * the bytes and chunks each file id received, how many chunks came without a `Content-SHA256`
 * header, and what `finalise` claimed (size, chunk count, the whole file's SHA-256), which the
 * bench compares with the SHA-256 it computes once from the same synthetic bytes.
 *
 * No authentication: every request is answered whatever its bearer token.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one file id received; `finalised` once its finalise arrived. */
export interface ReceivedUpload {
  bytes: number;
  chunks: number;
  /** Chunks whose request carried no `Content-SHA256` header (the client always sends one). */
  chunksWithoutSha256: number;
  /** Highest chunk number received, -1 before the first. */
  highestChunk: number;
  finalised?: { fileName: string; fileSize: number; chunksCount: number; sha256: string };
}

export interface BynderMemoryEndpoint {
  /** The portal URL the client is configured with, e.g. http://127.0.0.1:40123 */
  readonly portalUrl: string;
  /** Uploads by file id, from `prepare` on. */
  readonly uploads: Map<string, ReceivedUpload>;
  /** `GET /api/v4/media/{assetId}/download/{itemId}/` answers `{"s3_file": location}`. */
  setDownloadLocation(assetId: string, itemId: string, location: string): void;
  stop(): Promise<void>;
}

const UPLOAD_BASE = '/v7/file_cmds/upload/';
const CHUNK_PATH = /^\/v7\/file_cmds\/upload\/([^/]+)\/chunk\/(\d+)$/;
const FINALISE_PATH = /^\/v7\/file_cmds\/upload\/([^/]+)\/finalise_api$/;
const DOWNLOAD_ITEM_PATH = /^\/api\/v4\/media\/([^/]+)\/download\/([^/]+)\/?$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a body to its end, counting it and keeping nothing. */
async function countBody(req: IncomingMessage): Promise<number> {
  let bytes = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

async function readSmallBody(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts).toString('utf8');
}

export async function startBynderMemoryEndpoint(): Promise<BynderMemoryEndpoint> {
  const uploads = new Map<string, ReceivedUpload>();
  const downloads = new Map<string, string>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === `${UPLOAD_BASE}prepare`) {
      await countBody(req);
      const fileId = randomUUID();
      uploads.set(fileId, { bytes: 0, chunks: 0, chunksWithoutSha256: 0, highestChunk: -1 });
      return json(res, 200, { file_id: fileId });
    }
    const chunk = method === 'POST' ? CHUNK_PATH.exec(path) : null;
    if (chunk) {
      const bytes = await countBody(req);
      const upload = uploads.get(decodeURIComponent(chunk[1] ?? ''));
      if (!upload) return json(res, 404, { message: `no upload ${chunk[1]}: call prepare first` });
      upload.bytes += bytes;
      upload.chunks += 1;
      upload.highestChunk = Math.max(upload.highestChunk, Number(chunk[2]));
      if (typeof req.headers['content-sha256'] !== 'string') upload.chunksWithoutSha256 += 1;
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    const finalise = method === 'POST' ? FINALISE_PATH.exec(path) : null;
    if (finalise) {
      const form = new URLSearchParams(await readSmallBody(req));
      const fileId = decodeURIComponent(finalise[1] ?? '');
      const upload = uploads.get(fileId);
      if (!upload) return json(res, 404, { message: `no upload ${fileId}: call prepare first` });
      upload.finalised = {
        fileName: form.get('fileName') ?? '',
        fileSize: Number(form.get('fileSize')),
        chunksCount: Number(form.get('chunksCount')),
        sha256: form.get('sha256') ?? '',
      };
      return json(res, 200, { file_id: fileId });
    }
    const download = method === 'GET' ? DOWNLOAD_ITEM_PATH.exec(path) : null;
    if (download) {
      await countBody(req);
      const location = downloads.get(`${decodeURIComponent(download[1] ?? '')}/${decodeURIComponent(download[2] ?? '')}`);
      return location === undefined ? json(res, 404, { message: 'Media not found' }) : json(res, 200, { s3_file: location });
    }
    await countBody(req);
    json(res, 404, { message: `no Route matched with those values: ${method} ${path}` });
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { message: (err as Error).message });
      else res.destroy();
    });
  });
  // A 1 GiB upload at bench speed must not meet Node's default request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    portalUrl: `http://127.0.0.1:${port}`,
    uploads,
    setDownloadLocation: (assetId, itemId, location) => downloads.set(`${assetId}/${itemId}`, location),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
