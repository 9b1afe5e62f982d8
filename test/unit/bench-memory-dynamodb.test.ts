/**
 * The small-file bench's in-memory DynamoDB, through the real SDK clients: the ingest ledger's
 * claims, transfers, commits and rejections with DynamoDB's conditional semantics (a failed
 * condition returning the item, a cancelled transaction applying nothing), the expression subset
 * it evaluates, and the refusal by name of anything else.
 */
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MemoryDynamoDb, startMemoryDynamoDb } from '../../bench/memory-dynamodb.js';
import { createDocumentClient } from '../../shared/aws/clients.js';
import { AllOrNothingWriter, conditionalPutItem, conditionalUpdateItem } from '../../shared/export/all-or-nothing-writes.js';
import { expressionAttributes } from '../../shared/ledger/conditional-write.js';
import { ExportLedger } from '../../shared/ledger/export-ledger.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { type CommitPlan, keyOrderKey, LedgerConflictError, ledgerKey, type ObjectRef } from '../../shared/ledger/types.js';

const TABLE = 'ledger';
const LEASE_MS = 60_000;
const PLAN: CommitPlan = { connector: 'ibinder', fileName: 'a.pdf', target: { binderId: 'B', folderId: 'F' }, metadata: [] };
const COMMIT = { version: { connector: 'ibinder' as const, ids: { documentId: 'doc-1', versionId: 'ver-1' } } };

let db: MemoryDynamoDb;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  db = await startMemoryDynamoDb({ tables: [TABLE] });
  client = new DynamoDBClient({
    endpoint: db.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  doc = createDocumentClient(client);
});
afterAll(async () => {
  client.destroy();
  await db.stop();
});

let objects = 0;
/** A fresh object per test: the tables live as long as the server. */
const newRef = (): ObjectRef => ({ bucket: 'inbox', key: `inbox/object-${++objects}.pdf`, versionId: 'v1' });
let pks = 0;
const newPk = (): string => `item-${++pks}`;

/** A ledger whose clock the test moves, with tokens token-1, token-2, ... */
function ledgerAt(start = Date.parse('2025-01-15T09:00:00Z')) {
  const clock = { now: start };
  let tokens = 0;
  const ledger = new IngestLedger({
    client: doc,
    tableName: TABLE,
    leaseSeconds: LEASE_MS / 1000,
    now: () => clock.now,
    newClaimToken: () => `token-${++tokens}`,
  });
  return { ledger, clock };
}

const getItem = async (pk: string) => (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk }, ConsistentRead: true }))).Item;

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error & Record<string, unknown>;
}

