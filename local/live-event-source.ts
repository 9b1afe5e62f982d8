/**
 * Lambda's SQS event source mapping in real time, for the long-running local stack
 * (`npm run local`): it polls a simulated queue, invokes the handler with a real-shaped SQSEvent
 * and deletes exactly the messages the handler did not report as failed. Failed messages come
 * back after the queue's visibility timeout; a message the queue dead-letters (its redrive
 * policy) is sent to the dead-letter queue, where `redrive` and `aws sqs` can read it. The
 * demo and the tests use `SqsSimulator.drainWithLambda` instead, which steps a simulated clock.
 */
import { createLambdaContext } from './lambda-context.js';
import { interpretBatchResponse, MAX_RECEIVE_BATCH, type SqsLambdaHandler, type SqsSimulator } from './sqs-simulator.js';

export interface LiveEventSourceOptions {
  queue: SqsSimulator;
  /** Where messages that used up their receives go (the queue's redrive target). */
  deadLetterQueue: SqsSimulator;
  handler: SqsLambdaHandler;
  /** The function name in the Lambda context (and in the lines `onInvocation` gets). */
  functionName: string;
  /** The function's timeout, for the context's remaining time. Default 60 s. */
  timeoutMs?: number;
  /** Records per invocation. Default 10. */
  batchSize?: number;
  /** How long to wait between two polls of an empty queue. Default 200 ms. */
  pollIntervalMs?: number;
  /** Told about every invocation: what was delivered and what failed. */
  onInvocation?: (invocation: LiveInvocation) => void;
  /** Told about every message moved to the dead-letter queue. */
  onDeadLetter?: (messageId: string, receiveCount: number) => void;
}

export interface LiveInvocation {
  functionName: string;
  messageIds: string[];
  failedMessageIds: string[];
  /** Set when the handler threw or answered in a way Lambda treats as a failed batch. */
  batchError?: string;
}

export interface LiveEventSource {
  /** Stops polling and waits for the invocation in progress, if any. */
  stop(): Promise<void>;
}

export function startLiveEventSource(options: LiveEventSourceOptions): LiveEventSource {
  const batchSize = Math.min(options.batchSize ?? 10, MAX_RECEIVE_BATCH);
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  let forwardedDeadLetters = options.queue.deadLetters.length;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const forwardDeadLetters = (): void => {
    const dead = options.queue.deadLetters;
    for (; forwardedDeadLetters < dead.length; forwardedDeadLetters += 1) {
      const letter = dead[forwardedDeadLetters];
      if (!letter) continue;
      options.deadLetterQueue.send(letter.body);
      options.onDeadLetter?.(letter.messageId, letter.receiveCount);
    }
  };

  const poll = async (): Promise<boolean> => {
    const batch = options.queue.receive({ maxMessages: batchSize });
    forwardDeadLetters();
    if (batch.length === 0) return false;
    const ids = batch.map((m) => m.messageId);
    let failed: Set<string>;
    let batchError: string | undefined;
    try {
      const context = createLambdaContext({ functionName: options.functionName, timeoutMs: options.timeoutMs ?? 60_000 });
      const verdict = interpretBatchResponse(await options.handler(options.queue.toLambdaEvent(batch), context), ids);
      failed = verdict.failed;
      batchError = verdict.error;
    } catch (err) {
      failed = new Set(ids);
      batchError = `handler threw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    }
    for (const message of batch) if (!failed.has(message.messageId)) options.queue.delete(message.receiptHandle);
    options.onInvocation?.({
      functionName: options.functionName,
      messageIds: ids,
      failedMessageIds: ids.filter((id) => failed.has(id)),
      ...(batchError !== undefined ? { batchError } : {}),
    });
    return true;
  };

  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      current = poll().then(
        (busy) => schedule(busy ? 0 : pollIntervalMs),
        () => schedule(pollIntervalMs),
      );
    }, delayMs);
  };
  schedule(0);

  return {
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
