/**
 * The calls one small file costs on the happy path, counted at the clients: S3 and DynamoDB
 * through aws-sdk-client-mock (the real IngestLedger over a mocked document client), iBinder
 * through the fake client's per-method counts. The binder's schema and folders are warm (a
 * first file read them), as they are for every file after the first of a warm function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { SMALL_OBJECT_BYTES } from '../../functions/ingest/object-store.js';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, BUCKET, makeConfig, makeDeps, serveInboxObject, type TestDeps } from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const ddb = mockClient(DynamoDBDocumentClient);
const NOW = new Date('2025-01-15T09:00:00Z');
const TAGS = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
];

/** A few seconds before NOW: an event arrives seconds after its upload. */
const JUST_UPLOADED = new Date(NOW.getTime() - 5_000);

/** The message's first delivery, as SQS counts it (what processBatch passes on). */
const FIRST_DELIVERY = { receiveCount: 1 };

/** The iBinder client methods that are a round trip of the upload itself. */
const UPLOAD_METHODS = ['createPresignedUpload', 'putPresigned', 'commitUpload'] as const;

function event(key: string, sequencer: string): S3ObjectEvent {
  return {
    eventName: 'ObjectCreated:Put',
    created: true,
    bucket: BUCKET,
    key,
    rawKey: key,
    versionId: `v-${key}`,
    size: 2048,
    sequencer,
    source: 's3',
  };
}

/** DynamoDB answers as a table would for a new object: the claim returns its item, nothing else is there. */
function answerAsAnEmptyTable(): void {
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => answerFor(input));
  ddb.on(GetCommand).resolves({});
  ddb.on(TransactWriteCommand).resolves({});
}

let client: FakeIBinderClient;
let deps: TestDeps;

function setup(): void {
  client = new FakeIBinderClient(BINDERS);
  const base = makeDeps({ client, config: makeConfig(), now: () => NOW });
  const ledger = new IngestLedger({
    client: DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    ),
    tableName: 'ledger',
    leaseSeconds: 900,
    now: () => NOW.getTime(),
  });
  deps = { ...base, ledger: ledger as unknown as TestDeps['ledger'] };
  answerAsAnEmptyTable();
}

function iBinderCalls(): Record<string, number> {
  return { ...client.calls };
}

beforeEach(() => {
  s3.reset();
  ddb.reset();
});

/** The AWS calls of the last record, by command name, sorted. */
function awsCalls(): string[] {
  return [...s3.calls(), ...ddb.calls()].map((c) => c.args[0].constructor.name).sort();
}

/** What the fake iBinder client was asked since `before`, per method. */
function iBinderSince(before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(iBinderCalls())
      .map(([method, n]) => [method, n - (before[method] ?? 0)])
      .filter(([, n]) => Number(n) > 0),
  );
}

/** The target of the happy path: at most this many AWS calls per small file, on an endpoint with transactions. */
const AWS_CALLS_PER_SMALL_FILE = 5;

