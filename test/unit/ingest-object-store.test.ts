import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import {
  BucketMissingError,
  COPY_PART_BYTES,
  copyObjectVersion,
  MAX_SINGLE_COPY_BYTES,
  readObjectVersion,
  SMALL_OBJECT_BYTES,
} from '../../functions/ingest/object-store.js';
import { rejectedKeyFor } from '../../functions/ingest/rejection.js';

const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'eu-north-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const source = { bucket: 'inbox-bucket', key: 'inbox/big file.bin', versionId: 'v 1' };

beforeEach(() => s3mock.reset());

describe('copyObjectVersion', () => {
  it('copies up to 5 GiB in one CopyObject with the encoded source version', async () => {
    s3mock.on(CopyObjectCommand).resolves({});
    await copyObjectVersion(s3, { source, destinationKey: 'rejected/big file.bin', size: MAX_SINGLE_COPY_BYTES, tags: [] });
    expect(s3mock.commandCalls(CopyObjectCommand)[0]?.args[0].input.CopySource).toBe('inbox-bucket/inbox/big%20file.bin?versionId=v%201');
    expect(s3mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('copies a larger object part by part, carrying its tags, so a too-large rejection loses nothing', async () => {
    s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'mpu-1' });
    s3mock
      .on(UploadPartCopyCommand)
      .callsFake((input: { PartNumber?: number }) => ({ CopyPartResult: { ETag: `"etag-${input.PartNumber}"` } }));
    s3mock.on(CompleteMultipartUploadCommand).resolves({});
    const size = MAX_SINGLE_COPY_BYTES + 1;
    await copyObjectVersion(s3, {
      source,
      destinationKey: 'rejected/big file.bin',
      size,
      tags: [{ Key: 'ibinder:binder', Value: 'B 1' }],
      contentType: 'application/octet-stream',
    });
    expect(s3mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      Key: 'rejected/big file.bin',
      Tagging: 'ibinder%3Abinder=B%201',
      ContentType: 'application/octet-stream',
    });
    const parts = s3mock.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(parts).toHaveLength(Math.ceil(size / COPY_PART_BYTES));
    expect(parts[0]?.CopySourceRange).toBe(`bytes=0-${COPY_PART_BYTES - 1}`);
    expect(parts.at(-1)?.CopySourceRange).toBe(`bytes=${(parts.length - 1) * COPY_PART_BYTES}-${size - 1}`);
    expect(s3mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.MultipartUpload?.Parts).toHaveLength(parts.length);
  });

  it('aborts the multipart copy when a part fails', async () => {
    s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'mpu-1' });
    s3mock.on(UploadPartCopyCommand).rejects(new Error('InternalError'));
    s3mock.on(AbortMultipartUploadCommand).resolves({});
    await expect(
      copyObjectVersion(s3, { source, destinationKey: 'rejected/x', size: MAX_SINGLE_COPY_BYTES * 2, tags: [] }),
    ).rejects.toThrow('InternalError');
    expect(s3mock.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input.UploadId).toBe('mpu-1');
  });
});

describe('rejectedKeyFor', () => {
  it('replaces the inbox prefix with the rejected prefix', () => {
    expect(rejectedKeyFor('inbox/a/b.pdf', 'inbox/', 'rejected/')).toBe('rejected/a/b.pdf');
    expect(rejectedKeyFor('other/b.pdf', 'inbox/', 'rejected/')).toBe('rejected/other/b.pdf');
  });
});

describe('readObjectVersion', () => {
  const small = { bucket: 'inbox-bucket', key: 'inbox/a.pdf', versionId: 'v1' };
  const head = {
    ContentLength: 5,
    ContentType: 'application/pdf',
    ETag: '"e1"',
    LastModified: new Date('2025-01-15T08:00:00Z'),
    VersionId: 'v1',
  };

  it('reads a small object once: the head and the bytes from one GetObject, without If-Match', async () => {
    s3mock.on(GetObjectCommand).resolves({ ...head, Body: Readable.from([Buffer.from('he'), Buffer.from('llo')]) as never });
    const read = await readObjectVersion(s3, { ...small, upload: { id: 'seq:0A', eTag: 'e1' } }, 5);
    expect(read?.bytes?.toString()).toBe('hello');
    expect(read?.info).toMatchObject({ size: 5, eTag: '"e1"', contentType: 'application/pdf', versionId: 'v1' });
    expect(s3mock.commandCalls(GetObjectCommand)[0]?.args[0].input.IfMatch).toBeUndefined();
    expect(s3mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });

  it('heads an object the event says is large, or gives no size for', async () => {
    s3mock.on(HeadObjectCommand).resolves(head);
    expect(await readObjectVersion(s3, small, SMALL_OBJECT_BYTES + 1)).toEqual({ info: expect.objectContaining({ size: 5 }) });
    expect(await readObjectVersion(s3, small, undefined)).toEqual({ info: expect.objectContaining({ size: 5 }) });
    expect(s3mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('answers a missing version as gone and a missing bucket as BucketMissingError, as the head does', async () => {
    const gone = Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
    const noBucket = Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
    s3mock.on(GetObjectCommand).rejectsOnce(gone).rejectsOnce(noBucket);
    s3mock.on(HeadBucketCommand).resolves({});
    expect(await readObjectVersion(s3, small, 5)).toBeUndefined();
    await expect(readObjectVersion(s3, small, 5)).rejects.toBeInstanceOf(BucketMissingError);
  });
});
