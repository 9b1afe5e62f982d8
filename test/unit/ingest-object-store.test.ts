import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { COPY_PART_BYTES, copyObjectVersion, MAX_SINGLE_COPY_BYTES } from '../../functions/ingest/object-store.js';
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
