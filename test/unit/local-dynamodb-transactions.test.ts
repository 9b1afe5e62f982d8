/**
 * The local DynamoDB's transactions front: TransactWriteItems all or nothing, with DynamoDB's
 * cancellation reasons, isolated from other requests on its items (and from queries) while
 * transactions on other items run side by side, and refused where DynamoDB refuses it;
 * and the ledgers' AllOrNothingWriter taking the transaction path through it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDynamoDbTransactionsFront } from '../../local/dynamodb-transactions.js';
import { type LocalDynamoDb, startLocalDynamoDb } from '../../local/local-dynamodb.js';
import { AllOrNothingWriter, conditionalPutItem, conditionalUpdateItem } from '../../shared/export/all-or-nothing-writes.js';

let local: LocalDynamoDb;
let tables = 0;
let tableName: string;

beforeAll(async () => {
  local = await startLocalDynamoDb({ transactions: true });
});
afterAll(async () => {
  await local.stop();
});
beforeEach(async () => {
  tableName = `transactions-${++tables}`;
  await local.createLedgerTable(tableName);
});

const get = async (pk: string) =>
  (await local.documentClient.send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))).Item;

async function cancellation(write: Promise<unknown>): Promise<TransactionCanceledException> {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionCanceledException);
  return err as TransactionCanceledException;
}

describe('TransactWriteItems through the front', () => {
  it('writes every item when every condition holds', async () => {
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'counter', n: 1 } }));

    await local.documentClient.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: tableName, Item: { pk: 'marker-1' }, ConditionExpression: 'attribute_not_exists(pk)' } },
          {
            Update: {
              TableName: tableName,
              Key: { pk: 'counter' },
              UpdateExpression: 'ADD n :one',
              ConditionExpression: 'n = :n',
              ExpressionAttributeValues: { ':one': 1, ':n': 1 },
            },
          },
          { Delete: { TableName: tableName, Key: { pk: 'missing' } } },
        ],
      }),
    );

    expect(await get('marker-1')).toEqual({ pk: 'marker-1' });
    expect(await get('counter')).toEqual({ pk: 'counter', n: 2 });
  });

  it('writes nothing when one condition fails, and says which one, with the item as it was when asked (ALL_OLD)', async () => {
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'taken', owner: 'a' } }));
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'counter', n: 5 } }));

    const err = await cancellation(
      local.documentClient.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: { pk: 'counter' },
                UpdateExpression: 'ADD n :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
            { Put: { TableName: tableName, Item: { pk: 'new' }, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Put: {
                TableName: tableName,
                Item: { pk: 'taken', owner: 'b' },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      ),
    );

    expect(err.CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'None', 'ConditionalCheckFailed']);
    expect(err.CancellationReasons?.[2]?.Item).toEqual({ pk: { S: 'taken' }, owner: { S: 'a' } });
    // Undone: the counter as it was, the new item gone, the taken one untouched.
    expect(await get('counter')).toEqual({ pk: 'counter', n: 5 });
    expect(await get('new')).toBeUndefined();
    expect(await get('taken')).toEqual({ pk: 'taken', owner: 'a' });
  });

  it('checks a condition without writing (ConditionCheck), on an existing item and on a missing one', async () => {
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'lease', owner: 'a' } }));
    const write = (owner: string, check: string) =>
      local.documentClient.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: tableName,
                Key: { pk: check },
                ConditionExpression: '#owner = :owner',
                ExpressionAttributeNames: { '#owner': 'owner' },
                ExpressionAttributeValues: { ':owner': owner },
              },
            },
            { Put: { TableName: tableName, Item: { pk: `written-by-${owner}-${check}` } } },
          ],
        }),
      );

    await write('a', 'lease');
    expect(await get('written-by-a-lease')).toBeDefined();
    expect(await get('lease')).toEqual({ pk: 'lease', owner: 'a' });

    const refused = await cancellation(write('b', 'lease'));
    expect(refused.CancellationReasons?.map((r) => r.Code)).toEqual(['ConditionalCheckFailed', 'None']);
    expect(await get('written-by-b-lease')).toBeUndefined();

    await cancellation(write('a', 'nobody'));
    // The check of a missing item leaves it missing.
    expect(await get('nobody')).toBeUndefined();
  });

  it('refuses two actions on one item, as DynamoDB does, and writes nothing', async () => {
    const err = await local.documentClient
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: tableName, Item: { pk: 'same', a: 1 } } },
            {
              Update: { TableName: tableName, Key: { pk: 'same' }, UpdateExpression: 'SET b = :b', ExpressionAttributeValues: { ':b': 2 } },
            },
          ],
        }),
      )
      .catch((e: unknown) => e);

    expect((err as Error).name).toBe('ValidationException');
    expect((err as Error).message).toMatch(/multiple operations on one item/);
    expect(await get('same')).toBeUndefined();
  });

  it('is never seen half applied: concurrent transactions on one counter add up exactly', async () => {
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'counter', n: 0 } }));
    // Each reads the counter and writes the value it read + 1 under a condition on that value; only one of each round can win.
    const increment = async (id: number): Promise<number> => {
      let wins = 0;
      for (let attempt = 0; attempt < 10; attempt += 1) {
        const n = ((await get('counter'))?.n as number) ?? 0;
        try {
          await local.documentClient.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Update: {
                    TableName: tableName,
                    Key: { pk: 'counter' },
                    UpdateExpression: 'SET n = :next',
                    ConditionExpression: 'n = :n',
                    ExpressionAttributeValues: { ':n': n, ':next': n + 1 },
                  },
                },
                { Put: { TableName: tableName, Item: { pk: `win-${n}`, by: id } } },
              ],
            }),
          );
          wins += 1;
        } catch (err) {
          if (!(err instanceof TransactionCanceledException)) throw err;
        }
      }
      return wins;
    };

    const wins = await Promise.all([increment(1), increment(2), increment(3)]);

    const total = wins.reduce((a, b) => a + b, 0);
    expect((await get('counter'))?.n).toBe(total);
    for (let n = 0; n < total; n += 1) expect(await get(`win-${n}`)).toBeDefined();
    expect(await get(`win-${total}`)).toBeUndefined();
  });

  it('forwards every other request unchanged', async () => {
    await local.documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: 'plain' },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': 'x' },
      }),
    );
    expect(await get('plain')).toEqual({ pk: 'plain', v: 'x' });
  });
});

describe('AllOrNothingWriter against the local server with the front', () => {
  it('takes the transaction path, not the one-write-per-item fallback', async () => {
    const writer = new AllOrNothingWriter(local.documentClient);
    await local.documentClient.send(new PutCommand({ TableName: tableName, Item: { pk: 'counter', n: 0 } }));

    const first = await writer.write([
      conditionalPutItem({ tableName, item: { pk: 'm1' }, condition: 'attribute_not_exists(#pk)', names: { '#pk': 'pk' } }),
      conditionalUpdateItem({
        tableName,
        key: { pk: 'counter' },
        update: 'ADD #n :one',
        condition: 'attribute_exists(#pk)',
        names: { '#n': 'n', '#pk': 'pk' },
        values: { ':one': 1 },
      }),
    ]);
    const second = await writer.write([
      conditionalPutItem({ tableName, item: { pk: 'm1' }, condition: 'attribute_not_exists(#pk)', names: { '#pk': 'pk' } }),
      conditionalUpdateItem({
        tableName,
        key: { pk: 'counter' },
        update: 'ADD #n :one',
        condition: 'attribute_exists(#pk)',
        names: { '#n': 'n', '#pk': 'pk' },
        values: { ':one': 1 },
      }),
    ]);

    expect(first).toEqual({ kind: 'written' });
    expect(second).toEqual({ kind: 'conditions-failed', failedIndexes: [0] });
    expect(writer.transactionsSupported).toBe(true);
    expect(await get('counter')).toEqual({ pk: 'counter', n: 1 });
  });
});

describe('dynalite alone (transactions: false)', () => {
  it('answers TransactWriteItems as unknown, which sends the ledgers to their one-write-per-item fallback', async () => {
    const bare = await startLocalDynamoDb({ transactions: false, tables: ['bare'] });
    try {
      const writer = new AllOrNothingWriter(bare.documentClient);
      const result = await writer.write([
        conditionalPutItem({ tableName: 'bare', item: { pk: 'm1' }, condition: 'attribute_not_exists(#pk)', names: { '#pk': 'pk' } }),
      ]);
      expect(result).toEqual({ kind: 'unsupported' });
      expect(writer.transactionsSupported).toBe(false);
    } finally {
      await bare.stop();
    }
  });
});

describe('the front locks items, not the server', () => {
  /**
   * A stand-in for dynalite on 127.0.0.1 that logs what reaches it, in order, and holds the
   * writes of the items named in `held` until they are let go.
   */
  async function holdingUpstream() {
    const log: string[] = [];
    const held = new Map<string, () => void>();
    const holding = new Set<string>();
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target']).split('.')[1] ?? '';
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
          Key?: { pk?: { S?: string } };
          Item?: { pk?: { S?: string } };
        };
        const pk = body.Key?.pk?.S ?? body.Item?.pk?.S ?? '';
        log.push(`${operation} ${pk}`.trim());
        const answer = () => {
          const payload =
            operation === 'DescribeTable'
              ? { Table: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] } }
              : operation === 'Query'
                ? { Items: [] }
                : {};
          res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify(payload));
        };
        if (holding.has(pk) && operation !== 'GetItem') {
          held.set(pk, () => {
            log.push(`answered ${operation} ${pk}`);
            answer();
          });
        } else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const front = await startDynamoDbTransactionsFront(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const until = async (condition: () => boolean) => {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(condition()).toBe(true);
    };
    return {
      log,
      hold: (pk: string) => holding.add(pk),
      /** Lets go of the held write of `pk` once it has arrived. */
      release: async (pk: string) => {
        await until(() => held.has(pk));
        holding.delete(pk);
        held.get(pk)?.();
      },
      until,
      send: async (operation: string, body: unknown) => {
        const response = await fetch(front.endpoint, {
          method: 'POST',
          headers: { 'x-amz-target': `DynamoDB_20120810.${operation}`, 'content-type': 'application/x-amz-json-1.0' },
          body: JSON.stringify(body),
          // A request the front wrongly holds fails the test instead of hanging it.
          signal: AbortSignal.timeout(10_000),
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      },
      stop: async () => {
        await front.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const putIn = (pk: string) => ({ TransactItems: [{ Put: { TableName: 't', Item: { pk: { S: pk } } } }] });

  it('runs transactions on different items side by side', async () => {
    const upstream = await holdingUpstream();
    try {
      upstream.hold('a');
      const first = upstream.send('TransactWriteItems', putIn('a'));
      await upstream.until(() => upstream.log.includes('PutItem a'));

      // The transaction on b is answered while the one on a is still held.
      expect(await upstream.send('TransactWriteItems', putIn('b'))).toEqual({ status: 200, body: {} });
      expect(upstream.log).not.toContain('answered PutItem a');

      await upstream.release('a');
      expect(await first).toEqual({ status: 200, body: {} });
    } finally {
      await upstream.stop();
    }
  });

  it('holds a request on an item a transaction is writing, and a query, until the transaction ends; others pass', async () => {
    const upstream = await holdingUpstream();
    try {
      upstream.hold('a');
      const transaction = upstream.send('TransactWriteItems', putIn('a'));
      await upstream.until(() => upstream.log.includes('PutItem a'));

      const sameItem = upstream.send('GetItem', { TableName: 't', Key: { pk: { S: 'a' } } });
      const query = upstream.send('Query', { TableName: 't' });
      expect((await upstream.send('GetItem', { TableName: 't', Key: { pk: { S: 'b' } } })).status).toBe(200);
      expect((await upstream.send('PutItem', { TableName: 't', Item: { pk: { S: 'c' } } })).status).toBe(200);

      await upstream.release('a');
      await Promise.all([transaction, sameItem, query]);
      const answered = upstream.log.indexOf('answered PutItem a');
      expect(upstream.log.indexOf('GetItem a')).toBeGreaterThan(answered);
      expect(upstream.log.indexOf('Query')).toBeGreaterThan(answered);
      expect(upstream.log.indexOf('GetItem b')).toBeLessThan(answered);
      expect(upstream.log.indexOf('PutItem c')).toBeLessThan(answered);
    } finally {
      await upstream.stop();
    }
  });
});
