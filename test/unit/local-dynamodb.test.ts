import type { AddressInfo } from 'node:net';
import { CreateTableCommand, GetItemCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalDynamoDbClient, createTableAndWait } from '../../local/local-dynamodb.js';

// A table that stays CREATING for a while makes the race visible that dynalite's "at once"
// (createTableMs: 0) only hides most of the time: CreateTable answers before the table is ACTIVE.
const server = dynalite({ createTableMs: 150 });
let client: ReturnType<typeof createLocalDynamoDbClient>;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  client = createLocalDynamoDbClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const table = (name: string) => ({
  TableName: name,
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
});

describe('local DynamoDB table creation', () => {
  it('a table is not readable between CreateTable and ACTIVE', async () => {
    await client.send(new CreateTableCommand(table('bare')));
    await expect(client.send(new GetItemCommand({ TableName: 'bare', Key: { pk: { S: 'x' } } }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it('createTableAndWait returns only once the table answers', async () => {
    await createTableAndWait(client, table('awaited'));
    const result = await client.send(new GetItemCommand({ TableName: 'awaited', Key: { pk: { S: 'x' } } }));
    expect(result.Item).toBeUndefined();
    expect(result.$metadata.httpStatusCode).toBe(200);
  });
});