describe('the ingest ledger on the in-memory DynamoDB', () => {
  it('claims an object, refuses a second claim while the lease is held, and hands it over once the lease expired', async () => {
    const { ledger, clock } = ledgerAt();
    const ref = newRef();
    const first = await ledger.claim(ref, 'msg-1');
    expect(first).toMatchObject({
      outcome: 'claimed',
      lease: { owner: 'msg-1', token: 'token-1' },
      entry: { state: 'claimed', attempts: 1, transferred: false, leaseExpiresAt: clock.now + LEASE_MS },
    });
    if (first.outcome !== 'claimed') throw new Error('expected a claim');
    await ledger.markTransferred(ref, first.lease, { uploadId: 'up-1', plan: PLAN });

    // The failed write returns the holder (ALL_OLD): no second read.
    db.reset();
    expect(await ledger.claim(ref, 'msg-2')).toMatchObject({ outcome: 'busy', entry: { owner: 'msg-1' } });
    expect(db.counts()).toEqual({ UpdateItem: 1 });

    clock.now += LEASE_MS + 1;
    const takeover = await ledger.claim(ref, 'msg-2');
    // The new owner resumes the upload: attempts counted on, the first claim's time and the transfer kept.
    expect(takeover).toMatchObject({
      outcome: 'claimed',
      lease: { owner: 'msg-2', token: 'token-3' },
      entry: { attempts: 2, claimedAt: '2025-01-15T09:00:00.000Z', uploadId: 'up-1', transferred: true, commitPlan: PLAN },
    });
    // The first claimant's late write fails on its token.
    const late = await failure(ledger.markCommitted(ref, first.lease, COMMIT));
    expect(late).toBeInstanceOf(LedgerConflictError);
    expect(late.message).toContain('claimed by message msg-2');
  });

  it('claims a transferred object with its key order in one transaction, then commits it and frees the key in another', async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    db.reset();
    const claim = await ledger.claimTransferred(ref, 'msg-1', { uploadId: 'up-1', plan: PLAN }, { owner: 'msg-1', sequencer: '0B' });
    expect(claim).toMatchObject({ outcome: 'claimed', keyOrder: { outcome: 'acquired', previousSequencer: undefined } });
    if (claim.outcome !== 'claimed' || claim.keyOrder?.outcome !== 'acquired') throw new Error('expected a claim and the key');
    await ledger.markCommittedReleasingKeyCommit(ref, claim.lease, COMMIT, claim.keyOrder.lease);
    // The bench's happy path: two transactions a file, nothing else.
    expect(db.counts()).toEqual({ TransactWriteItems: 2 });

    const committed = await ledger.get(ref);
    expect(committed).toMatchObject({ state: 'committed', versionIds: COMMIT.version.ids, uploadId: 'up-1' });
    expect(await getItem(ledgerKey(ref))).not.toHaveProperty('leaseExpiresAt');
    expect(await getItem(keyOrderKey(ref.bucket, ref.key))).toEqual({
      pk: keyOrderKey(ref.bucket, ref.key),
      committedSequencer: '0B',
      updatedAt: '2025-01-15T09:00:00.000Z',
      expiresAt: expect.any(Number),
    });
    expect(await ledger.claim(ref, 'msg-2')).toMatchObject({ outcome: 'committed' });
    expect(await ledger.acquireKeyCommit(ref.bucket, ref.key, 'msg-3')).toMatchObject({ outcome: 'acquired', committedSequencer: '0B' });
  });

  it('writes nothing for an object the ledger knows: the cancelled transaction returns its entry and leaves the key alone', async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    await ledger.claim(ref, 'msg-1');
    db.reset();
    const result = await ledger.claimTransferred(ref, 'msg-2', { uploadId: 'up-2', plan: PLAN }, { owner: 'msg-2', sequencer: '0B' });
    expect(result).toMatchObject({ outcome: 'known', entry: { state: 'claimed', owner: 'msg-1' } });
    expect(db.counts()).toEqual({ TransactWriteItems: 1 });
    expect(await getItem(keyOrderKey(ref.bucket, ref.key))).toBeUndefined();
    expect(await getItem(ledgerKey(ref))).not.toHaveProperty('uploadId');
  });

  it("records a transfer after a key's older commit (tried again expecting it), and a transfer superseded by a newer one", async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    const older = await ledger.acquireKeyCommitInOrder(ref.bucket, ref.key, 'msg-0', '0A');
    if (older.outcome !== 'acquired') throw new Error('expected the key');
    await ledger.releaseKeyCommit(older.lease);

    const claim = await ledger.claim(ref, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    db.reset();
    const recorded = await ledger.recordTransfer(ref, claim.lease, { uploadId: 'up-1', plan: PLAN }, { owner: 'msg-1', sequencer: '0B' });
    expect(recorded.keyOrder).toMatchObject({ outcome: 'acquired', previousSequencer: '0A' });
    expect(db.counts()).toEqual({ TransactWriteItems: 2 });
    if (recorded.keyOrder.outcome !== 'acquired') throw new Error('unreachable');
    await ledger.releaseKeyCommit(recorded.keyOrder.lease);

    const stale = { ...ref, versionId: 'v0' };
    const staleClaim = await ledger.claim(stale, 'msg-2');
    if (staleClaim.outcome !== 'claimed') throw new Error('expected a claim');
    const superseded = await ledger.recordTransfer(
      stale,
      staleClaim.lease,
      { uploadId: 'up-0', plan: PLAN },
      { owner: 'msg-2', sequencer: '09' },
    );
    expect(superseded.keyOrder).toEqual({ outcome: 'superseded', newerSequencer: '0B' });
    // The transfer is recorded all the same; the key keeps the newer sequencer.
    expect(await ledger.get(stale)).toMatchObject({ state: 'claimed', uploadId: 'up-0', transferred: true });
    expect(await ledger.committedSequencer(ref.bucket, ref.key)).toBe('0B');
  });

  it('commits under the claim, takes the same commit again for success, and names both versions of another', async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    const claim = await ledger.claim(ref, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    await ledger.markCommitted(ref, claim.lease, { ...COMMIT, uploadId: 'up-1' });
    await expect(ledger.markCommitted(ref, claim.lease, COMMIT)).resolves.toBeUndefined();
    const other = await failure(
      ledger.markCommitted(ref, claim.lease, { version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-2' } } }),
    );
    expect(other).toBeInstanceOf(LedgerConflictError);
    expect(other.message).toMatch(/versionId=ver-2: the ledger already records ibinder documentId=doc-1 versionId=ver-1/);
    expect(await ledger.get(ref)).toMatchObject({ state: 'committed', uploadId: 'up-1' });
  });

  it('records a rejection under the claim only, once, and a later claim sees it', async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    const problem = { code: 'tags' as const, field: 'ibinder:folder', message: 'missing', fix: 'tag it' };
    const stranger = { owner: 'msg-9', token: 'token-9' };
    const claim = await ledger.claim(ref, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    expect(await failure(ledger.markRejected(ref, stranger, [problem]))).toBeInstanceOf(LedgerConflictError);

    await ledger.markRejected(ref, claim.lease, [problem], 'rejected/object.pdf');
    await expect(ledger.markRejected(ref, stranger, [problem])).resolves.toBeUndefined();
    expect(await ledger.get(ref)).toMatchObject({ state: 'rejected', reasons: [problem], rejectedKey: 'rejected/object.pdf' });
    expect(await getItem(ledgerKey(ref))).not.toHaveProperty('leaseExpiresAt');
    expect(await ledger.claim(ref, 'msg-2')).toMatchObject({ outcome: 'rejected' });
  });

  it('marks a commit under way for the transferred upload only, and a new transfer drops the mark', async () => {
    const { ledger } = ledgerAt();
    const ref = newRef();
    const claim = await ledger.claim(ref, 'msg-1');
    if (claim.outcome !== 'claimed') throw new Error('expected a claim');
    await ledger.markTransferred(ref, claim.lease, { uploadId: 'up-1', plan: PLAN });
    expect(await failure(ledger.markCommitStarted(ref, claim.lease, 'up-other'))).toBeInstanceOf(LedgerConflictError);
    await ledger.markCommitStarted(ref, claim.lease, 'up-1', { versionCount: '1' });
    expect(await ledger.get(ref)).toMatchObject({ commitStarted: { uploadId: 'up-1', context: { versionCount: '1' } } });
    await ledger.markTransferred(ref, claim.lease, { uploadId: 'up-2', plan: PLAN });
    expect(await ledger.get(ref)).toMatchObject({ uploadId: 'up-2' });
    expect(await getItem(ledgerKey(ref))).not.toHaveProperty('commitStarted');
  });
});

