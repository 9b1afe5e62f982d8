/**
 * The S3 calls of the ingest, each on one object version (the inbox bucket is versioned, so a
 * version id names bytes and tags that cannot change under us).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
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

export interface ObjectVersionInfo {
  size: number;
  lastModified?: Date | undefined;
  contentType?: string | undefined;
  versionId?: string | undefined;
  metadata: Record<string, string>;
}

/** HeadObject of the version; undefined when it no longer exists (deleted, or a delete marker). */
export async function headObjectVersion(s3: S3Client, ref: ObjectRef): Promise<ObjectVersionInfo | undefined> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
    return {
      size: out.ContentLength ?? 0,
      lastModified: out.LastModified,
      contentType: out.ContentType,
      versionId: out.VersionId,
      metadata: out.Metadata ?? {},
    };
  } catch (err) {
    if (isObjectGone(err)) return undefined;
    throw err;
  }
}

export async function getObjectTags(s3: S3Client, ref: ObjectRef): Promise<S3Tag[]> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
  return normaliseTags(out.TagSet ?? []);
}

/** Opens the version's bytes as a stream: nothing is buffered beyond the socket's window. */
export async function openObjectVersion(s3: S3Client, ref: ObjectRef): Promise<{ body: Readable; contentLength?: number | undefined }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
  const body: unknown = out.Body;
  if (body instanceof Readable) return { body, contentLength: out.ContentLength };
  if (body && typeof (body as ReadableStream).getReader === 'function') {
    return { body: Readable.fromWeb(body as import('node:stream/web').ReadableStream), contentLength: out.ContentLength };
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

/**
 * Deletes the version permanently (a DeleteObject with VersionId leaves no delete marker).
 * That is the intent: the bytes now live in iBinder, or in `rejected/`.
 */
export async function deleteObjectVersion(s3: S3Client, ref: ObjectRef): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }));
}

/** S3's answer for a version that is gone: 404 (NotFound, NoSuchKey, NoSuchVersion) or 405 (a delete marker). */
export function isObjectGone(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
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
