/**
 * The local stack the demo, the integration tests and the bench run on: the local S3 server
 * (with the compatibility layer over s3rver), the local DynamoDB server, the S3 -> SQS
 * notification wiring and the SQS simulator's semantics.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3, type LocalS3 } from '../../local/local-s3.js';
import { startLocalDynamoDb } from '../../local/local-dynamodb.js';
import { startLocalServices } from '../../local/services.js';
import { forwardInboxNotifications } from '../../local/inbox-notifications.js';
import { decodeS3EventKey, encodeS3EventKey } from '../../local/s3-event-notification.js';
import { SimulatedClock } from '../../local/simulated-clock.js';
import { VerifyingRequestBody, type RequestBodyOptions } from '../../local/s3-request-body.js';
import { SqsSimulator, interpretBatchResponse } from '../../local/sqs-simulator.js';
import { DEFAULT_SEED_IDS } from '../../emulator/seed.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { startLocalStack } from '../helpers/local-stack.js';

const BUCKET = 'inbox-bucket-test';

async function text(body: { transformToString(): Promise<string> } | undefined): Promise<string> {
  if (!body) throw new Error('no body');
  return body.transformToString();
}

describe('local services', () => {
  it('start the emulator, S3 with both buckets and DynamoDB with both ledger tables on free loopback ports, and stop them all', async () => {
    const services = await startLocalServices();
    let stopped = false;
    try {
      const endpoints = [services.emulator.url, services.s3.endpoint, services.dynamodb.endpoint];
      for (const endpoint of endpoints) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(new Set(endpoints).size).toBe(3);
      const buckets = await services.s3.client.send(new ListBucketsCommand({}));
      expect(buckets.Buckets?.map((b) => b.Name).sort()).toEqual([services.archiveBucket, services.inboxBucket].sort());
      const tables = await services.dynamodb.client.send(new ListTablesCommand({}));
      expect(tables.TableNames?.sort()).toEqual([services.exportLedgerTable, services.ledgerTable].sort());
      const token = await fetch(services.emulator.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: services.emulator.clientId,
          client_secret: services.emulator.clientSecret,
          scope: 'ibinder_public',
        }),
      });
      expect(token.status).toBe(200);

      await services.stop();
      stopped = true;
      await services.stop();
      for (const endpoint of endpoints) await expect(fetch(endpoint)).rejects.toThrow();
      expect(existsSync(services.s3.directory)).toBe(false);
    } finally {
      if (!stopped) await services.stop();
    }
  });
});

describe('local S3 server', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: [BUCKET] });
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('listens on 127.0.0.1 on a port of its own and removes its data directory on stop', async () => {
    const other = await startLocalS3({ buckets: ['other-bucket'] });
    expect(other.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(other.endpoint).not.toBe(s3.endpoint);
    expect(existsSync(other.directory)).toBe(true);
    await other.client.send(new PutObjectCommand({ Bucket: 'other-bucket', Key: 'a.txt', Body: 'a' }));
    await other.stop();
    expect(existsSync(other.directory)).toBe(false);
    await expect(fetch(`${other.endpoint}/other-bucket/a.txt`)).rejects.toThrow();
  });

  it('keeps the tags of PutObject byte-exact, replaces them on PutObjectTagging, and forgets them with the object', async () => {
    const key = 'inbox/tags/drawing 01.pdf';
    await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: key,
        Body: 'pdf bytes',
        Tagging:
          'ibinder:binder=PRJ0001AB&ibinder:version=007&ibinder:meta:number=1e5&ibinder:folder-path=01%20Architecture/Tegninger%20%C3%B8',
      }),
    );
    const tagged = await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
    expect(tagged.TagSet).toEqual([
      { Key: 'ibinder:binder', Value: 'PRJ0001AB' },
      { Key: 'ibinder:version', Value: '007' },
      { Key: 'ibinder:meta:number', Value: '1e5' },
      { Key: 'ibinder:folder-path', Value: '01 Architecture/Tegninger ø' },
    ]);

    await s3.client.send(
      new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet: [{ Key: 'ibinder:version', Value: '0012' }] } }),
    );
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet).toEqual([
      { Key: 'ibinder:version', Value: '0012' },
    ]);

    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'again' }));
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet).toEqual([]);
  });

  it('refuses tags S3 refuses', async () => {
    const key = 'inbox/tags/bad.pdf';
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    await expect(
      s3.client.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet: [{ Key: 'note', Value: 'a&b' }] } })),
    ).rejects.toMatchObject({ name: 'InvalidTag' });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await expect(
      s3.client.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet: eleven } })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 400 },
    });
    await expect(s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'inbox/tags/missing.pdf' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });

  it('answers KeyTooLongError (400) for a key over 1,024 UTF-8 bytes, as S3 does, and still serves a key of exactly 1,024', async () => {
    const atLimit = `inbox/limit/${'ø'.repeat(200)}/${'k'.repeat(1024 - 'inbox/limit/'.length - 400 - 1)}`;
    expect(Buffer.byteLength(atLimit, 'utf8')).toBe(1024);
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: atLimit, Body: 'fits' }));
    expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: atLimit }))).Body)).toBe('fits');

    const overLimit = `${atLimit.slice(0, -1)}ø`; // 1,025 bytes in UTF-8, 1,024 characters
    await expect(s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: overLimit, Body: 'too long' }))).rejects.toMatchObject({
      name: 'KeyTooLongError',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: overLimit }))).rejects.toMatchObject({
      name: 'KeyTooLongError',
    });
  });

  it('stores a key whose segments are longer than a file name may be: put, head, get, tag, copy, list and delete, and stays up', async () => {
    const longName = `${'Ä'.repeat(100)}${'n'.repeat(97)}.pdf`; // 301 bytes
    const longFolder = 'F'.repeat(300);
    const key = `inbox/long-names/${longFolder}/${longName}`;
    expect(Buffer.byteLength(longName, 'utf8')).toBe(301);

    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'long name', Tagging: 'ibinder:binder=PRJ0001AB' }));
    expect((await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ContentLength).toBe(9);
    expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body)).toBe('long name');
    await s3.client.send(
      new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet: [{ Key: 'ibinder:version', Value: 'B' }] } }),
    );
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }))).TagSet).toEqual([
      { Key: 'ibinder:version', Value: 'B' },
    ]);
    const copyKey = `rejected/long-names/${longFolder}/${longName}`;
    await s3.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: copyKey, CopySource: `${BUCKET}/${encodeURIComponent(key)}` }));
    expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: copyKey }))).Body)).toBe('long name');

    // A short neighbour, to see the listing keep S3's order and its prefixes over mapped names.
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'inbox/long-names/a.pdf', Body: 'a' }));
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inbox/long-names/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([key, 'inbox/long-names/a.pdf']);
    expect(listed.Contents?.[0]?.Size).toBe(9);
    const inFolder = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `inbox/long-names/${longFolder}/Ä` }));
    expect(inFolder.Contents?.map((o) => o.Key)).toEqual([key]);
    const folders = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inbox/long-names/', Delimiter: '/' }));
    expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual([`inbox/long-names/${longFolder}/`]);
    expect(folders.Contents?.map((o) => o.Key)).toEqual(['inbox/long-names/a.pdf']);

    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const after = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inbox/long-names/' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['inbox/long-names/a.pdf']);
    // The server is still up and serving.
    expect((await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: copyKey }))).ContentLength).toBe(9);
  });

  it('keeps keys apart that s3rver\'s file names would let escape the bucket or collide: ".", ".." and its own suffix in a segment', async () => {
    const keys = [
      'inbox/odd/x',
      'inbox/odd/x._S3rver_object/inside.pdf',
      'inbox/odd/a/b.pdf',
      'inbox/odd/../../escape.pdf',
      'inbox/odd/./dot.pdf',
    ];
    // The directory named like key x's file comes first: s3rver then failed to write x and the process died.
    for (const key of [keys[1], ...keys.filter((_, i) => i !== 1)] as string[]) {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `body of ${key}` }));
    }
    for (const key of keys)
      expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body)).toBe(`body of ${key}`);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inbox/odd/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    // Nothing was written outside the bucket's directory.
    expect(existsSync(join(s3.directory, 'escape.pdf._S3rver_object'))).toBe(false);
    expect(existsSync(join(s3.directory, BUCKET, 'escape.pdf._S3rver_object'))).toBe(false);
    for (const key of keys) await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    expect((await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'inbox/odd/' }))).Contents ?? []).toEqual([]);
  });

  it('copies a key with spaces, + and UTF-8 with its tags (COPY) or new ones (REPLACE)', async () => {
    const key = 'inbox/copy/Plan + snitt ø (1).pdf';
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'plan', Tagging: 'ibinder:binder=PRJ0001AB' }));
    const source = `${BUCKET}/${encodeURIComponent(key)}`;
    await s3.client.send(new CopyObjectCommand({ Bucket: BUCKET, Key: `rejected/${key}`, CopySource: source }));
    expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `rejected/${key}` }))).Body)).toBe('plan');
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: `rejected/${key}` }))).TagSet).toEqual([
      { Key: 'ibinder:binder', Value: 'PRJ0001AB' },
    ]);

    await s3.client.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'rejected/replaced.pdf',
        CopySource: `${source}?versionId=null`,
        TaggingDirective: 'REPLACE',
        Tagging: 'ibinder:rejected=true',
      }),
    );
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'rejected/replaced.pdf' }))).TagSet).toEqual([
      { Key: 'ibinder:rejected', Value: 'true' },
    ]);
  });

  it('stores a streamed aws-chunked upload as its bytes and verifies its SHA-256', async () => {
    const content = 'streamed with a trailing checksum\n'.repeat(1000);
    const body = new PassThrough();
    body.end(content);
    const put = await s3.client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'archive/streamed.txt',
        Body: body,
        ContentLength: Buffer.byteLength(content),
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const sha256 = createHash('sha256').update(content).digest('base64');
    expect(put.ChecksumSHA256).toBe(sha256);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'archive/streamed.txt' }));
    expect(got.ContentEncoding).toBeUndefined();
    expect(await text(got.Body)).toBe(content);
  });

  it('refuses a body whose checksum does not match, and keeps nothing of it', async () => {
    const wrong = createHash('sha256').update('something else').digest('base64');
    await expect(
      s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'archive/corrupt.bin', Body: 'abc', ChecksumSHA256: wrong })),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'archive/corrupt.bin' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('completes a multipart upload (lib-storage) with per-part SHA-256 and tags', async () => {
    const part = Buffer.alloc(5 * 1024 * 1024, 1);
    const tail = Buffer.from('tail');
    const upload = new Upload({
      client: s3.client,
      params: {
        Bucket: BUCKET,
        Key: 'archive/multipart.bin',
        Body: Buffer.concat([part, part, tail]),
        ChecksumAlgorithm: 'SHA256',
        Tagging: 'kind=archive',
      },
      partSize: 5 * 1024 * 1024,
    });
    await upload.done();
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'archive/multipart.bin' }));
    expect(head.ContentLength).toBe(2 * part.length + tail.length);
    const ranged = await s3.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'archive/multipart.bin', Range: `bytes=${2 * part.length}-` }),
    );
    expect(await text(ranged.Body)).toBe('tail');
    expect((await s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'archive/multipart.bin' }))).TagSet).toEqual([
      { Key: 'kind', Value: 'archive' },
    ]);
  });

  it('sends ObjectCreated events under inbox/ to the queue as S3 notifications, with the key URL-encoded and the tags already in place', async () => {
    const queue = new SqsSimulator({ clock: new SimulatedClock(0) });
    const notifications = forwardInboxNotifications(s3, queue, { bucket: BUCKET, prefix: 'inbox/', sendTestEvent: true });
    const tagsSeenAtEvent: Promise<unknown>[] = [];
    const unsubscribe = s3.onObjectChange((change) => {
      if (change.key.startsWith('inbox/events/') && change.eventName.startsWith('ObjectCreated:')) {
        tagsSeenAtEvent.push(s3.client.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: change.key })).then((r) => r.TagSet));
      }
    });
    try {
      const key = 'inbox/events/Tegning ø+æ (rev 2).pdf';
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'drawing', Tagging: 'ibinder:binder=PRJ0001AB' }));
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'elsewhere/not-inbox.pdf', Body: 'x' }));
      await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

      const messages = queue.receive({ maxMessages: 10 });
      expect(messages).toHaveLength(2);
      expect(JSON.parse(messages[0]?.body ?? '')).toMatchObject({ Event: 's3:TestEvent', Bucket: BUCKET });
      const notification = JSON.parse(messages[1]?.body ?? '');
      expect(notification.Records).toHaveLength(1);
      const record = notification.Records[0];
      expect(record).toMatchObject({
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        awsRegion: 'us-east-1',
        s3: {
          bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
          object: {
            key: 'inbox/events/Tegning+%C3%B8%2B%C3%A6+%28rev+2%29.pdf',
            size: 7,
            eTag: createHash('md5').update('drawing').digest('hex'),
          },
        },
      });
      expect(record.s3.object.versionId).toBeUndefined();
      expect(decodeS3EventKey(record.s3.object.key)).toBe(key);
      expect(notifications.lastFor(key)?.body).toBe(messages[1]?.body);
      expect(await Promise.all(tagsSeenAtEvent)).toEqual([[{ Key: 'ibinder:binder', Value: 'PRJ0001AB' }]]);
    } finally {
      unsubscribe();
      notifications.stop();
    }
  });
});

describe('local S3 server, versioned bucket', () => {
  let s3: LocalS3;
  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['versioned-inbox'], versionedBuckets: ['versioned-inbox'] });
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('gives each write a version id, in the response, HeadObject and the event; other ids are gone', async () => {
    const queue = new SqsSimulator({ clock: new SimulatedClock(0) });
    const notifications = forwardInboxNotifications(s3, queue, { bucket: 'versioned-inbox' });
    try {
      const key = 'inbox/same name.pdf';
      const first = await s3.client.send(new PutObjectCommand({ Bucket: 'versioned-inbox', Key: key, Body: 'one', Tagging: 'n=1' }));
      const second = await s3.client.send(new PutObjectCommand({ Bucket: 'versioned-inbox', Key: key, Body: 'two', Tagging: 'n=2' }));
      expect(first.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(second.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(second.VersionId).not.toBe(first.VersionId);

      const events = queue.receive({ maxMessages: 10 }).map((m) => JSON.parse(m.body).Records[0].s3.object.versionId);
      expect(events).toEqual([first.VersionId, second.VersionId]);

      const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: second.VersionId }));
      expect(head.VersionId).toBe(second.VersionId);
      const tags = await s3.client.send(new GetObjectTaggingCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: second.VersionId }));
      expect(tags.TagSet).toEqual([{ Key: 'n', Value: '2' }]);
      await expect(
        s3.client.send(new HeadObjectCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: first.VersionId })),
      ).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
      await expect(
        s3.client.send(new GetObjectCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: first.VersionId })),
      ).rejects.toMatchObject({ name: 'NoSuchVersion' });

      // Deleting the overwritten version must not delete the newer upload.
      await s3.client.send(new DeleteObjectCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: first.VersionId }));
      expect(await text((await s3.client.send(new GetObjectCommand({ Bucket: 'versioned-inbox', Key: key }))).Body)).toBe('two');
      await s3.client.send(new DeleteObjectCommand({ Bucket: 'versioned-inbox', Key: key, VersionId: second.VersionId }));
      await expect(s3.client.send(new HeadObjectCommand({ Bucket: 'versioned-inbox', Key: key }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    } finally {
      notifications.stop();
    }
  });
});

describe('aws-chunked request bodies', () => {
  const payload = Buffer.from('0123456789abcdef'.repeat(100));
  const sha256 = createHash('sha256').update(payload).digest('base64');
  const framed = (trailerValue: string, cut = 0) => {
    const chunks = [payload.subarray(0, 1000), payload.subarray(1000)];
    const body = Buffer.concat([
      ...chunks.flatMap((c) => [Buffer.from(`${c.length.toString(16)};chunk-signature=abc\r\n`), c, Buffer.from('\r\n')]),
      Buffer.from(`0\r\nx-amz-checksum-sha256:${trailerValue}\r\n\r\n`),
    ]);
    return body.subarray(0, body.length - cut);
  };
  const run = async (input: Buffer, options: RequestBodyOptions, pieceSize: number) => {
    const stream = new VerifyingRequestBody(options);
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((resolve) => stream.on('end', resolve));
    for (let i = 0; i < input.length; i += pieceSize) stream.write(input.subarray(i, i + pieceSize));
    stream.end();
    await ended;
    return { bytes: Buffer.concat(out), verdict: stream.verdict };
  };
  const options: RequestBodyOptions = { chunked: true, decodedLength: payload.length, checksum: { algorithm: 'sha256' } };

  it('decodes the framing and checks the trailing checksum, however the input is split', async () => {
    for (const pieceSize of [1, 2, 7, 1000, 100_000]) {
      const { bytes, verdict } = await run(framed(sha256), options, pieceSize);
      expect(bytes.equals(payload)).toBe(true);
      expect(verdict).toEqual({ ok: true, checksum: { header: 'x-amz-checksum-sha256', value: sha256 } });
    }
  });

  it('reports a wrong checksum, a cut-off body and a wrong decoded length', async () => {
    const wrong = createHash('sha256').update('other').digest('base64');
    expect((await run(framed(wrong), options, 64)).verdict).toMatchObject({ ok: false, code: 'BadDigest' });
    expect((await run(framed(sha256, 60), options, 64)).verdict).toMatchObject({ ok: false, code: 'IncompleteBody' });
    expect((await run(framed(sha256), { ...options, decodedLength: 5 }, 64)).verdict).toMatchObject({ ok: false, code: 'IncompleteBody' });
  });
});

describe('S3 event key encoding', () => {
  it('encodes as S3 does: spaces as +, a literal + as %2B, UTF-8 percent-encoded, / kept', () => {
    expect(encodeS3EventKey('inbox/a b+c/ø.pdf')).toBe('inbox/a+b%2Bc/%C3%B8.pdf');
    for (const key of ['inbox/a b+c/ø.pdf', "inbox/it's (final) 100%!.pdf", 'inbox/日本語/ファイル.txt']) {
      expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
    }
  });
});

describe('local DynamoDB server', () => {
  it('creates ledger tables keyed by pk and enforces conditional writes', async () => {
    const dynamodb = await startLocalDynamoDb({ tables: ['ledger-test'] });
    try {
      expect(dynamodb.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const put = () =>
        dynamodb.documentClient.send(
          new PutCommand({
            TableName: 'ledger-test',
            Item: { pk: 'bucket/key#null', state: 'claimed' },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      await put();
      await expect(put()).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
      const got = await dynamodb.documentClient.send(
        new GetCommand({ TableName: 'ledger-test', Key: { pk: 'bucket/key#null' }, ConsistentRead: true }),
      );
      expect(got.Item).toEqual({ pk: 'bucket/key#null', state: 'claimed' });
    } finally {
      await dynamodb.stop();
    }
  });
});

describe('SQS simulator', () => {
  it('hides a received message for the visibility timeout, then delivers it again with a higher receive count', () => {
    const clock = new SimulatedClock(1_000_000);
    const queue = new SqsSimulator({ clock, visibilityTimeoutSeconds: 30 });
    const { messageId } = queue.send('hello');
    const [first] = queue.receive();
    expect(first).toMatchObject({
      messageId,
      body: 'hello',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1000000', ApproximateFirstReceiveTimestamp: '1000000' },
    });
    expect(queue.receive()).toEqual([]);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    clock.advance(29_999);
    expect(queue.receive()).toEqual([]);
    clock.advance(1);
    const [second] = queue.receive();
    expect(second?.attributes.ApproximateReceiveCount).toBe('2');
    expect(second?.attributes.ApproximateFirstReceiveTimestamp).toBe('1000000');

    // The first receipt handle is stale: it does not delete the message.
    expect(queue.delete(first?.receiptHandle ?? '')).toBe(false);
    expect(queue.isEmpty()).toBe(false);
    expect(queue.delete(second?.receiptHandle ?? '')).toBe(true);
    expect(queue.isEmpty()).toBe(true);
  });

  it('delays a message sent with a delay and receives at most the batch size', () => {
    const clock = new SimulatedClock(0);
    const queue = new SqsSimulator({ clock });
    queue.send('later', { delaySeconds: 10 });
    for (let i = 0; i < 12; i++) queue.send(`now-${i}`);
    expect(queue.depth()).toEqual({ visible: 12, inFlight: 0, delayed: 1 });
    const batch = queue.receive({ maxMessages: 10 });
    expect(batch.map((m) => m.body)).toEqual(Array.from({ length: 10 }, (_, i) => `now-${i}`));
    expect(() => queue.receive({ maxMessages: 11 })).toThrow(/maxMessages/);
    clock.advance(10_000);
    expect(queue.receive({ maxMessages: 10 }).map((m) => m.body)).toEqual(['now-10', 'now-11', 'later']);
  });

  it('moves a message to the dead-letter list once it has been received maxReceiveCount times', () => {
    const clock = new SimulatedClock(0);
    const queue = new SqsSimulator({ clock, visibilityTimeoutSeconds: 60, maxReceiveCount: 2 });
    queue.send('poison');
    expect(queue.receive()).toHaveLength(1);
    clock.advance(60_000);
    expect(queue.receive()[0]?.attributes.ApproximateReceiveCount).toBe('2');
    clock.advance(60_000);
    expect(queue.receive()).toEqual([]);
    expect(queue.isEmpty()).toBe(true);
    expect(queue.deadLetters).toEqual([expect.objectContaining({ body: 'poison', receiveCount: 2 })]);
  });

  it('drains through a handler: deletes successes, redelivers reported failures after the timeout, dead-letters the poison message', async () => {
    const clock = new SimulatedClock(0);
    const queue = new SqsSimulator({ clock, visibilityTimeoutSeconds: 120, maxReceiveCount: 3, queueName: 'ingest-test' });
    queue.send('ok-1');
    queue.send('poison');
    queue.send('flaky');
    queue.send('ok-2');
    const seen: Array<{ at: number; bodies: string[]; counts: string[] }> = [];
    let flakyFailures = 0;
    const handler = async (event: SQSEvent) => {
      seen.push({
        at: clock.now(),
        bodies: event.Records.map((r) => r.body),
        counts: event.Records.map((r) => r.attributes.ApproximateReceiveCount),
      });
      const failures = event.Records.filter((r) => r.body === 'poison' || (r.body === 'flaky' && flakyFailures++ === 0));
      return { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) };
    };
    const report = await queue.drainWithLambda(handler, { batchSize: 10, maxRounds: 10 });

    expect(seen[0]).toEqual({ at: 0, bodies: ['ok-1', 'poison', 'flaky', 'ok-2'], counts: ['1', '1', '1', '1'] });
    expect(seen[1]).toEqual({ at: 120_000, bodies: ['poison', 'flaky'], counts: ['2', '2'] });
    expect(seen[2]).toEqual({ at: 240_000, bodies: ['poison'], counts: ['3'] });
    expect(seen).toHaveLength(3);
    expect(report.deleted).toBe(3);
    expect(report.drained).toBe(true);
    expect(report.deadLetters.map((d) => d.body)).toEqual(['poison']);
    expect(report.invocations.map((i) => i.failedMessageIds.length)).toEqual([2, 1, 1]);
  });

  it('builds records shaped like Lambda SQS events', async () => {
    const queue = new SqsSimulator({
      clock: new SimulatedClock(5),
      queueName: 'shape-test',
      region: 'eu-north-1',
      accountId: '123456789012',
    });
    const { messageId } = queue.send('{"a":1}');
    let event: SQSEvent | undefined;
    await queue.drainWithLambda(async (e) => {
      event = e;
    });
    expect(event?.Records[0]).toEqual({
      messageId,
      receiptHandle: expect.any(String),
      body: '{"a":1}',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '5', SenderId: expect.any(String), ApproximateFirstReceiveTimestamp: '5' },
      messageAttributes: {},
      md5OfBody: createHash('md5').update('{"a":1}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-north-1:123456789012:shape-test',
      awsRegion: 'eu-north-1',
    });
    expect(queue.isEmpty()).toBe(true);
  });

  it('fails the whole batch when the handler throws or names a message that is not in the batch', async () => {
    const clock = new SimulatedClock(0);
    const queue = new SqsSimulator({ clock, visibilityTimeoutSeconds: 10, maxReceiveCount: 5 });
    queue.send('a');
    queue.send('b');
    let round = 0;
    const report = await queue.drainWithLambda(async (_event) => {
      round += 1;
      if (round === 1) throw new Error('boom');
      if (round === 2) return { batchItemFailures: [{ itemIdentifier: '' }] };
      return { batchItemFailures: [] };
    });
    expect(report.invocations.map((i) => i.failedMessageIds.length)).toEqual([2, 2, 0]);
    expect(report.invocations[0]?.batchError).toMatch(/boom/);
    expect(report.invocations[1]?.batchError).toMatch(/not a message of this batch/);
    expect(report.drained).toBe(true);
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: 'x' }] }, ['x', 'y']).failed).toEqual(new Set(['x']));
    expect(interpretBatchResponse(undefined, ['x']).failed.size).toBe(0);
  });

  it('stops after maxRounds and leaves what is left in the queue', async () => {
    const queue = new SqsSimulator({ clock: new SimulatedClock(0), maxReceiveCount: 100 });
    queue.send('never succeeds');
    const report = await queue.drainWithLambda(
      async () => {
        throw new Error('down');
      },
      { maxRounds: 4 },
    );
    expect(report.invocations).toHaveLength(4);
    expect(report.drained).toBe(false);
    expect(report.depth.inFlight).toBe(1);
  });

  it('calls beforeRound between deliveries, so a test can change the world while a message is in flight', async () => {
    const queue = new SqsSimulator({ clock: new SimulatedClock(0) });
    queue.send('x');
    const calls: number[] = [];
    let ready = false;
    await queue.drainWithLambda(
      async (event) => (ready ? undefined : { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) }),
      {
        beforeRound: (round) => {
          calls.push(round);
          if (round === 2) ready = true;
        },
      },
    );
    expect(calls).toEqual([1, 2]);
  });
});

describe('the local stack end to end', () => {
  it('turns a tagged file dropped in the inbox into an iBinder document version with identical bytes, once', async () => {
    const stack = await startLocalStack();
    try {
      const { services } = stack;
      const key = 'inbox/e2e/Plan 1. etasje – rev ø.pdf';
      const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(300_000, 0x2a), Buffer.from('\n%%EOF\n')]);
      const { versionId } = await stack.putInboxObject(key, bytes, {
        'ibinder:binder': DEFAULT_SEED_IDS.harbourOffice.binderId,
        'ibinder:folder-path': '01 Architecture/Drawings/Floor plans',
        'ibinder:version': 'B',
        'ibinder:meta:discipline': 'ARC',
      });
      expect(versionId).toBeDefined();

      const report = await stack.drainIngest();
      expect(report.drained).toBe(true);
      expect(report.deadLetters).toEqual([]);

      const ledger = new IngestLedger({ client: services.dynamodb.documentClient, tableName: services.ledgerTable, leaseSeconds: 900 });
      const entry = await ledger.get({ bucket: services.inboxBucket, key, versionId });
      expect(entry?.state).toBe('committed');
      if (entry?.state !== 'committed') return;
      const version = services.emulator.state.getVersion(entry.versionIds.versionId ?? '');
      expect(version?.version).toBe('B');
      const stored = await services.emulator.state.versionContent(entry.versionIds.versionId ?? '');
      expect(stored).toEqual({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
      expect(services.emulator.state.getDocument(entry.versionIds.documentId ?? '')).toMatchObject({
        fileName: 'Plan 1. etasje – rev ø.pdf',
        folderId: DEFAULT_SEED_IDS.harbourOffice.folders.floorPlans,
      });
      // Disposition `delete`: the inbox version is gone once it is in iBinder.
      await expect(services.s3.client.send(new HeadObjectCommand({ Bucket: services.inboxBucket, Key: key }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });

      // The same notification again: acknowledged, no second version.
      stack.queue.send(stack.notifications.lastFor(key)?.body ?? '');
      const again = await stack.drainIngest();
      expect(again.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
      expect(services.emulator.state.listVersions(entry.versionIds.documentId ?? '')).toHaveLength(1);
      expect(stack.metrics.ingested).toBe(1);
    } finally {
      await stack.stop();
    }
  });
});
