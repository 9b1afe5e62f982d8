/**
 * Finds the ingest ledger entries of an object key. The ledger is keyed by object version
 * (bucket, key, versionId), and a committed object is usually gone from the inbox (disposed
 * of), so without a version id the entries are found through the ledger's index by object key
 * (shared/ledger/object-index.ts): one Query, whatever the table's size. Each entry found is
 * then read through IngestLedger, which validates it.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import { LEDGER_OBJECT_INDEX } from '../shared/ledger/object-index.js';
import type { LedgerEntry, ObjectRef } from '../shared/ledger/types.js';

export async function findLedgerEntries(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  ledger: Pick<IngestLedger, 'get'>,
  object: { bucket: string; key: string },
): Promise<LedgerEntry[]> {
  const index = LEDGER_OBJECT_INDEX;
  const versions: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: index.name,
        KeyConditionExpression: '#objectKey = :key AND #bucket = :bucket',
        ProjectionExpression: '#objectVersionId',
        ExpressionAttributeNames: { '#bucket': index.sortKey, '#objectKey': index.partitionKey, '#objectVersionId': 'objectVersionId' },
        ExpressionAttributeValues: { ':bucket': object.bucket, ':key': object.key },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const versionId: unknown = item.objectVersionId;
      if (typeof versionId === 'string') versions.push(versionId);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);

  const entries = await Promise.all(
    versions.map((versionId) => {
      const ref: ObjectRef = { ...object, versionId: versionId === 'null' ? undefined : versionId };
      return ledger.get(ref);
    }),
  );
  return entries.filter((e): e is LedgerEntry => e !== undefined).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}
