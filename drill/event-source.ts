/**
 * Lambda's SQS event source mapping with more than one invocation at a time, over the local
 * SQS simulator: up to `concurrency` batches are in flight together, as with a function's
 * maximum concurrency above 1, so that a message delivered twice can be handled by two
 * invocations at once. `SqsSimulator.drainWithLambda` runs one invocation at a time.
 *
 * The simulated clock only moves when no invocation is running (to the moment the next message
 * becomes receivable): a running invocation never sees a visibility timeout or a claim lease
 * pass under it, as none does in AWS, where the visibility timeout is six times the function
 * timeout.
 */
import type { Context } from 'aws-lambda';
import { createLambdaContext } from '../local/lambda-context.js';
import { interpretBatchResponse, type ReceivedMessage, type SqsLambdaHandler, type SqsSimulator } from '../local/sqs-simulator.js';

export interface EventSourceOptions {
  /** Invocations in flight at once (the function's maximum concurrency). */
  concurrency: number;
  /** Messages per invocation (BatchSize, at most 10). */
  batchSize: number;
  /** Stop after this many invocations even if messages remain (a guard against a loop). */
  maxInvocations: number;
  /** A fresh Lambda context per invocation. Default: `createLambdaContext()`. */
  createContext?: () => Context;
}

export interface EventSourceReport {
  invocations: number;
  /** Messages handed to the function, redeliveries included. */
  deliveries: number;
  /** Invocations whose handler threw or answered with a response Lambda rejects. */
  failedInvocations: number;
  /** Messages the handler reported as failed (or all of a failed invocation's). */
  failedDeliveries: number;
  /** True when the queue held nothing at the end. */
  drained: boolean;
  /** First errors of failed invocations, for the report (at most 5). */
  invocationErrors: string[];
}

export async function runEventSource(
  queue: SqsSimulator,
  handler: SqsLambdaHandler,
  options: EventSourceOptions,
): Promise<EventSourceReport> {
  const createContext = options.createContext ?? (() => createLambdaContext());
  const report: EventSourceReport = {
    invocations: 0,
    deliveries: 0,
    failedInvocations: 0,
    failedDeliveries: 0,
    drained: false,
    invocationErrors: [],
  };
  const running = new Set<Promise<void>>();

  const invoke = async (batch: ReceivedMessage[]): Promise<void> => {
    const ids = batch.map((m) => m.messageId);
    let failed: Set<string>;
    try {
      const verdict = interpretBatchResponse(await handler(queue.toLambdaEvent(batch), createContext()), ids);
      failed = verdict.failed;
      if (verdict.error !== undefined) {
        report.failedInvocations += 1;
        if (report.invocationErrors.length < 5) report.invocationErrors.push(verdict.error);
      }
    } catch (err) {
      failed = new Set(ids);
      report.failedInvocations += 1;
      if (report.invocationErrors.length < 5)
        report.invocationErrors.push(`handler threw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    report.failedDeliveries += failed.size;
    for (const message of batch) if (!failed.has(message.messageId)) queue.delete(message.receiptHandle);
  };

  for (;;) {
    while (running.size < options.concurrency && report.invocations < options.maxInvocations) {
      const batch = queue.receive({ maxMessages: options.batchSize });
      if (batch.length === 0) break;
      report.invocations += 1;
      report.deliveries += batch.length;
      const task: Promise<void> = invoke(batch).finally(() => running.delete(task));
      running.add(task);
    }
    if (running.size > 0) {
      await Promise.race(running);
      continue;
    }
    if (queue.isEmpty() || report.invocations >= options.maxInvocations) break;
    const next = queue.nextVisibleAt();
    if (next === undefined) break;
    // Idle: everything left is invisible (retried, delayed) or due for the dead-letter list.
    queue.clock.advanceTo(next);
  }
  report.drained = queue.isEmpty();
  return report;
}
