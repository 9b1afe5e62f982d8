/**
 * Lambda entry point of the export worker: one SQS batch of export jobs in, a partial batch
 * response out. Jobs to retry (transient failures, jobs not started for lack of time) are the
 * batch item failures; everything else is acknowledged. A configuration error throws, so the
 * whole batch is retried and ends in the dead-letter queue if nobody fixes it. A job handed
 * back because Bynder blocked the integration (429) stays invisible for the block's pause
 * (throttled-retries.ts), so the workers do not extend the block. The shared
 * middleware chain (observed-handler.ts) adds the invocation to the logs and flushes metrics.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createSqsClient } from '../../shared/aws/clients.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import { exportDepsFromEnvironment } from '../../shared/export/runtime-deps.js';
import { SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics } from '../../shared/observability/metrics.js';
import { observedHandler } from '../../shared/observability/observed-handler.js';
import { SqsMessageVisibility } from '../ingest/message-visibility.js';
import { processExportJobs } from './process-jobs.js';
import { holdThrottledRetries } from './throttled-retries.js';

const metrics = createMetrics(SERVICE_NAMES.exportWorker);
let deps: ExportDeps | undefined;
let visibility: SqsMessageVisibility | undefined;

export const handler = observedHandler(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    deps ??= exportDepsFromEnvironment(metrics);
    const results = await processExportJobs(
      event.Records.map((record) => {
        const receiveCount = Number(record.attributes?.ApproximateReceiveCount);
        return {
          messageId: record.messageId,
          body: record.body,
          ...(Number.isFinite(receiveCount) ? { receiveCount } : {}),
        };
      }),
      deps,
      { remainingTimeMs: () => context.getRemainingTimeInMillis() },
    );
    if (results.some((r) => r.status === 'retry' && r.error?.retryAfterMs !== undefined)) {
      visibility ??= new SqsMessageVisibility(createSqsClient());
      const messages = new Map(event.Records.map((r) => [r.messageId, r] as const));
      await holdThrottledRetries(results, messages, visibility, deps.logger);
    }
    return {
      batchItemFailures: results.filter((r) => r.status === 'retry').map((r) => ({ itemIdentifier: r.messageId })),
    };
  },
  { metrics },
);
