/**
 * One SQS batch of S3 event notifications -> a partial batch response.
 *
 * Records run concurrently up to `recordConcurrency`, within each connector's cap
 * (connector-concurrency.ts). A record is only started while more than
 * `minRemainingTimeMs` of the invocation remain; later ones are handed back to SQS unstarted
 * rather than cut off mid-upload by the function timeout. One message may name several
 * objects: it is acknowledged only when none of them needs a retry, and the ledger makes the
 * redelivery of its finished objects a no-op.
 *
 * Starting in time is not enough: during an iBinder brownout one record's retries can take
 * minutes. Each record therefore runs under the invocation's deadline (see
 * shared/runtime/deadline.ts): its end minus a safety margin of a third of
 * `minRemainingTimeMs` (10 s by default; at least 1 s). iBinder calls stop retrying and
 * transfers are cut off at that deadline, so the record ends as a transient failure and the
 * margin is left to record that and return the partial batch response; without it the
 * function timeout would kill the whole batch and every message would be redelivered.
 *
 * A `Retry-After` that fits the deadline is waited by the iBinder client; a longer one ends
 * the record as a retry with `retryAfterSeconds`. Before the partial batch response is
 * returned, each failed message that carries such a delay (the largest among its records) gets
 * that visibility (ChangeMessageVisibility, at most SQS's 12 h), so SQS hands it out again
 * when iBinder asked, never earlier. A visibility change that fails is logged with the message
 * id and changes nothing else: the message is still reported as failed, and SQS retries it
 * after the queue's visibility timeout.
 *
 * Records start one event-loop turn apart (`oneTurnApart`), not all in the same turn. An AWS
 * SDK call is a chain of promise steps before its request reaches the socket, and the chains of
 * records started together interleave: measured with ten small files, none of their twenty S3
 * reads left before all twenty were prepared (94 ms of CPU in a fresh process), so the first
 * record's binder lookups, which the whole batch waits for, began at 147 ms instead of 59 ms.
 * A turn between starts lets each record's first requests leave, and answers that arrive be
 * handled, before the next record's preparation runs. It adds no wait beyond the turns.
 */
import pLimit from 'p-limit';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { runWithDeadline } from '../../shared/runtime/deadline.js';
import { parseS3EventMessage, S3EventParseError, type S3ObjectEvent } from '../../shared/s3/event.js';
import { connectorSlots, recordsInFlight } from './connector-concurrency.js';
import { MAX_VISIBILITY_TIMEOUT_SECONDS } from './message-visibility.js';
import { type DeliveryInfo, processObjectRecord } from './process-record.js';
import type { IngestDependencies, RecordOutcome } from './types.js';

export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

/** Least time kept between a record's deadline and the function timeout (ms). */
export const MIN_DEADLINE_MARGIN_MS = 1_000;

/** Time kept after the iBinder deadline for the ledger, the report and the batch response. */
export function deadlineMarginMs(minRemainingTimeMs: number): number {
  return Math.max(MIN_DEADLINE_MARGIN_MS, Math.floor(minRemainingTimeMs / 3));
}

/**
 * @param nowMs wall clock in epoch ms, the clock of the iBinder client; injected for tests.
 */
export async function processBatch(
  event: SQSEvent,
  context: InvocationClock,
  deps: IngestDependencies,
  nowMs: () => number = Date.now,
): Promise<SQSBatchResponse> {
  const { logger, config } = deps;
  // Bounded per connector: see connector-concurrency.ts for the rate limits behind the caps.
  const limit = pLimit(recordsInFlight(config.recordConcurrency, deps.connectors));
  const batchDeps: IngestDependencies = { ...deps, withConnectorSlot: connectorSlots(config.recordConcurrency, deps.connectors) };
  const failed = new Set<string>();
  /** Per failed message, the longest `Retry-After` (s) among its records. */
  const retryAfterSeconds = new Map<string, number>();
  const tasks: Promise<void>[] = [];
  let notStarted = 0;
  /** The last task of each object version in this batch: a duplicate event runs after it (see objectOf). */
  const lastTaskOf = new Map<string, Promise<void>>();
  const nextStart = oneTurnApart();

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
      // The same object twice in one batch (S3 may send an event twice): the second waits for the
      // first and then finds it finished, instead of both preparing and sending it at once.
      const object = objectOf(record);
      const previous = lastTaskOf.get(object) ?? Promise.resolve();
      const turn = nextStart();
      const task = previous.then(() =>
        limit(async () => {
          await turn;
          const remainingMs = context.getRemainingTimeInMillis();
          if (remainingMs < config.minRemainingTimeMs) {
            notStarted += 1;
            failed.add(message.messageId);
            return;
          }
          // now + remaining is the invocation's end, the same for every record of the batch.
          const deadlineMs = nowMs() + remainingMs - deadlineMarginMs(config.minRemainingTimeMs);
          const delivery = { receiveCount: receiveCountOf(message) };
          const outcome = await runWithDeadline(deadlineMs, () => runRecord(record, message.messageId, batchDeps, delivery));
          if (outcome.status === 'retry') {
            failed.add(message.messageId);
            if (outcome.retryAfterSeconds !== undefined) {
              retryAfterSeconds.set(message.messageId, Math.max(retryAfterSeconds.get(message.messageId) ?? 0, outcome.retryAfterSeconds));
            }
          }
        }),
      );
      lastTaskOf.set(object, task);
      tasks.push(task);
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
  await delayRedeliveries(event, retryAfterSeconds, deps, context);
  return {
    batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId })),
  };
}

