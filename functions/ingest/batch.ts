/**
 * One SQS batch of S3 event notifications -> a partial batch response.
 *
 * Records run concurrently up to `recordConcurrency`. A record is only started while more than
 * `minRemainingTimeMs` of the invocation remain; later ones are handed back to SQS unstarted
 * rather than cut off mid-upload by the function timeout. One message may name several
 * objects: it is acknowledged only when none of them needs a retry, and the ledger makes the
 * redelivery of its finished objects a no-op.
 */
import pLimit from 'p-limit';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseS3EventMessage, S3EventParseError, type S3ObjectEvent } from '../../shared/s3/event.js';
import { processObjectRecord } from './process-record.js';
import type { IngestDependencies, RecordOutcome } from './types.js';

export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

export async function processBatch(
  event: SQSEvent,
  context: InvocationClock,
  deps: IngestDependencies,
): Promise<SQSBatchResponse> {
  const { logger, config } = deps;
  const limit = pLimit(config.recordConcurrency);
  const failed = new Set<string>();
  const tasks: Promise<void>[] = [];
  let notStarted = 0;

  for (const message of event.Records) {
    let parsed;
    try {
      parsed = parseS3EventMessage(message.messageId, message.body);
    } catch (err) {
      // Kept in the queue, so that after its receives it lands in the dead-letter queue and is seen.
      const details = err instanceof S3EventParseError ? { issues: err.issues, bodyPreview: err.bodyPreview } : {};
      logger.error('malformed message: not an S3 event notification; it goes back to the queue and on to the dead-letter queue', {
        messageId: message.messageId,
        ...details,
      });
      failed.add(message.messageId);
      continue;
    }
    if (parsed.kind === 'test') {
      logger.info('S3 test event acknowledged', { messageId: message.messageId, bucket: parsed.bucket });
      continue;
    }
    for (const record of parsed.records) {
      tasks.push(
        limit(async () => {
          if (context.getRemainingTimeInMillis() < config.minRemainingTimeMs) {
            notStarted += 1;
            failed.add(message.messageId);
            return;
          }
          const outcome = await runRecord(record, message.messageId, deps);
          if (outcome.status === 'retry') failed.add(message.messageId);
        }),
      );
    }
  }
  await Promise.all(tasks);

  if (notStarted > 0) {
    for (let i = 0; i < notStarted; i += 1) deps.metrics.recordRetried();
    logger.warn('records not started: too little time left in this invocation; SQS delivers them again', {
      notStarted,
      minRemainingTimeMs: config.minRemainingTimeMs,
    });
  }
  return {
    batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })),
  };
}

/** processObjectRecord never throws by contract; a bug that makes it throw still only fails its message. */
async function runRecord(record: S3ObjectEvent, messageId: string, deps: IngestDependencies): Promise<RecordOutcome> {
  try {
    return await processObjectRecord(record, messageId, deps);
  } catch (err) {
    deps.logger.error('unexpected error while processing a record; its message goes back to the queue', {
      messageId,
      bucket: record.bucket,
      key: record.key,
      objectVersionId: record.versionId ?? 'null',
      error: err as Error,
    });
    return { status: 'retry', reason: 'unexpected error' };
  }
}
