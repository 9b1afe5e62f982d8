/**
 * The AWS resources a command may need, each with its flag and the stack output that holds
 * it. Kept apart from the code that reads the stack (stack-outputs.ts), because the option
 * parser needs the flags on every start, `--help` included, and should not load the
 * CloudFormation client for that.
 */
export const RESOURCES = {
  inboxBucket: { flag: '--inbox-bucket', output: 'InboxBucketName', what: 'inbox bucket' },
  archiveBucket: { flag: '--archive-bucket', output: 'ArchiveBucketName', what: 'archive bucket' },
  ledgerTable: { flag: '--ledger-table', output: 'LedgerTableName', what: 'ingest ledger table' },
  exportLedgerTable: { flag: '--export-ledger-table', output: 'ExportLedgerTableName', what: 'export ledger table' },
  ingestQueueUrl: { flag: '--queue-url', output: 'IngestQueueUrl', what: 'ingest queue' },
  ingestDlqUrl: { flag: '--dlq-url', output: 'IngestDeadLetterQueueUrl', what: 'ingest dead-letter queue' },
  exportQueueUrl: { flag: '--export-queue-url', output: 'ExportQueueUrl', what: 'export queue' },
  exportDlqUrl: { flag: '--export-dlq-url', output: 'ExportDeadLetterQueueUrl', what: 'export dead-letter queue' },
  exportPlanner: { flag: '--export-planner', output: 'ExportPlannerFunctionName', what: 'deployed export planner' },
} as const;
export type ResourceName = keyof typeof RESOURCES;
