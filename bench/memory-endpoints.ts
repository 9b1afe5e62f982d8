/**
 * Fast endpoints for the transfer bench: one HTTP server on 127.0.0.1 that keeps nothing on
 * disk and does as little work per byte as a server can, so that the bench measures the
 * client's code against the machine's limit rather than against a slow local server.
 *
 * - `GET /source/<seed>/<bytes>`: a presigned-GET stand-in, serving synthetic bytes
 *   (synthetic-bytes.ts) with a Content-Length, honouring backpressure.
 * - `PUT /sink`: the raw pipe's destination; reads the body and counts it.
 * - Everything else is path-style S3, enough of it to be the archive bucket: PutObject,
 *   CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload. Bodies
 *   are counted, not kept; a part or object that carries `x-amz-checksum-crc32` is checked
 *   against it (zlib's CRC32, as cheap as a server can check) and refused with BadDigest when
 *   it differs, as S3 does. Signatures are not checked. `objects` records each completed
 *   object's size and parts, for the bench to verify.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { syntheticChunks, syntheticPattern } from './synthetic-bytes.js';

export interface StoredObject {
  size: number;
  parts: number;
}

export interface MemoryEndpoints {
  /** e.g. http://127.0.0.1:40123 */
  readonly baseUrl: string;
  sourceUrl(seed: number, bytes: number): string;
  readonly sinkUrl: string;
  /** Completed objects by `<bucket>/<key>`. */
  readonly objects: Map<string, StoredObject>;
  /** Bytes the sink has received, in total. */
  sinkBytes(): number;
  stop(): Promise<void>;
}

interface Upload {
  partSizes: Map<number, number>;
}

function crc32Base64(value: number): string {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out.toString('base64');
}

/** Reads a request body to its end, counting it and folding its CRC32. */
async function drain(req: IncomingMessage): Promise<{ bytes: number; crc: number }> {
  let bytes = 0;
  let crc = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    crc = crc32(chunk, crc);
  }
  return { bytes, crc };
}

function xml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  xml(res, status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

export async function startMemoryEndpoints(): Promise<MemoryEndpoints> {
  const patterns = new Map<number, Buffer>();
  const uploads = new Map<string, Upload>();
  const objects = new Map<string, StoredObject>();
  let sinkBytes = 0;

  const patternOf = (seed: number): Buffer => {
    let pattern = patterns.get(seed);
    if (!pattern) {
      pattern = syntheticPattern(seed);
      patterns.set(seed, pattern);
    }
    return pattern;
  };

  async function serveSource(res: ServerResponse, seed: number, bytes: number): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    for (const chunk of syntheticChunks(patternOf(seed), bytes)) {
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
      if (res.destroyed) return;
    }
    res.end();
  }

  /** A checksum header that does not match the body is refused, as S3 refuses it. */
  function checksumProblem(req: IncomingMessage, crc: number): string | undefined {
    const sent = req.headers['x-amz-checksum-crc32'];
    if (typeof sent !== 'string') return undefined;
    return sent === crc32Base64(crc) ? undefined : `x-amz-checksum-crc32 ${sent} does not match the body's ${crc32Base64(crc)}`;
  }

  async function serveS3(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = decodeURIComponent(url.pathname.slice(1));
    const uploadId = url.searchParams.get('uploadId');
    const method = req.method ?? 'GET';
    if (method === 'POST' && url.searchParams.has('uploads')) {
      await drain(req);
      const id = randomUUID();
      uploads.set(id, { partSizes: new Map() });
      xml(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
      );
      return;
    }
    if (method === 'PUT' && uploadId !== null) {
      const upload = uploads.get(uploadId);
      const partNumber = Number(url.searchParams.get('partNumber'));
      const { bytes, crc } = await drain(req);
      if (!upload) return s3Error(res, 404, 'NoSuchUpload', `no upload ${uploadId}`);
      const problem = checksumProblem(req, crc);
      if (problem) return s3Error(res, 400, 'BadDigest', problem);
      upload.partSizes.set(partNumber, bytes);
      res.writeHead(200, { etag: `"${partNumber}-${bytes}"`, 'x-amz-checksum-crc32': crc32Base64(crc), 'content-length': 0 });
      res.end();
      return;
    }
    if (method === 'POST' && uploadId !== null) {
      await drain(req);
      const upload = uploads.get(uploadId);
      if (!upload) return s3Error(res, 404, 'NoSuchUpload', `no upload ${uploadId}`);
      uploads.delete(uploadId);
      const size = [...upload.partSizes.values()].reduce((a, b) => a + b, 0);
      objects.set(path, { size, parts: upload.partSizes.size });
      xml(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Key>${path}</Key><ETag>"mpu-${upload.partSizes.size}"</ETag></CompleteMultipartUploadResult>`,
      );
      return;
    }
    if (method === 'DELETE' && uploadId !== null) {
      await drain(req);
      uploads.delete(uploadId);
      res.writeHead(204).end();
      return;
    }
    if (method === 'PUT') {
      const { bytes, crc } = await drain(req);
      const problem = checksumProblem(req, crc);
      if (problem) return s3Error(res, 400, 'BadDigest', problem);
      objects.set(path, { size: bytes, parts: 1 });
      res.writeHead(200, { etag: `"put-${bytes}"`, 'x-amz-checksum-crc32': crc32Base64(crc), 'content-length': 0 });
      res.end();
      return;
    }
    await drain(req);
    s3Error(res, 501, 'NotImplemented', `${method} ${url.pathname}${url.search} is not part of this bench server`);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const source = /^\/source\/(\d+)\/(\d+)$/.exec(url.pathname);
    const handled =
      req.method === 'GET' && source
        ? serveSource(res, Number(source[1]), Number(source[2]))
        : req.method === 'PUT' && url.pathname === '/sink'
          ? drain(req).then(({ bytes }) => {
              sinkBytes += bytes;
              res.writeHead(200, { 'content-length': 0 }).end();
            })
          : serveS3(req, res, url);
    handled.catch((err: unknown) => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    sourceUrl: (seed, bytes) => `${baseUrl}/source/${seed}/${bytes}`,
    sinkUrl: `${baseUrl}/sink`,
    objects,
    sinkBytes: () => sinkBytes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
