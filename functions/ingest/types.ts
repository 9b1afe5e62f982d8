/**
 * Shapes of one record's journey through the ingest: what became of it (the outcome) and what
 * the flow needs (its dependencies). Everything about a document system is behind the
 * connectors (shared/connectors/types.ts).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import type { PipelineConfig } from '../../shared/config/runtime.js';
import type { CommittedVersion, ConnectorName, IngestConnector } from '../../shared/connectors/types.js';
import type { IngestLedgerStore, Problem } from '../../shared/ledger/types.js';
import type { IngestMetrics } from '../../shared/observability/metrics.js';
import type { MessageVisibility } from './message-visibility.js';

/** What became of one S3 record. Only `retry` makes its SQS message a batch item failure. */
export type RecordOutcome =
  /** `version` names the connector and the version's ids in that system's terms. */
  | { status: 'committed'; version: CommittedVersion; resumed: boolean }
  | { status: 'rejected'; problems: Problem[]; rejectedKey: string }
  | { status: 'skipped'; reason: string }
  /** An older upload of the key, arrived after a newer one was committed: recorded, not committed. */
  | { status: 'superseded'; sequencer: string; newerSequencer: string }
  | {
      status: 'retry';
      reason: string;
      /**
       * The destination asked for this long a pause (`Retry-After`), longer than the invocation
       * could wait: the message's visibility is set to it, so SQS never redelivers it earlier.
       */
      retryAfterSeconds?: number;
    };

/**
 * Everything the ingest needs, created once per cold start by `createIngestDependencies` and
 * handed in, so that tests and the local demo run the same code with their own clients.
 */
export interface IngestDependencies {
  config: PipelineConfig;
  /**
   * The inbox bucket this function serves (`INBOX_BUCKET_NAME`). Events for any other bucket are
   * never acted on: a misrouted subscription or rule must not make the function read, copy or
   * delete objects elsewhere.
   */
  inboxBucket: string;
  s3: S3Client;
  ledger: IngestLedgerStore;
  /** The connectors the environment configures (shared/connectors/registry.ts), iBinder first. */
  connectors: readonly IngestConnector[];
  /**
   * Runs a record's work with its connector within that connector's share of the batch
   * (connector-concurrency.ts); set by the batch for each invocation. Absent: no bound.
   */
  withConnectorSlot?: (<T>(connector: ConnectorName, work: () => Promise<T>) => Promise<T>) | undefined;
  metrics: IngestMetrics;
  logger: Logger;
  /** The clock (grace periods, report times). */
  now: () => Date;
  /**
   * Sets a received message's visibility (SQS ChangeMessageVisibility), for a retry that must
   * not come before a `Retry-After`. Absent: the queue's own visibility timeout applies.
   */
  visibility?: MessageVisibility;
}