describe('expressions', () => {
  const update = (pk: string, expression: string, names: Record<string, string>, values?: Record<string, unknown>, condition?: string) =>
    doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk },
        UpdateExpression: expression,
        ...(condition !== undefined ? { ConditionExpression: condition } : {}),
        // Only the placeholders the expressions use, as the ledger sends them (the server refuses others).
        ...expressionAttributes(condition === undefined ? [expression] : [expression, condition], { names, values }, 'the test update'),
        ReturnValues: 'ALL_NEW',
      }),
    );

  it('adds to if_not_exists, reading every operand from the item as it was', async () => {
    const pk = newPk();
    const count = () => update(pk, 'SET #n = if_not_exists(#n, :zero) + :one', { '#n': 'n' }, { ':zero': 0, ':one': 1 });
    expect((await count()).Attributes).toEqual({ pk, n: 1 });
    expect((await count()).Attributes).toEqual({ pk, n: 2 });
    const both = await update(pk, 'SET #n = #n - :one, #was = #n', { '#n': 'n', '#was': 'was' }, { ':one': 1 });
    expect(both.Attributes).toEqual({ pk, n: 1, was: 2 });
  });

  it('removes attributes alongside a SET, and leaves missing ones be', async () => {
    const pk = newPk();
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, a: 'a', b: 'b', c: 'c' } }));
    const out = await update(pk, 'SET #a = :a REMOVE #b, #missing', { '#a': 'a', '#b': 'b', '#missing': 'missing' }, { ':a': 'A' });
    expect(out.Attributes).toEqual({ pk, a: 'A', c: 'c' });
  });

  it('ADDs to a number and to a set, creating a missing attribute, and DELETEs set members, removing an emptied set', async () => {
    const pk = newPk();
    const add = (values: Record<string, unknown>) =>
      update(pk, 'SET #at = :at ADD #n :n, #tags :tags', { '#at': 'at', '#n': 'n', '#tags': 'tags' }, { ':at': 't', ...values });
    expect((await add({ ':n': 2, ':tags': new Set(['a', 'b']) })).Attributes).toEqual({ pk, at: 't', n: 2, tags: new Set(['a', 'b']) });
    expect((await add({ ':n': 3, ':tags': new Set(['b', 'c']) })).Attributes).toEqual({
      pk,
      at: 't',
      n: 5,
      tags: new Set(['a', 'b', 'c']),
    });
    const take = (members: string[]) => update(pk, 'DELETE #tags :gone', { '#tags': 'tags' }, { ':gone': new Set(members) });
    expect((await take(['a', 'x'])).Attributes).toEqual({ pk, at: 't', n: 5, tags: new Set(['b', 'c']) });
    expect((await take(['b', 'c'])).Attributes).toEqual({ pk, at: 't', n: 5 });
    // DELETE from a missing set changes nothing; ADD of a string, or of a number to a set, is refused as DynamoDB refuses it.
    expect((await take(['b'])).Attributes).toEqual({ pk, at: 't', n: 5 });
    await expect(update(pk, 'ADD #n :s', { '#n': 'n' }, { ':s': 'text' })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(update(pk, 'ADD #at :one', { '#at': 'at' }, { ':one': 1 })).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(update(pk, 'ADD #n #n', { '#n': 'n' })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('takes a :value'),
    });
  });

  it('binds NOT tighter than AND, and AND tighter than OR; parentheses group', async () => {
    const pk = newPk();
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, a: 1, b: 2 } }));
    const names = { '#a': 'a', '#b': 'b', '#seen': 'seen' };
    const values = { ':one': 1, ':two': 2, ':nine': 9, ':t': true };
    const check = (condition: string) => update(pk, 'SET #seen = :t', names, values, condition);
    // a = 1 OR (a = 9 AND b = 9): true; read left to right it would be false.
    await expect(check('#a = :one OR #a = :nine AND #b = :nine')).resolves.toBeDefined();
    await expect(check('NOT #a = :nine AND #b = :two')).resolves.toBeDefined();
    await expect(check('(#a = :one OR #a = :nine) AND #b = :nine')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    await expect(check('NOT (#a = :one AND #b = :two)')).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  });

  it('holds attribute_not_exists on a missing item, and returns the item that failed it only when asked (ALL_OLD)', async () => {
    const pk = newPk();
    const put = (owner: string, returnOld: boolean) =>
      doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: { pk, owner },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ...(returnOld ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        }),
      );
    await put('a', true);
    const withItem = await failure(put('b', true));
    expect(withItem.name).toBe('ConditionalCheckFailedException');
    expect(withItem.message).toBe('The conditional request failed');
    expect(withItem.Item).toEqual({ pk: { S: pk }, owner: { S: 'a' } });
    expect((await failure(put('c', false))).Item).toBeUndefined();
    // attribute_exists fails on a missing item, and `<>` holds for a missing attribute.
    const other = newPk();
    await expect(update(other, 'SET #x = :x', { '#x': 'x', '#pk': 'pk' }, { ':x': 1 }, 'attribute_exists(#pk)')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    await expect(update(other, 'SET #x = :x', { '#x': 'x' }, { ':x': 1 }, '#x <> :x')).resolves.toMatchObject({ Attributes: { x: 1 } });
    expect(await getItem(pk)).toEqual({ pk, owner: 'a' });
  });

  it('compares numbers as numbers ("10" > "9", "1.0" = "1") and strings by their bytes', async () => {
    const pk = newPk();
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: pk }, n: { N: '10' }, s: { S: '10' }, one: { N: '1.0' } } }));
    const holds = (condition: string, values: Record<string, unknown>) =>
      update(pk, 'SET #seen = :t', { '#n': 'n', '#s': 's', '#one': 'one', '#seen': 'seen' }, { ...values, ':t': true }, condition).then(
        () => true,
        (err: Error) => {
          if (err.name !== 'ConditionalCheckFailedException') throw err;
          return false;
        },
      );
    expect(await holds('#n > :nine AND #one = :one', { ':nine': 9, ':one': 1 })).toBe(true);
    expect(await holds('#n <= :nine', { ':nine': 9 })).toBe(false);
    expect(await holds('#s < :nine', { ':nine': '9' })).toBe(true);
    // Another type never orders: N against S fails both ways.
    expect(await holds('#n < :nine OR #n >= :nine', { ':nine': '9' })).toBe(false);
  });

  it('refuses placeholders used but not given, or given but not used, as DynamoDB does', async () => {
    const pk = newPk();
    const send = (names: Record<string, string>, values: Record<string, unknown>) =>
      doc.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: { pk },
          UpdateExpression: 'SET #a = :a',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    const unused = await failure(send({ '#a': 'a', '#b': 'b' }, { ':a': 1 }));
    expect(unused).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('unused in expressions: keys: {#b}') });
    const missing = await failure(send({ '#a': 'a' }, { ':b': 1 }));
    expect(missing).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('attribute value: :a') });
    expect(await getItem(pk)).toBeUndefined();
  });

  it('refuses syntax outside its subset with a ValidationException naming the expression, and a wrong operand type', async () => {
    const pk = newPk();
    for (const condition of ['begins_with(#a, :a)', '#a BETWEEN :a AND :a', '#a.#a = :a', '#a = :a)']) {
      const err = await failure(update(pk, 'SET #a = :a', { '#a': 'a' }, { ':a': 'x' }, condition));
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain('Invalid ConditionExpression: ');
      expect(err.message).toContain(`"${condition}"`);
    }
    for (const expression of ['DELETE #a', 'SET #a = list_append(#a, :a)', 'SET #a = :a SET #a = :a']) {
      const err = await failure(update(pk, expression, { '#a': 'a' }, { ':a': 'x' }));
      expect(err).toMatchObject({ name: 'ValidationException', message: expect.stringContaining(`"${expression}"`) });
    }
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, s: 'text' } }));
    const typeError = await failure(update(pk, 'SET #s = #s + :one', { '#s': 's' }, { ':one': 1 }));
    expect(typeError).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('incorrect data type') });
    const key = await failure(update(pk, 'SET #pk = :x', { '#pk': 'pk' }, { ':x': 'other' }));
    expect(key).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('part of the key') });
    expect(await getItem(pk)).toEqual({ pk, s: 'text' });
  });
});

