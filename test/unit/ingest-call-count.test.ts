/**
 * The calls one small file costs on the happy path, counted at the clients: S3 and DynamoDB
 * through aws-sdk-client-mock (the real IngestLedger over a mocked document client), iBinder
 * through the fake client's per-method counts. The binder's schema and folders are warm (a
 * first file read them), as they are for every file after the first of a warm function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
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

describe('one small file on the happy path', () => {
  it('costs 3 iBinder round trips (presign, PUT, commit) and 9 AWS calls, with the schema and folders warm', async () => {
    setup();
    for (const key of ['inbox/first.pdf', 'inbox/second.pdf']) serveInboxObject(s3, { key, versionId: `v-${key}`, tags: TAGS });
    expect(await processObjectRecord(event('inbox/first.pdf', '0A'), 'msg-1', deps)).toMatchObject({ status: 'committed' });
    s3.resetHistory();
    ddb.resetHistory();
    const before = iBinderCalls();

    expect(await processObjectRecord(event('inbox/second.pdf', '0B'), 'msg-2', deps)).toMatchObject({ status: 'committed' });

    const after = iBinderCalls();
    const iBinder = Object.fromEntries(
      Object.entries(after)
        .map(([method, n]) => [method, n - (before[method] ?? 0)])
        .filter(([, n]) => Number(n) > 0),
    );
    expect(iBinder).toEqual(Object.fromEntries(UPLOAD_METHODS.map((m) => [m, 1])));

    const s3Calls = s3
      .calls()
      .map((c) => c.args[0].constructor.name)
      .sort();
    // A small object's head and bytes come in one GetObject.
    expect(s3Calls).toEqual(['DeleteObjectCommand', 'GetObjectCommand', 'GetObjectTaggingCommand']);
    // No ledger read before the claim: the one read is the key's order, beside the object's head.
    expect(ddb.commandCalls(GetCommand).map((c) => String(c.args[0].input.Key?.pk))).toEqual(['key#inbox-bucket#inbox/second.pdf']);
    // claim, upload id + plan, transferred, key lease + sequencer (one write); then the commit
    // record and the lease's release in one transaction.
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(4);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(s3Calls.length + ddb.calls().length).toBe(9);
  });

  it('reads the head, the tags and the key order at once, before either answers', async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/slow.pdf', versionId: 'v-inbox/slow.pdf', tags: TAGS });
    let headAnswered = false;
    const startedBeforeHeadAnswered: string[] = [];
    s3.on(GetObjectCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      headAnswered = true;
      return {
        Body: Readable.from([Buffer.from('hello, iBinder')]) as never,
        ContentLength: Buffer.byteLength('hello, iBinder'),
        ContentType: 'application/pdf',
        LastModified: new Date('2025-01-15T08:00:00Z'),
        VersionId: 'v-inbox/slow.pdf',
        Metadata: {},
      };
    });
    s3.on(GetObjectTaggingCommand).callsFake(() => {
      if (!headAnswered) startedBeforeHeadAnswered.push('tags');
      return { TagSet: TAGS };
    });
    ddb.on(GetCommand).callsFake(() => {
      if (!headAnswered) startedBeforeHeadAnswered.push('key order');
      return {};
    });

    const outcome = await processObjectRecord(event('inbox/slow.pdf', '0C'), 'msg-3', deps);
    expect(outcome).toMatchObject({ status: 'committed' });
    expect(startedBeforeHeadAnswered.sort()).toEqual(['key order', 'tags']);
  });

  it("records the commit and gives the key's commit lease up in one transaction", async () => {
    setup();
    serveInboxObject(s3, { key: 'inbox/order.pdf', versionId: 'v-inbox/order.pdf', tags: TAGS });
    expect(await processObjectRecord(event('inbox/order.pdf', '0D'), 'msg-4', deps)).toMatchObject({ status: 'committed' });
    const items = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems ?? [];
    expect(items.map((i) => [i.Update?.Key?.pk, String(i.Update?.UpdateExpression).split(' ').slice(0, 2).join(' ')])).toEqual([
      ['inbox-bucket/inbox/order.pdf#v-inbox/order.pdf', 'SET #state'],
      ['key#inbox-bucket#inbox/order.pdf', 'REMOVE #leaseOwner,'],
    ]);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(1);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
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
