/**
 * The ingest ledger's transfer record with the key's commit order in one transaction
 * (recordTransfer, and claimTransferred for a small file sent before its claim), over a mocked
 * DynamoDB: what is written when every condition holds, how a cancellation's reasons (with the
 * items as they are, ALL_OLD) are told apart, and the one-write-per-item fallback of a local
 * server without transactions.
 */
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AllOrNothingWriter, conditionalUpdateItem } from '../../shared/export/all-or-nothing-writes.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { type CommitPlan, LedgerConflictError, type ObjectRef } from '../../shared/ledger/types.js';

const NOW = Date.parse('2025-01-15T09:00:00Z');
const REF: ObjectRef = { bucket: 'inbox-bucket', key: 'inbox/a.pdf', versionId: 'v1' };
const PK = 'inbox-bucket/inbox/a.pdf#v1';
const KEY_PK = 'key#inbox-bucket#inbox/a.pdf';
const PLAN: CommitPlan = { connector: 'ibinder', fileName: 'a.pdf', target: { binderId: 'B', folderId: 'F' }, metadata: [] };
const UPLOAD = { uploadId: 'up-1', plan: PLAN };
const ORDER = { owner: 'msg-1', sequencer: '0B' };
const LEASE = { owner: 'msg-1', token: 'token-1' };

const ddb = mockClient(DynamoDBDocumentClient);

function ledger(): IngestLedger {
  let tokens = 0;
  return new IngestLedger({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-north-1' })),
    tableName: 'ledger',
    leaseSeconds: 900,
    now: () => NOW,
    newClaimToken: () => `token-${++tokens}`,
  });
}

function entry(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    pk: PK,
    bucket: REF.bucket,
    objectKey: REF.key,
    objectVersionId: 'v1',
    updatedAt: '2025-01-15T08:00:00.000Z',
    expiresAt: 2_000_000_000,
    ...extra,
  };
}

/** DynamoDB's answer to a cancelled transaction: one reason per item, the item as it is where ALL_OLD was asked. */
function cancelled(...reasons: ({ Code: string; Item?: Record<string, unknown> } | undefined)[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: reasons.map((r) =>
      r === undefined ? { Code: 'None' } : { Code: r.Code, ...(r.Item ? { Item: marshall(r.Item) } : {}) },
    ),
  });
}

function transactions(): NonNullable<TransactWriteCommand['input']['TransactItems']>[] {
  return ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.TransactItems ?? []);
}

beforeEach(() => ddb.reset());

describe('IngestLedger.claimTransferred', () => {
  it('claims a new object with its transferred upload and takes the key order in one transaction', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const result = await ledger().claimTransferred(REF, 'msg-1', UPLOAD, ORDER);
    expect(result).toMatchObject({
      outcome: 'claimed',
      lease: { owner: 'msg-1', token: 'token-1' },
      entry: { state: 'claimed', transferred: true, uploadId: 'up-1', commitPlan: PLAN, attempts: 1, claimToken: 'token-1' },
      keyOrder: { outcome: 'acquired', lease: { owner: 'msg-1', token: 'token-2' }, previousSequencer: undefined },
    });
    expect(ddb.calls()).toHaveLength(1);
    const [items] = transactions();
    expect(items?.map((i) => [i.Update?.Key?.pk, i.Update?.ConditionExpression])).toEqual([
      [PK, 'attribute_not_exists(#pk)'],
      [KEY_PK, expect.stringContaining('attribute_not_exists(#committedSequencer)')],
    ]);
    expect(items?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':uploadId': 'up-1', ':true': true, ':owner': 'msg-1' });
  });

  it('writes nothing for an object the ledger knows, and says what it holds without reading it', async () => {
    const committed = entry({
      state: 'committed',
      committedAt: 'x',
      connector: 'ibinder',
      versionIds: { documentId: 'd', versionId: 'v' },
    });
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'ConditionalCheckFailed', Item: committed }, { Code: 'None' }));
    const result = await ledger().claimTransferred(REF, 'msg-1', UPLOAD, ORDER);
    expect(result).toMatchObject({ outcome: 'known', entry: { state: 'committed' } });
    expect(ddb.calls()).toHaveLength(1);
  });

  it('without a key order, claims with one conditional update', async () => {
    ddb.on(UpdateCommand).resolves({});
    expect(await ledger().claimTransferred(REF, 'msg-1', UPLOAD)).toMatchObject({ outcome: 'claimed' });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('claims all the same when another upload of the key holds its lease, and says the key is busy', async () => {
    const busyKey = { pk: KEY_PK, leaseOwner: 'msg-other', leaseToken: 't', leaseExpiresAt: NOW + 60_000 };
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: busyKey }));
    ddb.on(UpdateCommand).resolves({});
    const result = await ledger().claimTransferred(REF, 'msg-1', UPLOAD, ORDER);
    expect(result).toMatchObject({ outcome: 'claimed', keyOrder: { outcome: 'busy', owner: 'msg-other' } });
    // The claim with the transfer alone, so that a redelivery resumes without sending the bytes again.
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key)).toEqual([{ pk: PK }]);
  });
});