describe('single-item calls', () => {
  it('answers ReturnValues NONE, ALL_OLD and ALL_NEW as DynamoDB does', async () => {
    const pk = newPk();
    expect((await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, v: 1 }, ReturnValues: 'ALL_OLD' }))).Attributes).toBeUndefined();
    expect((await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, v: 2 }, ReturnValues: 'ALL_OLD' }))).Attributes).toEqual({
      pk,
      v: 1,
    });
    const updated = await doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk },
        UpdateExpression: 'SET #w = :w',
        ExpressionAttributeNames: { '#w': 'w' },
        ExpressionAttributeValues: { ':w': { deep: [1, 'x'] } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    expect(updated.Attributes).toEqual({ pk, v: 2 });
    expect((await doc.send(new DeleteCommand({ TableName: TABLE, Key: { pk }, ReturnValues: 'ALL_OLD' }))).Attributes).toEqual({
      pk,
      v: 2,
      w: { deep: [1, 'x'] },
    });
    expect(await getItem(pk)).toBeUndefined();
    expect((await doc.send(new DeleteCommand({ TableName: TABLE, Key: { pk }, ReturnValues: 'ALL_OLD' }))).Attributes).toBeUndefined();
  });

  it('refuses an unknown table, a key that is not the schema, and what it does not implement, by name', async () => {
    await expect(client.send(new GetItemCommand({ TableName: 'nope', Key: { pk: { S: 'x' } } }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { N: '1' } } }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'The provided key element does not match the schema',
    });
    await expect(client.send(new PutItemCommand({ TableName: TABLE, Item: { other: { S: 'x' } } }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Missing the key pk'),
    });
    const query = await failure(
      client.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': { S: 'x' } },
        }),
      ),
    );
    expect(query).toMatchObject({ name: 'NotImplemented', message: expect.stringContaining('does not answer Query') });
    expect((query.$metadata as { httpStatusCode?: number }).httpStatusCode).toBe(501);
    await expect(
      client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' } }, ProjectionExpression: 'pk' })),
    ).rejects.toMatchObject({ name: 'NotImplemented', message: expect.stringContaining('ProjectionExpression in GetItem') });
    await expect(
      client.send(new UpdateItemCommand({ TableName: TABLE, Key: { pk: { S: 'x' } }, ReturnValues: 'UPDATED_NEW' })),
    ).rejects.toMatchObject({ name: 'NotImplemented', message: expect.stringContaining('ReturnValues UPDATED_NEW') });
  });

  it('counts requests by operation until reset', async () => {
    db.reset();
    const pk = newPk();
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk } }));
    await getItem(pk);
    await getItem(pk);
    await client.send(new QueryCommand({ TableName: TABLE })).catch(() => undefined);
    expect(db.counts()).toEqual({ GetItem: 2, PutItem: 1, Query: 1 });
    db.reset();
    expect(db.counts()).toEqual({});
  });
});

