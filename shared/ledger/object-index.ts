/**
 * The ingest ledger's index by object key. The ledger is keyed by object version, and a
 * committed object is usually gone from the inbox, so "what happened to inbox/x.pdf?" cannot
 * start from a version id. This global secondary index answers it with one Query instead of a
 * scan of the whole table: partition `objectKey`, sort `bucket`, projecting the version id.
 * The stack (infra/constructs/ledger-table.ts), the local DynamoDB and the CLI's `status`
 * share this one definition.
 */
export const LEDGER_OBJECT_INDEX = {
  name: 'byObjectKey',
  partitionKey: 'objectKey',
  sortKey: 'bucket',
  /** Besides the table and index keys: enough to read each entry through IngestLedger.get. */
  projectedAttributes: ['objectVersionId'],
} as const;
