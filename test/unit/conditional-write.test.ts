import { ConditionalCheckFailedException, DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../local/local-dynamodb.js';
import {
  ConditionalWriteError,
  conditionalDelete,
  conditionalPut,
  conditionalUpdate,
  expressionAttributes,
  names,
  values,
} from '../../shared/ledger/conditional-write.js';

describe('conditional writes against the local DynamoDB (no item returned with a failed condition)', () => {
  let local: LocalDynamoDb;
  let tables = 0;
  let tableName: string;
  beforeAll(async () => {
    local = await startLocalDynamoDb();
  });
  afterAll(async () => {
    await local.stop();
  });
  beforeEach(async () => {
    tableName = `conditional-${++tables}`;
    await local.createLedgerTable(tableName);
  });

  const absent = 'attribute_not_exists(#pk)';

  it('puts an item that is not there, and a second put gets the current item back instead of an error', async () => {
    const first = await conditionalPut(local.documentClient, {
      tableName,
      item: { pk: 'a', owner: 'w1' },
      condition: absent,
      names: names(['pk']),
    });
    expect(first).toEqual({ ok: true });
    const second = await conditionalPut(local.documentClient, {
      tableName,
      item: { pk: 'a', owner: 'w2' },
      condition: absent,
      names: names(['pk']),
    });
    expect(second).toEqual({ ok: false, current: { pk: 'a', owner: 'w1' } });
  });

  it('a put that replaces an item says which one it replaced', async () => {
    await conditionalPut(local.documentClient, { tableName, item: { pk: 'a', state: 'claimed' }, condition: absent, names: names(['pk']) });
    const replaced = await conditionalPut(local.documentClient, {
      tableName,
      item: { pk: 'a', state: 'exported' },
      condition: '#state = :claimed',
      names: names(['state']),
      values: values({ claimed: 'claimed' }),
    });
    expect(replaced).toEqual({ ok: true, previous: { pk: 'a', state: 'claimed' } });
  });

  it('update returns the new item, and on a failed condition the current one (undefined when there is none)', async () => {
    const onNothing = await conditionalUpdate(local.documentClient, {
      tableName,
      key: { pk: 'run' },
      update: 'ADD #n :one',
      condition: 'attribute_exists(#pk)',
      names: names(['pk', 'n']),
      values: values({ one: 1 }),
    });
    expect(onNothing).toEqual({ ok: false, current: undefined });

    const created = await conditionalUpdate(local.documentClient, {
      tableName,
      key: { pk: 'run' },
      update: 'ADD #n :one',
      names: names(['n']),
      values: values({ one: 1 }),
    });
    expect(created).toEqual({ ok: true, item: { pk: 'run', n: 1 } });
    const added = await conditionalUpdate(local.documentClient, {
      tableName,
      key: { pk: 'run' },
      update: 'ADD #n :one',
      condition: 'attribute_exists(#pk)',
      names: names(['pk', 'n']),
      values: values({ one: 1 }),
    });
    expect(added).toEqual({ ok: true, item: { pk: 'run', n: 2 } });
    const refused = await conditionalUpdate(local.documentClient, {
      tableName,
      key: { pk: 'run' },
      update: 'ADD #n :one',
      condition: '#n < :limit',
      names: names(['n']),
      values: values({ one: 1, limit: 2 }),
    });
    expect(refused).toEqual({ ok: false, current: { pk: 'run', n: 2 } });
  });

  it('delete removes the item while the condition holds and returns the current item when it does not', async () => {
    await conditionalPut(local.documentClient, { tableName, item: { pk: 'a', owner: 'w1' }, condition: absent, names: names(['pk']) });
    const notOwner = await conditionalDelete(local.documentClient, {
      tableName,
      key: { pk: 'a' },
      condition: '#owner = :owner',
      names: names(['owner']),
      values: values({ owner: 'w2' }),
    });
    expect(notOwner).toEqual({ ok: false, current: { pk: 'a', owner: 'w1' } });
    const deleted = await conditionalDelete(local.documentClient, {
      tableName,
      key: { pk: 'a' },
      condition: '#owner = :owner',
      names: names(['owner']),
      values: values({ owner: 'w1' }),
    });
    expect(deleted).toEqual({ ok: true, previous: { pk: 'a', owner: 'w1' } });
    const read = await local.documentClient.send(new GetCommand({ TableName: tableName, Key: { pk: 'a' }, ConsistentRead: true }));
    expect(read.Item).toBeUndefined();
  });

  it('sends only the names and values the expressions use (the server refuses unused ones)', async () => {
    // One set of names and values shared by several writes: each write uses only some of them.
    const shared = { names: names(['pk', 'state', 'owner', 'lease']), values: values({ claimed: 'claimed', owner: 'w1', now: 5 }) };
    const put = await conditionalPut(local.documentClient, {
      tableName,
      item: { pk: 'a', state: 'claimed', owner: 'w1' },
      condition: absent,
      ...shared,
    });
    expect(put.ok).toBe(true);
    const update = await conditionalUpdate(local.documentClient, {
      tableName,
      key: { pk: 'a' },
      update: 'SET #lease = :now',
      condition: '#state = :claimed AND #owner = :owner',
      ...shared,
    });
    expect(update).toEqual({ ok: true, item: { pk: 'a', state: 'claimed', owner: 'w1', lease: 5 } });
  });
});

describe('conditional writes against DynamoDB (the failed write returns the current item)', () => {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  );
  const ddb = mockClient(doc);
  beforeEach(() => ddb.reset());

  const failedWith = (item: Record<string, unknown>): ConditionalCheckFailedException =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(item) });

  it('takes the current item from the error, in plain form, without a second read', async () => {
    ddb.on(PutCommand).rejects(failedWith({ pk: 'a', state: 'exported', size: 10, pending: new Set(['v1']) }));
    const result = await conditionalPut(doc, {
      tableName: 'ledger',
      item: { pk: 'a' },
      condition: 'attribute_not_exists(#pk)',
      names: names(['pk']),
    });
    expect(result).toEqual({ ok: false, current: { pk: 'a', state: 'exported', size: 10, pending: new Set(['v1']) } });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      ReturnValues: 'ALL_OLD',
    });
  });

  it('asks for the current item with updates and deletes too', async () => {
    ddb.on(UpdateCommand).rejects(failedWith({ pk: 'run', n: 3 }));
    ddb.on(DeleteCommand).rejects(failedWith({ pk: 'a', owner: 'w2' }));
    const update = await conditionalUpdate(doc, {
      tableName: 'ledger',
      key: { pk: 'run' },
      update: 'ADD #n :one',
      condition: 'attribute_exists(#n)',
      names: names(['n']),
      values: values({ one: 1 }),
    });
    const removal = await conditionalDelete(doc, {
      tableName: 'ledger',
      key: { pk: 'a' },
      condition: '#owner = :owner',
      names: names(['owner']),
      values: values({ owner: 'w1' }),
    });
    expect(update).toEqual({ ok: false, current: { pk: 'run', n: 3 } });
    expect(removal).toEqual({ ok: false, current: { pk: 'a', owner: 'w2' } });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toMatchObject({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
  });

  it('reads a missing item only until the server has shown that it returns the current item', async () => {
    const conditionFailed = (item?: Record<string, unknown>): ConditionalCheckFailedException =>
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        ...(item ? { Item: marshall(item) } : {}),
      });
    const input = {
      tableName: 'ledger',
      key: { pk: 'run' },
      update: 'ADD #n :one',
      condition: 'attribute_exists(#n)',
      names: names(['n']),
      values: values({ one: 1 }),
    };
    // A client of its own: what the server returns is remembered per client.
    const fresh = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    );
    const ddb = mockClient(fresh);
    ddb.on(GetCommand).resolves({});
    ddb
      .on(UpdateCommand)
      .rejectsOnce(conditionFailed())
      .rejectsOnce(conditionFailed({ pk: 'run', n: 3 }))
      .rejects(conditionFailed());

    // Not known yet: no item could mean "none" or "not returned", so it is read.
    expect(await conditionalUpdate(fresh, input)).toEqual({ ok: false, current: undefined });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({ TableName: 'ledger', Key: { pk: 'run' }, ConsistentRead: true });
    expect(await conditionalUpdate(fresh, input)).toEqual({ ok: false, current: { pk: 'run', n: 3 } });
    // Known now: a failure without an item means there is none.
    expect(await conditionalUpdate(fresh, input)).toEqual({ ok: false, current: undefined });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('passes on every other error unchanged', async () => {
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    ddb.on(PutCommand).rejects(throttled);
    await expect(
      conditionalPut(doc, { tableName: 'ledger', item: { pk: 'a' }, condition: 'attribute_not_exists(#pk)', names: names(['pk']) }),
    ).rejects.toBe(throttled);
  });

  it('refuses, before any call, an expression that uses a placeholder it was not given', async () => {
    await expect(
      conditionalUpdate(doc, { tableName: 'ledger', key: { pk: 'run' }, update: 'SET #state = :done', names: names(['state']) }),
    ).rejects.toThrow(
      new ConditionalWriteError(
        'update of pk=run in ledger: the expression uses :done but no name or value was given for it (a bug in the caller: add it to names/values)',
      ),
    );
    await expect(
      conditionalPut(doc, { tableName: 'ledger', item: { id: 'a' }, condition: 'attribute_not_exists(#pk)', names: names(['pk']) }),
    ).rejects.toThrow(/put into ledger: the item has no pk \(the table's key\)/);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('expression placeholders', () => {
  it('builds name and value placeholders from plain names', () => {
    expect(names(['state', 'owner'])).toEqual({ '#state': 'state', '#owner': 'owner' });
    expect(values({ owner: 'w1', now: 5 })).toEqual({ ':owner': 'w1', ':now': 5 });
    expect(() => names(['ibinder:binder'])).toThrow(ConditionalWriteError);
  });

  it('keeps only the placeholders the expressions use, and leaves out an empty map', () => {
    expect(
      expressionAttributes(['attribute_not_exists(#pk)'], { names: names(['pk', 'state']), values: values({ unused: 1 }) }, 'put'),
    ).toEqual({
      ExpressionAttributeNames: { '#pk': 'pk' },
    });
    expect(
      expressionAttributes(
        ['#a = :a', '#a_b > :a_b'],
        { names: { '#a': 'a', '#a_b': 'ab' }, values: { ':a': 1, ':a_b': 2, ':ab': 3 } },
        'x',
      ),
    ).toEqual({
      ExpressionAttributeNames: { '#a': 'a', '#a_b': 'ab' },
      ExpressionAttributeValues: { ':a': 1, ':a_b': 2 },
    });
  });
});
