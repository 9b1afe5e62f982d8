/**
 * The S3 calls of the ingest, each on one object version (the inbox bucket is versioned, so a
 * version id names bytes and tags that cannot change under us).
 *
 * Without a version id (versioning suspended or off) a later upload replaces the object in
 * place, so every read and write of such an object names the upload it means by its ETag
 * (`If-Match`, `x-amz-copy-source-if-match`), and a delete first checks that the object there is
 * still that upload (ETag and LastModified): a server that ignores `If-Match` on DeleteObject is
 * covered by the check, S3 closes the gap between check and delete.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { ObjectRef } from '../../shared/ledger/types.js';
import { toTaggingHeader, type S3Tag, type S3TagEntry } from '../../shared/s3/tags.js';

/** The largest object one CopyObject call can copy; larger ones are copied in parts. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 * 1024 * 1024;
/** Part size of a multipart copy (at least; grown so that at most 10,000 parts are needed). */
export const COPY_PART_BYTES = 512 * 1024 * 1024;
/**
 * Objects up to this size are read once: one GetObject answers what HeadObject would (size,
 * type, ETag, LastModified) and brings the bytes, which the transfer then sends from memory.
 * That saves a round trip and an AWS call per file for the common case (scans and PDFs of 50 KB
 * to 2 MB) while a batch's memory stays bounded: `recordConcurrency` records of at most 8 MiB
 * each (80 MiB for a batch of 10) beside the ingest function's 1 GiB default. Larger or unknown
 * sizes are streamed as before, so memory never grows with file size.
 */
export const SMALL_OBJECT_BYTES = 8 * 1024 * 1024;

export interface ObjectVersionInfo {
  size: number;
  lastModified?: Date | undefined;
  contentType?: string | undefined;
  versionId?: string | undefined;
  /** With its quotes, as S3 returns it; what tells two uploads of an unversioned key apart. */
  eTag?: string | undefined;
  metadata: Record<string, string>;
}

/**
 * The bucket an event names does not exist: a deleted or renamed bucket, or a deployment whose
 * inbox bucket name is wrong. Not "object gone", which would acknowledge the message and lose
 * the trace; it is transient for the ingest, so the message reaches the dead-letter queue.
 */
export class BucketMissingError extends Error {
  override readonly name = 'BucketMissingError';
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(
      `bucket ${bucket} does not exist (S3 answered NoSuchBucket when reading ${key}): ` +
        'check that the inbox bucket was not deleted or renamed and that INBOX_BUCKET_NAME and the bucket notification name it',
    );
  }
}

/**
 * HeadObject of the version; undefined when it no longer exists (deleted, or a delete marker).
 * A HEAD's 404 has no body, so it cannot tell a missing object from a missing bucket: a 404 is
 * confirmed with HeadBucket (the function may list the inbox) before it counts as "gone".
 */
export async function headObjectVersion(s3: S3Client, ref: ObjectRef): Promise<ObjectVersionInfo | undefined> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
    return versionInfoOf(out);
  } catch (err) {
    return settleMissing(s3, ref, err);
  }
}

/** An object version as the ingest first reads it: what HeadObject says, and the bytes when they were read with it. */
export interface ObjectVersionRead {
  info: ObjectVersionInfo;
  /** The whole version, for an object of at most SMALL_OBJECT_BYTES; absent: stream it with openObjectVersion. */
  bytes?: Buffer | undefined;
}

/**
 * The version's head, and for a small object (the event says at most SMALL_OBJECT_BYTES) its
 * bytes too, in one GetObject instead of a HeadObject now and a GetObject for the transfer. An
 * object larger than the event said (a hand-made event) is not buffered: its stream is closed
 * and the transfer streams it as for any large object. Undefined when the version is gone,
 * BucketMissingError when the bucket is, exactly as headObjectVersion.
 */
export async function readObjectVersion(
  s3: S3Client,
  ref: ObjectRef,
  sizeHint: number | undefined,
): Promise<ObjectVersionRead | undefined> {
  if (sizeHint === undefined || sizeHint > SMALL_OBJECT_BYTES) {
    const info = await headObjectVersion(s3, ref);
    return info === undefined ? undefined : { info };
  }
  let out: Awaited<ReturnType<typeof getObject>>;
  try {
    // No If-Match, as for HeadObject: the caller compares the ETag with the event's (a later upload of an unversioned key).
    out = await getObject(s3, ref, undefined, { ifMatch: false });
  } catch (err) {
    const info = await settleMissing(s3, ref, err);
    return info === undefined ? undefined : { info };
  }
  const info = versionInfoOf(out);
  const body = readableOf(out.Body, ref);
  if (info.size > SMALL_OBJECT_BYTES) {
    body.destroy();
    return { info };
  }
  return { info, bytes: await collect(body) };
}

/**
 * Opens bytes read earlier as a stream, whole or an inclusive byte range: what openObjectVersion
 * gives for a streamed object, without another GetObject.
 */
