/**
 * A Koa middleware placed in front of s3rver's own routes that closes the gaps between
 * s3rver 3.7 and Amazon S3 which the pipeline would otherwise trip over locally:
 *
 * - Tags: `x-amz-tagging` on PutObject / CreateMultipartUpload / CopyObject (REPLACE), the
 *   copy directive (COPY by default), tags dropped with the object, values kept byte-exact,
 *   S3's limits enforced. GetObjectTagging / PutObjectTagging / DeleteObjectTagging are
 *   answered here from an ObjectTagStore (see s3-tagging.ts for why).
 * - Bodies: `aws-chunked` uploads decoded, `x-amz-checksum-{sha256,sha1,crc32}` verified (in a
 *   header or a trailer) on PutObject and UploadPart; a mismatch is a 400 BadDigest and the
 *   object is not kept, as in S3.
 * - CopyObject: a URL-encoded `x-amz-copy-source` (`%2F`, `%2B`, UTF-8) and `?versionId=`.
 * - Events: notifications are held back until the request has succeeded and its tags are in
 *   place (S3 stores an object and its tags atomically; s3rver emits mid-request), dropped for
 *   a refused body, and a completed multipart upload is named `CompleteMultipartUpload`.
 * - Versions: buckets named as versioned get a version id per write (see s3-versions.ts);
 *   in other buckets a `versionId` parameter is ignored, as s3rver does.
 *
 * - Keys: a key over S3's 1,024 UTF-8 bytes is answered `400 KeyTooLongError`, as S3 does.
 *
 * Only path-style requests are handled (the local clients always use them).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { S3rverEvent, S3rverStore } from 's3rver';
import { InvalidTagError, ObjectTagStore, parseTaggingHeader, parseTaggingXml, taggingXml, escapeXml, type TagSet } from './s3-tagging.js';
import { VERIFIABLE_CHECKSUMS, VerifyingRequestBody, type ChecksumAlgorithm } from './s3-request-body.js';
import type { S3EventName, S3ObjectChange } from './s3-event-notification.js';
import { CurrentObjectVersions } from './s3-versions.js';

/** The part of Koa's context this middleware uses. */
export interface KoaContext {
  method: string;
  /** Percent-encoded path, as sent. */
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: IncomingHttpHeaders;
  req: IncomingMessage | Readable;
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
  remove(field: string): void;
}

export type KoaNext = () => Promise<void>;

interface RequestScope {
  events: S3rverEvent[];
}

const MAX_TAGGING_BODY_BYTES = 64 * 1024;
/** S3's longest object key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

export interface S3rverCompatibilityOptions {
  /** Buckets that behave as versioned (the inbox, as in AWS). */
  versionedBuckets?: Iterable<string>;
}

export class S3rverCompatibility {
  readonly tags = new ObjectTagStore();
  readonly versions: CurrentObjectVersions;
  private readonly pendingUploadTags = new Map<string, TagSet>();
  private readonly scope = new AsyncLocalStorage<RequestScope>();
  private readonly listeners = new Set<(change: S3ObjectChange) => void>();

  constructor(
    private readonly store: S3rverStore,
    options: S3rverCompatibilityOptions = {},
  ) {
    this.versions = new CurrentObjectVersions(options.versionedBuckets);
  }