describe('one small file on the happy path', () => {
  it(`costs 3 iBinder round trips (presign, PUT, commit) and at most ${AWS_CALLS_PER_SMALL_FILE} AWS calls on its first delivery, with the schema and folders warm`, async () => {
    setup();
    for (const key of ['inbox/first.pdf', 'inbox/second.pdf'])
      serveInboxObject(s3, { key, versionId: `v-${key}`, tags: TAGS, lastModified: JUST_UPLOADED });
    expect(await processObjectRecord(event('inbox/first.pdf', '0A'), 'msg-1', deps, FIRST_DELIVERY)).toMatchObject({
      status: 'committed',
    });
    s3.resetHistory();
    ddb.resetHistory();
    const before = iBinderCalls();

    expect(await processObjectRecord(event('inbox/second.pdf', '0B'), 'msg-2', deps, FIRST_DELIVERY)).toMatchObject({
      status: 'committed',
    });

    expect(iBinderSince(before)).toEqual(Object.fromEntries(UPLOAD_METHODS.map((m) => [m, 1])));
    // The object read once (head and bytes), its tags; the claim with the transfer's record and
    // the key's commit lease in one transaction; the commit record with the lease's release in
    // another; the delete. No ledger read, no claim up front.
    expect(awsCalls()).toEqual([
      'DeleteObjectCommand',
      'GetObjectCommand',
      'GetObjectTaggingCommand',
      'TransactWriteCommand',
      'TransactWriteCommand',
    ]);
    expect(awsCalls().length).toBeLessThanOrEqual(AWS_CALLS_PER_SMALL_FILE);
  });

  it('claims with the transfer only where the ledger has no entry, and takes the key order in the same transaction', async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/order.pdf', versionId: 'v-inbox/order.pdf', tags: TAGS, lastModified: JUST_UPLOADED });
    expect(await processObjectRecord(event('inbox/order.pdf', '0D'), 'msg-4', deps, FIRST_DELIVERY)).toMatchObject({
      status: 'committed',
    });
    const [claim, commit] = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems ?? []);
    expect(claim?.map((i) => [i.Update?.Key?.pk, i.Update?.ConditionExpression, i.Update?.ReturnValuesOnConditionCheckFailure])).toEqual([
      ['inbox-bucket/inbox/order.pdf#v-inbox/order.pdf', 'attribute_not_exists(#pk)', 'ALL_OLD'],
      [
        'key#inbox-bucket#inbox/order.pdf',
        '(attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now OR #leaseOwner = :owner) AND attribute_not_exists(#committedSequencer)',
        'ALL_OLD',
      ],
    ]);
    expect(claim?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':true': true, ':uploadId': client.transfers[0]?.uploadId });
    expect(claim?.[1]?.Update?.ExpressionAttributeValues).toMatchObject({ ':sequencer': '0D', ':owner': 'msg-4' });
    expect(commit?.map((i) => [i.Update?.Key?.pk, String(i.Update?.UpdateExpression).split(' ').slice(0, 2).join(' ')])).toEqual([
      ['inbox-bucket/inbox/order.pdf#v-inbox/order.pdf', 'SET #state'],
      ['key#inbox-bucket#inbox/order.pdf', 'REMOVE #leaseOwner,'],
    ]);
  });

  it('claims up front on a redelivery (or when the receive count is unknown): one call more', async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/again.pdf', versionId: 'v-inbox/again.pdf', tags: TAGS, lastModified: JUST_UPLOADED });
    expect(await processObjectRecord(event('inbox/again.pdf', '0E'), 'msg-5', deps, { receiveCount: 2 })).toMatchObject({
      status: 'committed',
    });
    expect(awsCalls()).toEqual([
      'DeleteObjectCommand',
      'GetObjectCommand',
      'GetObjectTaggingCommand',
      'TransactWriteCommand',
      'TransactWriteCommand',
      'UpdateCommand',
    ]);
    // The claim, then the transfer's record under it with the key's order, in one transaction.
    const [transfer] = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems ?? []);
    expect(transfer?.[0]?.Update?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
  });

  it('heads and streams a file larger than SMALL_OBJECT_BYTES, claimed up front', async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/large.pdf', versionId: 'v-inbox/large.pdf', tags: TAGS, lastModified: JUST_UPLOADED });
    const large = { ...event('inbox/large.pdf', '0F'), size: SMALL_OBJECT_BYTES + 1 };
    // The mocked object is small whatever the event says: only the calls are looked at.
    await processObjectRecord(large, 'msg-6', deps, FIRST_DELIVERY);
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('reads the head (with the bytes) and the tags at once, before either answers, and reads no key order', async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/slow.pdf', versionId: 'v-inbox/slow.pdf', tags: TAGS, lastModified: JUST_UPLOADED });
    let headAnswered = false;
    const startedBeforeHeadAnswered: string[] = [];
    s3.on(GetObjectCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      headAnswered = true;
      return {
        Body: Readable.from([Buffer.from('hello, iBinder')]) as never,
        ContentLength: Buffer.byteLength('hello, iBinder'),
        ContentType: 'application/pdf',
        LastModified: JUST_UPLOADED,
        VersionId: 'v-inbox/slow.pdf',
        Metadata: {},
      };
    });
    s3.on(GetObjectTaggingCommand).callsFake(() => {
      if (!headAnswered) startedBeforeHeadAnswered.push('tags');
      return { TagSet: TAGS };
    });

    const outcome = await processObjectRecord(event('inbox/slow.pdf', '0C'), 'msg-3', deps, FIRST_DELIVERY);
    expect(outcome).toMatchObject({ status: 'committed' });
    expect(startedBeforeHeadAnswered).toEqual(['tags']);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

/** The answer answerAsAnEmptyTable gives, for a test that wraps some writes itself. */
function answerFor(input: UpdateCommandInput): Record<string, unknown> {
  const values = input.ExpressionAttributeValues ?? {};
  if (!String(input.UpdateExpression).includes('#claimToken = :claimToken')) return {};
  return {
    Attributes: {
      pk: input.Key?.pk,
      bucket: values[':bucket'],
      objectKey: values[':objectKey'],
      objectVersionId: values[':objectVersionId'],
      updatedAt: values[':nowIso'],
      expiresAt: values[':ttl'],
      state: 'claimed',
      owner: values[':owner'],
      claimToken: values[':claimToken'],
      leaseExpiresAt: values[':lease'],
      attempts: 1,
      claimedAt: values[':nowIso'],
      transferred: false,
    },
  };
}