/** Time kept after the visibility changes for returning the batch response (ms). */
export const VISIBILITY_CHANGE_RESERVE_MS = 500;

/**
 * Sets each delayed message's visibility to its `Retry-After` (clamped to SQS's 12 h). Runs
 * the changes concurrently and never throws: a failed change is logged with the message id.
 * The changes get what is left of the invocation (less a small reserve): a hung SQS call must
 * not make the function time out, which would fail the whole batch instead of its failed part.
 */
async function delayRedeliveries(
  event: SQSEvent,
  delays: ReadonlyMap<string, number>,
  deps: IngestDependencies,
  context: InvocationClock,
): Promise<void> {
  if (delays.size === 0) return;
  const { logger, visibility } = deps;
  const messages = event.Records.filter((r) => delays.has(r.messageId));
  if (!visibility) {
    logger.warn(
      "iBinder asked for a later retry, but no queue port is configured to delay the messages: SQS retries them after the queue's visibility timeout",
      {
        messageIds: messages.map((m) => m.messageId),
      },
    );
    return;
  }
  await Promise.all(
    messages.map(async (message) => {
      const askedSeconds = delays.get(message.messageId) ?? 0;
      const seconds = Math.min(Math.max(0, Math.ceil(askedSeconds)), MAX_VISIBILITY_TIMEOUT_SECONDS);
      if (seconds < askedSeconds) {
        logger.warn('iBinder asked for a retry later than SQS can delay a message: the visibility is set to the 12-hour maximum', {
          messageId: message.messageId,
          retryAfterSeconds: askedSeconds,
          visibilityTimeoutSeconds: seconds,
        });
      }
      try {
        await withinTime(
          visibility.change(
            { messageId: message.messageId, receiptHandle: message.receiptHandle, eventSourceARN: message.eventSourceARN },
            seconds,
          ),
          Math.max(0, context.getRemainingTimeInMillis() - VISIBILITY_CHANGE_RESERVE_MS),
        );
        logger.info('message delayed as iBinder asked (Retry-After): it is redelivered after its new visibility timeout', {
          messageId: message.messageId,
          visibilityTimeoutSeconds: seconds,
        });
      } catch (err) {
        logger.error(
          "could not delay the message as iBinder asked (ChangeMessageVisibility failed): it is still reported as failed and comes back after the queue's visibility timeout; check the function's sqs:ChangeMessageVisibility permission on the queue",
          { messageId: message.messageId, visibilityTimeoutSeconds: seconds, error: err as Error },
        );
      }
    }),
  );
}

/** `work`, or a rejection once `ms` have passed without it settling. */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms, the time left in this invocation`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Start turns one event-loop turn apart: the first is now, each next one a `setImmediate` after
 * the one before (so after that record's synchronous start and its promise steps, and after the
 * I/O callbacks that were ready). A record that waits longer anyway (for a slot, or for an
 * earlier event of its object) finds its turn long past.
 */
function oneTurnApart(): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  return () => {
    const turn = last;
    last = turn.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    return turn;
  };
}

/** One object version (one upload of an unversioned key), as far as the event names it. */
function objectOf(record: S3ObjectEvent): string {
  return JSON.stringify([record.bucket, record.key, record.versionId ?? null, record.sequencer ?? null]);
}

/** SQS's ApproximateReceiveCount of the message (1 on its first delivery); undefined when absent or not a count. */
function receiveCountOf(message: SQSRecord): number | undefined {
  const count = Number(message.attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : undefined;
}

/** processObjectRecord never throws by contract; a bug that makes it throw still only fails its message. */
async function runRecord(
  record: S3ObjectEvent,
  messageId: string,
  deps: IngestDependencies,
  delivery: DeliveryInfo,
): Promise<RecordOutcome> {
  try {
    return await processObjectRecord(record, messageId, deps, delivery);
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
