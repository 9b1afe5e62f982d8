/**
 * A fast in-memory S3 for the small-file bench: one HTTP server on 127.0.0.1 that keeps
 * versioned objects and their tags in memory and answers the calls an ingest of a small file
 * makes (PutObject with `x-amz-tagging`, GetObject and HeadObject of a version with If-Match and
 * Range, GetObjectTagging, PutObjectTagging), path-style, in S3's wire format. Signatures and
 * checksums are not checked.
 *
 * Why not the local S3 server (s3rver): it keeps objects on disk and costs a few milliseconds of
 * CPU per request. Ten records ask for their objects at once, the server's process answers them
 * one after another, and a batch's figure then measures that queue (GetObject took 5-10 ms for
 * one record and 30-70 ms in a batch of ten) instead of the ingest. S3 answers a batch's
 * requests side by side; this server answers each in well under a millisecond.
 *
 * Anything else is answered 501 NotImplemented, naming the request, so that a bench that starts
 * making another call fails with a clear message instead of measuring a wrong answer.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startCountingServer, type CountingServer } from './aws-call-counter.js';

interface Version {
  versionId: string;
  body: Buffer;
  etag: string;
  contentType: string;
  lastModified: Date;
  tags: { Key: string; Value: string }[];
}

/** The in-memory S3, path-style; counts name S3 operations as aws-call-counter.ts does. */
export type MemoryS3 = CountingServer;

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>';

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|apos|quot|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) => {
    if (dec !== undefined) return String.fromCodePoint(Number(dec));
    if (hex !== undefined) return String.fromCodePoint(Number.parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[name] ?? '';
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function s3Error(res: ServerResponse, status: number, code: string, message: string, method?: string): void {
  const body = `${XML_HEADER}<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': method === 'HEAD' ? 0 : Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}

/** `a=1&b=2` (the `x-amz-tagging` header) as a tag set. */
function tagsOfHeader(header: string | string[] | undefined): { Key: string; Value: string }[] {
  if (typeof header !== 'string' || header === '') return [];
  return [...new URLSearchParams(header)].map(([Key, Value]) => ({ Key, Value }));
}

/** A PutObjectTagging body's tag set. */
function tagsOfXml(xml: string): { Key: string; Value: string }[] {
  return [...xml.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*<Value>([\s\S]*?)<\/Value>\s*<\/Tag>/g)].map((m) => ({
    Key: unescapeXml(m[1] ?? ''),
    Value: unescapeXml(m[2] ?? ''),
  }));
}

/** The query names an object version at most (the SDK adds `x-id=<operation>` to some calls). */
function onlyVersionQuery(url: URL): boolean {
  return [...url.searchParams.keys()].every((k) => k === 'versionId' || k === 'x-id');
}

export async function startMemoryS3(): Promise<MemoryS3> {
  /** Versions by `<bucket>/<key>`, oldest first. */
  const objects = new Map<string, Version[]>();

  const versionOf = (name: string, versionId: string | null): Version | undefined => {
    const versions = objects.get(name);
    if (versions === undefined) return undefined;
    return versionId === null ? versions.at(-1) : versions.find((v) => v.versionId === versionId);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://memory-s3');
    const [bucket, ...keyParts] = url.pathname.slice(1).split('/').map(decodeURIComponent);
    const key = keyParts.join('/');
    const method = req.method ?? 'GET';
    const versionId = url.searchParams.get('versionId');
    if (!bucket || key === '') {
      return s3Error(
        res,
        501,
        'NotImplemented',
        `the bench's in-memory S3 answers object calls only, not ${method} ${url.pathname}${url.search}`,
        method,
      );
    }
    const name = `${bucket}/${key}`;

    if (url.searchParams.has('tagging')) {
      const version = versionOf(name, versionId);
      if (method === 'GET' || method === 'PUT') {
        if (version === undefined) return s3Error(res, 404, versionId === null ? 'NoSuchKey' : 'NoSuchVersion', `no object ${name}`);
        if (method === 'PUT') {
          version.tags = tagsOfXml((await readBody(req)).toString('utf8'));
          res.writeHead(200, { 'x-amz-version-id': version.versionId, 'content-length': 0 });
          return void res.end();
        }
        const tagSet = version.tags.map((t) => `<Tag><Key>${escapeXml(t.Key)}</Key><Value>${escapeXml(t.Value)}</Value></Tag>`).join('');
        const body = `${XML_HEADER}<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tagSet}</TagSet></Tagging>`;
        res.writeHead(200, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(body),
          'x-amz-version-id': version.versionId,
        });
        return void res.end(body);
      }
    } else if (method === 'PUT' && onlyVersionQuery(url) && versionId === null && req.headers['x-amz-copy-source'] === undefined) {
      const body = await readBody(req);
      const version: Version = {
        versionId: randomUUID().replaceAll('-', ''),
        body,
        etag: `"${createHash('md5').update(body).digest('hex')}"`,
        contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
        lastModified: new Date(),
        tags: tagsOfHeader(req.headers['x-amz-tagging']),
      };
      objects.set(name, [...(objects.get(name) ?? []), version]);
      res.writeHead(200, { etag: version.etag, 'x-amz-version-id': version.versionId, 'content-length': 0 });
      return void res.end();
    } else if ((method === 'GET' || method === 'HEAD') && onlyVersionQuery(url)) {
      const version = versionOf(name, versionId);
      if (version === undefined) return s3Error(res, 404, versionId === null ? 'NoSuchKey' : 'NoSuchVersion', `no object ${name}`, method);
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== version.etag && ifMatch !== '*') {
        return s3Error(res, 412, 'PreconditionFailed', `If-Match ${ifMatch} does not match ${version.etag}`, method);
      }
      const headers: Record<string, string | number> = {
        'content-type': version.contentType,
        etag: version.etag,
        'last-modified': version.lastModified.toUTCString(),
        'x-amz-version-id': version.versionId,
        'accept-ranges': 'bytes',
        ...(version.tags.length > 0 ? { 'x-amz-tagging-count': version.tags.length } : {}),
      };
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
      const size = version.body.length;
      if (range !== null) {
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : size - 1, size - 1);
        if (start >= size || end < start) return s3Error(res, 416, 'InvalidRange', `bytes ${start}-${end} of ${size}`, method);
        res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
        return void res.end(method === 'HEAD' ? undefined : version.body.subarray(start, end + 1));
      }
      res.writeHead(200, { ...headers, 'content-length': size });
      return void res.end(method === 'HEAD' ? undefined : version.body);
    }
    s3Error(res, 501, 'NotImplemented', `the bench's in-memory S3 does not answer ${method} ${url.pathname}${url.search}`, method);
  };

  return startCountingServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', `the bench's in-memory S3 failed: ${(err as Error).message}`);
      else res.destroy();
    });
  });
}