describe('BatchGetItem', () => {
  const batchGet = (keys: string[], projection?: { expression: string; names: Record<string, string> }) =>
    client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [TABLE]: {
            Keys: keys.map((pk) => ({ pk: { S: pk } })),
            ...(projection ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names } : {}),
          },
        },
      }),
    );

  it('answers the items that exist, whole or projected, and leaves nothing unprocessed', async () => {
    const [a, b, missing] = [newPk(), newPk(), newPk()];
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: a, state: 'exported', size: 3 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: b, state: 'claimed' } }));
    const whole = await batchGet([a, b, missing]);
    expect(whole.Responses?.[TABLE]).toEqual([
      { pk: { S: a }, state: { S: 'exported' }, size: { N: '3' } },
      { pk: { S: b }, state: { S: 'claimed' } },
    ]);
    expect(whole.UnprocessedKeys).toEqual({});
    const projected = await batchGet([a, b], { expression: '#pk, #size', names: { '#pk': 'pk', '#size': 'size' } });
    expect(projected.Responses?.[TABLE]).toEqual([{ pk: { S: a }, size: { N: '3' } }, { pk: { S: b } }]);
  });

  it('refuses duplicate keys, more than 100 keys and an unused name, as DynamoDB does', async () => {
    const pk = newPk();
    await expect(batchGet([pk, pk])).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('duplicates') });
    const many = Array.from({ length: 101 }, () => newPk());
    await expect(batchGet(many)).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('100') });
    await expect(batchGet([pk], { expression: '#pk', names: { '#pk': 'pk', '#other': 'other' } })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('unused'),
    });
  });

  it("takes the export ledger's page lookup: exported versions and documents with versions pending", async () => {
    const ledger = new ExportLedger(doc, TABLE);
    const now = new Date('2026-12-01T02:00:00Z');
    const id = newPk();
    await ledger.recordExported({
      versionId: `${id}-v1`,
      documentId: `${id}-doc`,
      binderId: 'bin',
      archiveKey: `t/bin/${id}/v1/f.pdf`,
      sha256: 'a'.repeat(64),
      sha256Base64: 'qg==',
      size: 1,
      exportedAt: now.toISOString(),
      runId: 'run',
    });
    await ledger.setDocumentPending(`${id}-doc`, 'bin', [`${id}-v2`, `${id}-v3`], now);
    await ledger.clearDocumentPending(`${id}-doc`, `${id}-v2`);
    const lookup = await ledger.lookUpDocuments([`${id}-v1`, `${id}-v9`], [`${id}-doc`, `${id}-other`]);
    expect([...lookup.exportedVersions]).toEqual([`${id}-v1`]);
    expect([...lookup.unfinishedDocuments]).toEqual([`${id}-doc`]);
    await ledger.clearDocumentPending(`${id}-doc`, `${id}-v3`);
    expect((await ledger.lookUpDocuments([], [`${id}-doc`])).unfinishedDocuments.size).toBe(0);
  });
});

