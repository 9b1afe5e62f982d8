/**
 * The small-file bench's in-memory S3: the calls an ingest of a small file makes answer as S3
 * answers them (through the SDK's own parsing), it counts them, and any other call is refused
 * by name.
 */
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MemoryS3, startMemoryS3 } from '../../bench/memory-s3.js';
import { createLocalS3Client } from '../../local/local-s3.js';

let s3: MemoryS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startMemoryS3();
  client = createLocalS3Client(s3.endpoint);
});
afterAll(async () => {
  client.destroy();
  await s3.stop();
});

const put = (key: string, body: string, tagging?: string) =>
  client.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: Buffer.from(body), ContentType: 'text/plain', Tagging: tagging }));

describe('the in-memory S3', () => {
  it('keeps each upload of a key as a version, with its tags, and reads either version back', async () => {
    const first = await put('a/b c&d.txt', 'first', 'ibinder:folder=F%201&ibinder:title=T');
    const second = await put('a/b c&d.txt', 'second!');
    expect(first.VersionId).toBeTruthy();
    expect(second.VersionId).not.toBe(first.VersionId);

    const old = await client.send(new GetObjectCommand({ Bucket: 'inbox', Key: 'a/b c&d.txt', VersionId: first.VersionId }));
    expect(await old.Body?.transformToString()).toBe('first');
    expect(old.ContentLength).toBe(5);
    expect(old.ContentType).toBe('text/plain');
    expect(old.ETag).toBe(first.ETag);
    expect(old.TagCount).toBe(2);
    const latest = await client.send(new HeadObjectCommand({ Bucket: 'inbox', Key: 'a/b c&d.txt' }));
    expect(latest.VersionId).toBe(second.VersionId);
    expect(latest.ContentLength).toBe(7);

    const tags = await client.send(new GetObjectTaggingCommand({ Bucket: 'inbox', Key: 'a/b c&d.txt', VersionId: first.VersionId }));
    expect(tags.TagSet).toEqual([
      { Key: 'ibinder:folder', Value: 'F 1' },
      { Key: 'ibinder:title', Value: 'T' },
    ]);
  });

  it("replaces a version's tags, escaped values included", async () => {
    const { VersionId } = await put('tagged.txt', 'x');
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: 'inbox',
        Key: 'tagged.txt',
        VersionId,
        Tagging: { TagSet: [{ Key: 'ingested:document', Value: 'a<b>&"c"' }] },
      }),
    );
    const tags = await client.send(new GetObjectTaggingCommand({ Bucket: 'inbox', Key: 'tagged.txt', VersionId }));
    expect(tags.TagSet).toEqual([{ Key: 'ingested:document', Value: 'a<b>&"c"' }]);
  });

  it('answers If-Match, a range, and a missing key or version as S3 does', async () => {
    const { ETag, VersionId } = await put('range.txt', '0123456789');
    const part = await client.send(
      new GetObjectCommand({ Bucket: 'inbox', Key: 'range.txt', VersionId, IfMatch: ETag, Range: 'bytes=2-5' }),
    );
    expect(await part.Body?.transformToString()).toBe('2345');
    expect(part.ContentRange).toBe('bytes 2-5/10');

    await expect(client.send(new GetObjectCommand({ Bucket: 'inbox', Key: 'range.txt', IfMatch: '"other"' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await expect(client.send(new GetObjectCommand({ Bucket: 'inbox', Key: 'missing.txt' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(client.send(new GetObjectTaggingCommand({ Bucket: 'inbox', Key: 'range.txt', VersionId: 'nope' }))).rejects.toMatchObject({
      name: 'NoSuchVersion',
    });
  });

  it('counts requests by operation until reset', async () => {
    s3.reset();
    const { VersionId } = await put('counted.txt', 'x');
    await client.send(new GetObjectCommand({ Bucket: 'inbox', Key: 'counted.txt', VersionId }));
    await client.send(new GetObjectTaggingCommand({ Bucket: 'inbox', Key: 'counted.txt', VersionId }));
    expect(s3.counts()).toEqual({ GetObject: 1, GetObjectTagging: 1, PutObject: 1 });
    s3.reset();
    expect(s3.counts()).toEqual({});
  });

  it('refuses a call it does not implement, naming it', async () => {
    await expect(client.send(new ListObjectsV2Command({ Bucket: 'inbox' }))).rejects.toMatchObject({
      name: 'NotImplemented',
      message: expect.stringMatching(/does not answer|answers object calls only/),
    });
  });
});