export function openReadBytes(bytes: Buffer, range?: { start: number; end: number } | undefined): Readable {
  const part = range === undefined ? bytes : bytes.subarray(range.start, range.end + 1);
  // In an array: Readable.from iterates what it is given, and the buffer is to be one chunk.
  return Readable.from([part], { objectMode: false });
}

/** A read that failed: the version is gone (undefined), the bucket is (BucketMissingError), or anything else (thrown). */
async function settleMissing(s3: S3Client, ref: ObjectRef, err: unknown): Promise<undefined> {
  if (isBucketMissing(err)) throw new BucketMissingError(ref.bucket, ref.key);
  if (isObjectGone(err)) {
    if (await bucketIsMissing(s3, ref.bucket)) throw new BucketMissingError(ref.bucket, ref.key);
    return undefined;
  }
  throw err;
}

function versionInfoOf(out: {
  ContentLength?: number | undefined;
  LastModified?: Date | undefined;
  ContentType?: string | undefined;
  VersionId?: string | undefined;
  ETag?: string | undefined;
  Metadata?: Record<string, string> | undefined;
}): ObjectVersionInfo {
  return {
    size: out.ContentLength ?? 0,
    lastModified: out.LastModified,
    contentType: out.ContentType,
    versionId: out.VersionId,
    eTag: out.ETag,
    metadata: out.Metadata ?? {},
  };
}

/** The whole stream in one buffer (a single chunk as it is, without a copy). */
async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    chunks.push(piece);
    total += piece.length;
  }
  const only = chunks.length === 1 ? chunks[0] : undefined;
  return only ?? Buffer.concat(chunks, total);
}

/** True only when S3 says the bucket does not exist; a 403 (not ours to list) cannot tell, so false. */
async function bucketIsMissing(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    if (isBucketMissing(err) || statusOf(err) === 404) return true;
    if (statusOf(err) === 403) return false;
    throw err;
  }
}

function isBucketMissing(err: unknown): boolean {
  return err instanceof Error && err.name === 'NoSuchBucket';
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export async function getObjectTags(s3: S3Client, ref: ObjectRef): Promise<S3Tag[]> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
  return normaliseTags(out.TagSet ?? []);
}

/** Opens the version's bytes as a stream: nothing is buffered beyond the socket's window. */
export async function openObjectVersion(
  s3: S3Client,
  ref: ObjectRef,
  /** Inclusive byte range, for a destination that sends the file in chunks. */
  range?: { start: number; end: number } | undefined,
): Promise<{ body: Readable; contentLength?: number | undefined }> {
  const out = await getObject(s3, ref, range, { ifMatch: true });
  return { body: readableOf(out.Body, ref), contentLength: out.ContentLength };
}

/** GetObject of the version (of the upload its ETag names, without a version id), whole or a range. */
function getObject(s3: S3Client, ref: ObjectRef, range: { start: number; end: number } | undefined, options: { ifMatch: boolean }) {
  return s3.send(
    new GetObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      VersionId: ref.versionId,
      IfMatch: options.ifMatch ? expectedETagOf(ref) : undefined,
      ...(range !== undefined ? { Range: `bytes=${range.start}-${range.end}` } : {}),
    }),
  );
}

function readableOf(body: unknown, ref: ObjectRef): Readable {
  if (body instanceof Readable) return body;
  if (body && typeof (body as ReadableStream).getReader === 'function') {
    return Readable.fromWeb(body as import('node:stream/web').ReadableStream);
  }
  throw new Error(`GetObject of s3://${ref.bucket}/${ref.key} (version ${ref.versionId ?? 'null'}) returned no readable body`);
}

export interface CopyVersionInput {
  source: ObjectRef;
  destinationKey: string;
  size: number;
  /** Needed only for a multipart copy, which cannot copy them by directive. */
  tags: readonly S3Tag[];
  contentType?: string | undefined;
  metadata?: Record<string, string> | undefined;
}

/**
 * Copies one version to another key of the same bucket, tags and metadata included. Objects
 * over 5 GiB (rejected as too large, yet they must not be lost) are copied part by part.
 */