describe('TransactWriteItems', () => {
  it('writes every item when every condition holds: Put, Update, Delete and ConditionCheck', async () => {
    const [put, counter, gone, lease] = [newPk(), newPk(), newPk(), newPk()];
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: counter, n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: gone } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: lease, owner: 'a' } }));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE,
              Item: { pk: put, v: 'x' },
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': 'pk' },
            },
          },
          {
            Update: {
              TableName: TABLE,
              Key: { pk: counter },
              UpdateExpression: 'SET #n = #n + :one',
              ConditionExpression: '#n = :one',
              ExpressionAttributeNames: { '#n': 'n' },
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          { Delete: { TableName: TABLE, Key: { pk: gone } } },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk: lease },
              ConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':owner': 'a' },
            },
          },
        ],
      }),
    );
    expect(await getItem(put)).toEqual({ pk: put, v: 'x' });
    expect(await getItem(counter)).toEqual({ pk: counter, n: 2 });
    expect(await getItem(gone)).toBeUndefined();
    expect(await getItem(lease)).toEqual({ pk: lease, owner: 'a' });
  });

  it('applies nothing when a condition fails, with one reason per item in order and the item where ALL_OLD was asked', async () => {
    const [counter, taken, other, fresh] = [newPk(), newPk(), newPk(), newPk()];
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: counter, n: 5 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: taken, owner: 'a' } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: other, owner: 'a' } }));
    const absent = { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': 'pk' } };
    const err = await failure(
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: TABLE,
                Key: { pk: { S: counter } },
                UpdateExpression: 'SET #n = #n + :one',
                ExpressionAttributeNames: { '#n': 'n' },
                ExpressionAttributeValues: { ':one': { N: '1' } },
              },
            },
            {
              Put: {
                TableName: TABLE,
                Item: { pk: { S: taken }, owner: { S: 'b' } },
                ...absent,
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            { Put: { TableName: TABLE, Item: { pk: { S: fresh } }, ...absent } },
            { Delete: { TableName: TABLE, Key: { pk: { S: other } }, ...absent } },
          ],
        }),
      ),
    );
    expect(err).toBeInstanceOf(TransactionCanceledException);
    expect(err.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None, ConditionalCheckFailed]',
    );
    expect(err.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { pk: { S: taken }, owner: { S: 'a' } } },
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
    ]);
    expect(await getItem(counter)).toEqual({ pk: counter, n: 5 });
    expect(await getItem(taken)).toEqual({ pk: taken, owner: 'a' });
    expect(await getItem(fresh)).toBeUndefined();
    expect(await getItem(other)).toEqual({ pk: other, owner: 'a' });
  });

  it('cancels with a ValidationError reason for an operand of the wrong type, applying nothing', async () => {
    const [text, fresh] = [newPk(), newPk()];
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: text, s: 'x' } }));
    const err = await failure(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: fresh } } },
            {
              Update: {
                TableName: TABLE,
                Key: { pk: text },
                UpdateExpression: 'SET #s = #s + :one',
                ExpressionAttributeNames: { '#s': 's' },
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      ),
    );
    expect(err.name).toBe('TransactionCanceledException');
    expect((err.CancellationReasons as { Code: string }[]).map((r) => r.Code)).toEqual(['None', 'ValidationError']);
    expect(await getItem(fresh)).toBeUndefined();
  });

  it('refuses two actions on one item, an entry with two actions, and more than 100 items, writing nothing', async () => {
    const pk = newPk();
    const put = (p: string) => ({ Put: { TableName: TABLE, Item: { pk: p } } });
    const refusals = [
      [put(pk), { Delete: { TableName: TABLE, Key: { pk } } }],
      [{ ...put(pk), Delete: { TableName: TABLE, Key: { pk: newPk() } } }],
      Array.from({ length: 101 }, (_, i) => put(`${pk}-${i}`)),
    ];
    for (const [i, TransactItems] of refusals.entries()) {
      const err = await failure(doc.send(new TransactWriteCommand({ TransactItems })));
      expect(err.name, `refusal ${i}`).toBe('ValidationException');
    }
    expect(await getItem(pk)).toBeUndefined();
    expect(await getItem(`${pk}-0`)).toBeUndefined();
  });

  it("takes the ledgers' transaction path through AllOrNothingWriter", async () => {
    const [marker, counter] = [newPk(), newPk()];
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: counter, n: 0 } }));
    const writer = new AllOrNothingWriter(doc);
    const items = () => [
      conditionalPutItem({ tableName: TABLE, item: { pk: marker }, condition: 'attribute_not_exists(#pk)', names: { '#pk': 'pk' } }),
      conditionalUpdateItem({
        tableName: TABLE,
        key: { pk: counter },
        update: 'SET #n = #n + :one',
        condition: 'attribute_exists(#pk)',
        names: { '#n': 'n', '#pk': 'pk' },
        values: { ':one': 1 },
        returnCurrentOnFailure: true,
      }),
    ];
    expect(await writer.write(items())).toEqual({ kind: 'written' });
    expect(await writer.write(items())).toEqual({ kind: 'conditions-failed', failedIndexes: [0] });
    expect(writer.transactionsSupported).toBe(true);
    expect(await getItem(counter)).toEqual({ pk: counter, n: 1 });
  });
});
