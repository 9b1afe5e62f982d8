/**
 * A local DynamoDB-compatible server: dynalite, in memory, on 127.0.0.1 and a free port, with a
 * front that gives it DynamoDB's TransactWriteItems (dynamodb-transactions.ts).
 * dynalite enforces DynamoDB's request validation and conditional writes, which is what the
 * ledgers' exactly-once logic rests on. Tables are created with no delay, but dynalite answers
 * CreateTable before it marks the table ACTIVE, so every table is awaited until it is.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../shared/aws/clients.js';
import { startDynamoDbTransactionsFront } from './dynamodb-transactions.js';
import { LEDGER_OBJECT_INDEX } from '../shared/ledger/object-index.js';

export const LOCAL_DYNAMODB_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalDynamoDbOptions {
  /** Tables to create, each with the ledgers' key schema: a string partition key `pk`. */
  tables?: readonly string[];
  /** Of those, the ones that also get the ledger's index by object key (the ingest ledger). */
  tablesWithObjectIndex?: readonly string[];
  port?: number;
  /**
   * The transactions front (dynamodb-transactions.ts) before dynalite, so that
   * TransactWriteItems works as on AWS and the ledgers take the path they take there. Default
   * true; false gives dynalite alone, for a test of the ledgers' one-write-per-item fallback.
   */
  transactions?: boolean;
}

export interface LocalDynamoDb {
  endpoint: string;
  client: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  /** Creates a table keyed by a string `pk`, billed on demand; `objectIndex` adds the index by object key. */
  createLedgerTable(name: string, options?: { objectIndex?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates a table and returns once DescribeTable reports it ACTIVE (a request in between gets
 * ResourceNotFoundException, from dynalite as from DynamoDB). Polls quickly: a local table is
 * ready within milliseconds, and 10 s without it means the server is stuck.
 */
export async function createTableAndWait(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  await client.send(new CreateTableCommand(input));
  await waitUntilTableExists({ client, minDelay: 0.02, maxDelay: 0.2, maxWaitTime: 10 }, { TableName: input.TableName });
}

/** A client for the local server; region and dummy credentials explicit, so AWS is never contacted. */
export function createLocalDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { ...LOCAL_DYNAMODB_CREDENTIALS }, maxAttempts: 1 });
}

export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`the local DynamoDB server (dynalite) could not start on 127.0.0.1: ${err.message}`, { cause: err })),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const dynaliteEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const front = (options.transactions ?? true) ? await startDynamoDbTransactionsFront(dynaliteEndpoint) : undefined;
  const endpoint = front?.endpoint ?? dynaliteEndpoint;
  const client = createLocalDynamoDbClient(endpoint);
  const documentClient = createDocumentClient(client);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    client.destroy();
    await front?.stop();
    server.closeAllConnections?.();
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  };

  const createLedgerTable = async (name: string, tableOptions: { objectIndex?: boolean } = {}): Promise<void> => {
    const index = LEDGER_OBJECT_INDEX;
    await createTableAndWait(client, {
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        ...(tableOptions.objectIndex
          ? [
              { AttributeName: index.partitionKey, AttributeType: 'S' as const },
              { AttributeName: index.sortKey, AttributeType: 'S' as const },
            ]
          : []),
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(tableOptions.objectIndex
        ? {
            GlobalSecondaryIndexes: [
              {
                IndexName: index.name,
                KeySchema: [
                  { AttributeName: index.partitionKey, KeyType: 'HASH' },
                  { AttributeName: index.sortKey, KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projectedAttributes] },
              },
            ],
          }
        : {}),
    });
  };

  try {
    for (const table of options.tables ?? []) {
      await createLedgerTable(table, { objectIndex: options.tablesWithObjectIndex?.includes(table) ?? false });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, client, documentClient, createLedgerTable, stop };
}