export async function copyObjectVersion(s3: S3Client, input: CopyVersionInput): Promise<void> {
  const { source, destinationKey } = input;
  const copySource = copySourceOf(source);
  if (input.size <= MAX_SINGLE_COPY_BYTES) {
    await s3.send(
      new CopyObjectCommand({
        Bucket: source.bucket,
        Key: destinationKey,
        CopySource: copySource,
        CopySourceIfMatch: expectedETagOf(source),
        TaggingDirective: 'COPY',
        MetadataDirective: 'COPY',
      }),
    );
    return;
  }
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: source.bucket,
      Key: destinationKey,
      ContentType: input.contentType,
      Metadata: input.metadata,
      Tagging: input.tags.length > 0 ? toTaggingHeader(input.tags) : undefined,
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload for s3://${source.bucket}/${destinationKey} returned no UploadId`);
  const partSize = Math.max(COPY_PART_BYTES, Math.ceil(input.size / 10_000));
  try {
    const parts: { ETag: string; PartNumber: number }[] = [];
    for (let start = 0, partNumber = 1; start < input.size; start += partSize, partNumber += 1) {
      const end = Math.min(start + partSize, input.size) - 1;
      const out = await s3.send(
        new UploadPartCopyCommand({
          Bucket: source.bucket,
          Key: destinationKey,
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: copySource,
          CopySourceIfMatch: expectedETagOf(source),
          CopySourceRange: `bytes=${start}-${end}`,
        }),
      );
      const etag = out.CopyPartResult?.ETag;
      if (!etag) throw new Error(`UploadPartCopy part ${partNumber} of s3://${source.bucket}/${destinationKey} returned no ETag`);
      parts.push({ ETag: etag, PartNumber: partNumber });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: source.bucket,
        Key: destinationKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (err) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: source.bucket, Key: destinationKey, UploadId: uploadId }))
      .catch(() => undefined);
    throw err;
  }
}

export async function putJsonObject(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(value, null, 2)}\n`,
      ContentType: 'application/json; charset=utf-8',
    }),
  );
}

/** What a delete did; `kept` says why an unversioned object was left in place. */
export type DeleteResult = { deleted: true } | { deleted: false; kept: string };

/**
 * Deletes the version permanently (a DeleteObject with VersionId leaves no delete marker).
 * That is the intent: the bytes now live in iBinder, or in `rejected/`. An object without a
 * version id is deleted only while it is still the upload `ref` names (see the module comment):
 * never a later upload of the key that was not ingested.
 */
export async function deleteObjectVersion(s3: S3Client, ref: ObjectRef): Promise<DeleteResult> {
  if (ref.versionId !== undefined) {
    await s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
    return { deleted: true };
  }
  const replaced = await replacedBy(s3, ref);
  if (replaced !== undefined) return { deleted: false, kept: replaced };
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, IfMatch: expectedETagOf(ref) }));
  } catch (err) {
    if (statusOf(err) === 412)
      return { deleted: false, kept: 'a later upload replaced the object just before the delete (If-Match failed)' };
    throw err;
  }
  return { deleted: true };
}

/**
 * Why an object without a version id is no longer (or cannot be shown to be) the upload `ref`
 * names; undefined when it still is. Versioned objects never change: always undefined.
 */
export async function replacedBy(s3: S3Client, ref: ObjectRef): Promise<string | undefined> {
  if (ref.versionId !== undefined) return undefined;
  const expected = ref.upload;
  if (expected?.eTag === undefined)
    return 'the bucket is not versioned and the ETag of the ingested upload is unknown, so it cannot be told from a later one';
  const current = await headObjectVersion(s3, { bucket: ref.bucket, key: ref.key });
  if (!current) return 'the object is gone';
  if (current.eTag === undefined || normaliseETag(current.eTag) !== normaliseETag(expected.eTag)) {
    return `a later upload replaced it (ETag ${current.eTag ?? 'unknown'}, the ingested upload's was ${expected.eTag})`;
  }
  if (expected.lastModified && current.lastModified && current.lastModified.getTime() !== expected.lastModified.getTime()) {
    return `a later upload of the same bytes replaced it (LastModified ${current.lastModified.toISOString()}, the ingested upload's was ${expected.lastModified.toISOString()})`;
  }
  return undefined;
}

/** ETags compare without their quotes: notifications send them bare, HeadObject quoted. */
export function normaliseETag(eTag: string): string {
  return eTag.replace(/^W\//, '').replace(/"/g, '');
}

/** The `If-Match` value for an upload of an unversioned key; versioned objects need none. */
function expectedETagOf(ref: ObjectRef): string | undefined {
  if (ref.versionId !== undefined || ref.upload?.eTag === undefined) return undefined;
  return `"${normaliseETag(ref.upload.eTag)}"`;
}

/** S3's answer for a version that is gone: 404 (NotFound, NoSuchKey, NoSuchVersion) or 405 (a delete marker). */
export function isObjectGone(err: unknown): boolean {
  if (!(err instanceof Error) || isBucketMissing(err)) return false;
  if (['NotFound', 'NoSuchKey', 'NoSuchVersion'].includes(err.name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 404 || status === 405;
}

function copySourceOf(ref: ObjectRef): string {
  const key = ref.key.split('/').map(encodeURIComponent).join('/');
  return `${ref.bucket}/${key}${ref.versionId !== undefined ? `?versionId=${encodeURIComponent(ref.versionId)}` : ''}`;
}

function normaliseTags(tagSet: readonly S3TagEntry[]): S3Tag[] {
  return tagSet.filter((t) => t.Key !== undefined).map((t) => ({ Key: t.Key as string, Value: t.Value ?? '' }));
}