  /** Subscribes to object changes that S3 would notify about. Returns the unsubscribe function. */
  onObjectChange(listener: (change: S3ObjectChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Give every event s3rver emits to this method (`s3rver.on('event', ...)`). */
  observe(event: S3rverEvent): void {
    const scope = this.scope.getStore();
    if (scope) scope.events.push(event);
    else this.publish([event]);
  }

  /** The middleware; put it first in s3rver's list so that it wraps everything else. */
  readonly middleware = async (ctx: KoaContext, next: KoaNext): Promise<void> => {
    const target = parsePathStyle(ctx.path);
    if (!target) return next();
    try {
      if (target.key === undefined) return await this.bucketRequest(ctx, next, target.bucket);
      return await this.objectRequest(ctx, next, target.bucket, target.key);
    } catch (err) {
      if (err instanceof InvalidTagError) return respondError(ctx, 400, err.code, err.message);
      throw err;
    }
  };

  private async bucketRequest(ctx: KoaContext, next: KoaNext, bucket: string): Promise<void> {
    if (ctx.method === 'POST' && 'delete' in ctx.query) {
      // DeleteObjects: drop the tags of every key the response lists as deleted.
      const scope = await this.runCapturing(next);
      if (isSuccess(ctx.status)) {
        for (const key of xmlValues(String(ctx.body ?? ''), 'Key')) {
          this.tags.delete(bucket, key);
          this.versions.recordDelete(bucket, key);
        }
      }
      this.publish(scope.events);
      return;
    }
    return next();
  }

  private async objectRequest(ctx: KoaContext, next: KoaNext, bucket: string, key: string): Promise<void> {
    const { method, query } = ctx;
    const keyBytes = Buffer.byteLength(key, 'utf8');
    if (keyBytes > MAX_KEY_BYTES) {
      // S3 refuses such a key on every object request; s3rver would try to store it.
      return respondError(
        ctx,
        400,
        'KeyTooLongError',
        `Your key is too long: ${keyBytes} bytes, S3 allows ${MAX_KEY_BYTES} (key begins ${JSON.stringify(key.slice(0, 80))})`,
      );
    }
    const versionId = typeof query.versionId === 'string' ? query.versionId : undefined;
    if (!this.versions.allows(bucket, key, versionId)) {
      // Another version than the current one: gone, as far as this server knows.
      if (method === 'DELETE') {
        ctx.status = 204;
        ctx.body = '';
        return;
      }
      return respondError(ctx, 404, 'NoSuchVersion', `The specified version does not exist: ${key} version ${versionId}`);
    }
    if ('tagging' in query) return this.taggingRequest(ctx, bucket, key);

    if (method === 'PUT' && 'uploadId' in query) return this.uploadPart(ctx, next);
    if (method === 'PUT') return this.putObject(ctx, next, bucket, key);

    if (method === 'POST' && 'uploads' in query) {
      const tagSet = parseTaggingHeader(headerValue(ctx.headers['x-amz-tagging']) ?? '');
      await next();
      const uploadId = xmlValues(String(ctx.body ?? ''), 'UploadId')[0];
      if (isSuccess(ctx.status) && uploadId) this.pendingUploadTags.set(uploadId, tagSet);
      return;
    }
    if (method === 'POST' && 'uploadId' in query) {
      const uploadId = String(query.uploadId);
      const scope = await this.runCapturing(next);
      if (!isSuccess(ctx.status)) return;
      this.tags.set(bucket, key, this.pendingUploadTags.get(uploadId) ?? []);
      this.pendingUploadTags.delete(uploadId);
      const newVersion = this.versions.recordWrite(bucket, key);
      if (newVersion) ctx.set('x-amz-version-id', newVersion);
      this.publish(scope.events, { rename: 'ObjectCreated:CompleteMultipartUpload', versionId: newVersion });
      return;
    }
    if (method === 'DELETE' && 'uploadId' in query) {
      this.pendingUploadTags.delete(String(query.uploadId));
      return next();
    }
    if (method === 'DELETE') {
      const scope = await this.runCapturing(next);
      if (isSuccess(ctx.status)) {
        this.tags.delete(bucket, key);
        this.versions.recordDelete(bucket, key);
      }
      this.publish(scope.events);
      return;
    }
    await next();
    if ((method === 'GET' || method === 'HEAD') && isSuccess(ctx.status)) this.answerVersion(ctx, bucket, key);
  }

  /** GET / PUT / DELETE `?tagging`, answered here (s3rver's own would corrupt values). */
  private async taggingRequest(ctx: KoaContext, bucket: string, key: string): Promise<void> {
    if (!['GET', 'PUT', 'DELETE'].includes(ctx.method))
      return respondError(ctx, 405, 'MethodNotAllowed', `${ctx.method} is not allowed on ?tagging`);
    if (!(await this.store.existsObject(bucket, key))) {
      return respondError(ctx, 404, 'NoSuchKey', `The specified key does not exist: ${key}`);
    }
    this.answerVersion(ctx, bucket, key);
    if (ctx.method === 'GET') {
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body = taggingXml(this.tags.get(bucket, key));
      return;
    }
    if (ctx.method === 'PUT') {
      const xml = await readSmallBody(ctx.req, MAX_TAGGING_BODY_BYTES);
      this.tags.set(bucket, key, parseTaggingXml(xml));
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    this.tags.delete(bucket, key);
    ctx.status = 204;
    ctx.body = '';
  }

  private answerVersion(ctx: KoaContext, bucket: string, key: string): void {
    const current = this.versions.currentVersion(bucket, key);
    if (current) ctx.set('x-amz-version-id', current);
  }

  /** PutObject and CopyObject. */
  private async putObject(ctx: KoaContext, next: KoaNext, bucket: string, key: string): Promise<void> {
    const copySource = headerValue(ctx.headers['x-amz-copy-source']);
    let tagSet: TagSet;
    if (copySource !== undefined) {
      const source = parseCopySource(copySource);
      if (!source)
        return respondError(ctx, 400, 'InvalidArgument', `x-amz-copy-source must be "<bucket>/<key>", got ${JSON.stringify(copySource)}`);
      if (!this.versions.allows(source.bucket, source.key, source.versionId)) {
        return respondError(ctx, 404, 'NoSuchVersion', `The specified version does not exist: ${source.key} version ${source.versionId}`);
      }
      // s3rver decodes the header with decodeURI only; give it the form it understands.
      ctx.headers['x-amz-copy-source'] = encodeURI(`${source.bucket}/${source.key}`);
      const directive = (headerValue(ctx.headers['x-amz-tagging-directive']) ?? 'COPY').toUpperCase();
      if (directive !== 'COPY' && directive !== 'REPLACE')
        return respondError(ctx, 400, 'InvalidArgument', `x-amz-tagging-directive must be COPY or REPLACE, got ${directive}`);
      tagSet =
        directive === 'REPLACE'
          ? parseTaggingHeader(headerValue(ctx.headers['x-amz-tagging']) ?? '')
          : this.tags.get(source.bucket, source.key);
    } else {
      tagSet = parseTaggingHeader(headerValue(ctx.headers['x-amz-tagging']) ?? '');
    }
    const body = copySource === undefined ? this.interceptBody(ctx) : undefined;
    if (body && 'error' in body) return respondError(ctx, 400, 'InvalidRequest', body.error);

    const scope = await this.runCapturing(next);
    if (!isSuccess(ctx.status)) return;
    const verdict = body?.stream.verdict;
    if (verdict && !verdict.ok) {
      // S3 keeps nothing from a refused upload; neither does the local server.
      await this.store.deleteObject(bucket, key);
      this.tags.delete(bucket, key);
      this.versions.recordDelete(bucket, key);
      return respondError(ctx, 400, verdict.code, verdict.message);
    }
    this.tags.set(bucket, key, tagSet);
    const newVersion = this.versions.recordWrite(bucket, key);
    if (newVersion) ctx.set('x-amz-version-id', newVersion);
    if (verdict?.checksum) ctx.set(verdict.checksum.header, verdict.checksum.value);
    if (copySource !== undefined) {
      const eTag = xmlValues(String(ctx.body ?? ''), 'ETag')[0]?.replace(/"/g, '');
      for (const event of scope.events) for (const record of event.Records) record.s3.object.eTag ??= eTag;
    }
    this.publish(scope.events, { versionId: newVersion });
  }

  private async uploadPart(ctx: KoaContext, next: KoaNext): Promise<void> {
    const body = this.interceptBody(ctx);
    if (body && 'error' in body) return respondError(ctx, 400, 'InvalidRequest', body.error);
    await next();
    const verdict = body?.stream.verdict;
    if (!isSuccess(ctx.status) || !verdict) return;
    if (!verdict.ok) return respondError(ctx, 400, verdict.code, verdict.message);
    if (verdict.checksum) ctx.set(verdict.checksum.header, verdict.checksum.value);
  }

  /**
   * Puts a VerifyingRequestBody between the socket and s3rver when the body is aws-chunked or
   * carries a checksum; leaves it untouched otherwise (no cost on plain uploads).
   */
  private interceptBody(ctx: KoaContext): { stream: VerifyingRequestBody } | { error: string } | undefined {
    const headers = ctx.headers;
    const encodings = (headerValue(headers['content-encoding']) ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    const chunked = encodings.includes('aws-chunked');
    const trailer = headerValue(headers['x-amz-trailer'])?.trim().toLowerCase();
    let checksum: { algorithm: ChecksumAlgorithm; expected?: string } | undefined;
    for (const algorithm of VERIFIABLE_CHECKSUMS) {
      const header = `x-amz-checksum-${algorithm}`;
      const expected = headerValue(headers[header]);
      if (expected !== undefined) checksum = { algorithm, expected };
      else if (trailer === header) checksum = { algorithm };
    }
    if (!chunked && !checksum) return undefined;
    if (trailer && !chunked) return { error: `x-amz-trailer ${trailer} needs Content-Encoding: aws-chunked` };

    const decodedLengthHeader = headerValue(headers['x-amz-decoded-content-length']);
    const decodedLength = decodedLengthHeader !== undefined ? Number(decodedLengthHeader) : undefined;
    const stream = new VerifyingRequestBody({
      chunked,
      ...(decodedLength !== undefined && Number.isFinite(decodedLength) ? { decodedLength } : {}),
      ...(checksum ? { checksum } : {}),
    });
    if (chunked) {
      // S3 removes aws-chunked from the stored Content-Encoding.
      const rest = encodings.filter((e) => e !== 'aws-chunked');
      if (rest.length > 0) headers['content-encoding'] = rest.join(',');
      else delete headers['content-encoding'];
    }
    const source = ctx.req;
    source.on('aborted', () => stream.abandon('the client closed the connection before the body ended'));
    source.on('error', (err: Error) => stream.abandon(`the request body failed: ${err.message}`));
    source.pipe(stream);
    ctx.req = stream;
    return { stream };
  }

  /** Runs the rest of the chain with events held back in a scope. */
  private async runCapturing(next: KoaNext): Promise<RequestScope> {
    const scope: RequestScope = { events: [] };
    await this.scope.run(scope, next);
    return scope;
  }

  private publish(events: readonly S3rverEvent[], options: { rename?: S3EventName; versionId?: string | undefined } = {}): void {
    for (const event of events) {
      for (const record of event.Records) {
        const change: S3ObjectChange = {
          eventName: options.rename ?? toEventName(record.eventName),
          ...(options.versionId !== undefined ? { versionId: options.versionId } : {}),
          bucket: record.s3.bucket.name,
          key: record.s3.object.key,
          ...(record.s3.object.size !== undefined ? { size: record.s3.object.size } : {}),
          ...(record.s3.object.eTag !== undefined ? { eTag: record.s3.object.eTag } : {}),
          time: new Date(record.eventTime),
        };
        for (const listener of this.listeners) listener(change);
      }
    }
  }
}

function toEventName(name: string): S3EventName {
  switch (name) {
    case 'ObjectCreated:Put':
    case 'ObjectCreated:Post':
    case 'ObjectCreated:Copy':
    case 'ObjectRemoved:Delete':
      return name;
    default:
      throw new Error(`s3rver emitted an event the local stack does not know: ${name}`);
  }
}

/** `/bucket/key...` with each part percent-decoded. Undefined for the service root. */
export function parsePathStyle(path: string): { bucket: string; key?: string } | undefined {
  const match = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
  if (!match?.[1]) return undefined;
  try {
    const bucket = decodeURIComponent(match[1]);
    const rawKey = match[2];
    return rawKey === undefined || rawKey === '' ? { bucket } : { bucket, key: decodeURIComponent(rawKey) };
  } catch {
    return undefined;
  }
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=...]`, URL-encoded. */
export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } | undefined {
  const [pathPart = '', queryPart] = header.split('?', 2);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart.startsWith('/') ? pathPart.slice(1) : pathPart);
  } catch {
    return undefined;
  }
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) return undefined;
  const versionId = queryPart ? (new URLSearchParams(queryPart).get('versionId') ?? undefined) : undefined;
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), ...(versionId ? { versionId } : {}) };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function xmlValues(xml: string, element: string): string[] {
  return [...xml.matchAll(new RegExp(`<${element}>([\\s\\S]*?)</${element}>`, 'g'))].map((m) =>
    (m[1] ?? '')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&'),
  );
}

function respondError(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.remove('ETag');
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>`;
}

async function readSmallBody(stream: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw new InvalidTagError(`The tagging document is larger than ${limit} bytes`, 'MalformedXML');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
