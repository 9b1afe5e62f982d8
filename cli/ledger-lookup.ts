/**
 * Finds the ingest ledger entries of an object key. The ledger is keyed by object version
 * (bucket, key, versionId), and a committed object is usually gone from the inbox (disposed
 * of), so without a version id the only way to its entries is a scan filtered by bucket and
 * key. That reads the whole table, page by page: fine for an operator's question about one
 * file, and the table only holds the last 90 days. Each entry found is then read through
 * IngestLedger, which validates it.
 */
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import type { LedgerEntry, ObjectRef } from '../shared/ledger/types.js';

export async function findLedgerEntries(
  dynamo: DynamoDBDocumentClient,
  tableName: string,
  ledger: Pick<IngestLedger, 'get'>,
  object: { bucket: string; key: string },
): Promise<LedgerEntry[]> {
  const versions: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: '#bucket = :bucket AND #objectKey = :key',
        ProjectionExpression: '#objectVersionId',
        ExpressionAttributeNames: { '#bucket': 'bucket', '#objectKey': 'objectKey', '#objectVersionId': 'objectVersionId' },
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
  return entries
    .filter((e): e is LedgerEntry => e !== undefined)
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
}