describe('IngestLedger.recordTransfer', () => {
  it("records the transfer under the caller's claim and the key order in one transaction", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const result = await ledger().recordTransfer(REF, LEASE, UPLOAD, ORDER);
    expect(result.keyOrder).toMatchObject({ outcome: 'acquired' });
    const [items] = transactions();
    expect(items?.[0]?.Update?.ConditionExpression).toBe('#state = :claimed AND #owner = :owner AND #claimToken = :claimToken');
    expect(items?.[0]?.Update?.UpdateExpression).toMatch(/#transferred = :true.*REMOVE #commitStarted$/);
    expect(items?.map((i) => i.Update?.ReturnValuesOnConditionCheckFailure)).toEqual(['ALL_OLD', 'ALL_OLD']);
    expect(ddb.calls()).toHaveLength(1);
  });

  it('writes nothing, the key lease neither, when the claim was lost: a LedgerConflictError naming the holder', async () => {
    const other = entry({
      state: 'claimed',
      owner: 'msg-other',
      claimToken: 't',
      leaseExpiresAt: NOW + 60_000,
      attempts: 2,
      claimedAt: 'x',
    });
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'ConditionalCheckFailed', Item: other }, { Code: 'None' }));
    const err = await ledger()
      .recordTransfer(REF, LEASE, UPLOAD, ORDER)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerConflictError);
    expect((err as Error).message).toContain('claimed by message msg-other');
    expect(ddb.calls()).toHaveLength(1);
  });

  it('tries again expecting an older committed sequencer of the key (its second upload)', async () => {
    const older = { pk: KEY_PK, committedSequencer: '0A' };
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: older }))
      .resolves({});
    const result = await ledger().recordTransfer(REF, LEASE, UPLOAD, ORDER);
    expect(result.keyOrder).toMatchObject({ outcome: 'acquired', previousSequencer: '0A' });
    const [, second] = transactions();
    expect(second?.[1]?.Update?.ConditionExpression).toContain('#committedSequencer = :expected');
    expect(second?.[1]?.Update?.ExpressionAttributeValues).toMatchObject({ ':expected': '0A', ':sequencer': '0B' });
    expect(ddb.calls()).toHaveLength(2);
  });

  it('records the transfer alone and says superseded when a newer upload of the key is recorded', async () => {
    const newer = { pk: KEY_PK, committedSequencer: '0C' };
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: newer }));
    ddb.on(UpdateCommand).resolves({});
    const result = await ledger().recordTransfer(REF, LEASE, UPLOAD, ORDER);
    expect(result.keyOrder).toEqual({ outcome: 'superseded', newerSequencer: '0C' });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('reads the key item when the server returned none with the cancellation', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed' }));
    ddb.on(GetCommand).resolves({ Item: { pk: KEY_PK, leaseOwner: 'msg-other', leaseToken: 't', leaseExpiresAt: NOW + 1 } });
    ddb.on(UpdateCommand).resolves({});
    expect((await ledger().recordTransfer(REF, LEASE, UPLOAD, ORDER)).keyOrder).toMatchObject({ outcome: 'busy' });
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input.Key)).toEqual([{ pk: KEY_PK }]);
  });

  it('without transactions (a local server), writes the transfer first, then the key order, with the same conditions', async () => {
    ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('unknown operation'), { name: 'UnknownOperationException' }));
    ddb.on(UpdateCommand).resolves({});
    const result = await ledger().recordTransfer(REF, LEASE, UPLOAD, ORDER);
    expect(result.keyOrder).toMatchObject({ outcome: 'acquired' });
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input.Key)).toEqual([{ pk: PK }, { pk: KEY_PK }]);
  });
});

describe('AllOrNothingWriter cancellation reasons', () => {
  it('hands back the items DynamoDB returned (ALL_OLD), by item index, in plain form', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled({ Code: 'None' }, { Code: 'ConditionalCheckFailed', Item: { pk: 'b', n: 2 } }));
    const writer = new AllOrNothingWriter(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-north-1' })));
    const item = (pk: string) =>
      conditionalUpdateItem({
        tableName: 't',
        key: { pk },
        update: 'SET #n = :n',
        condition: 'attribute_exists(#n)',
        names: { '#n': 'n' },
        values: { ':n': 1 },
        returnCurrentOnFailure: true,
      });
    expect(await writer.write([item('a'), item('b')])).toEqual({
      kind: 'conditions-failed',
      failedIndexes: [1],
      currentItems: [undefined, { pk: 'b', n: 2 }],
    });
    expect(ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.[1]?.Update?.ReturnValuesOnConditionCheckFailure).toBe(
      'ALL_OLD',
    );
  });
});
