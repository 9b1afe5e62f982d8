/**
 * An in-memory SQS standard queue with the semantics the ingest function relies on: delayed
 * delivery, batches, a visibility timeout, `ApproximateReceiveCount`, a redrive policy that
 * moves a message to a dead-letter list once it has been received `maxReceiveCount` times, and
 * receipt handles that go stale on re-delivery. Time comes from a SimulatedClock, so a test or
 * the demo steps over a three-minute visibility timeout without sleeping.
 *
 * `drainWithLambda` plays the part of Lambda's SQS event source mapping with
 * `ReportBatchItemFailures`: it hands real-shaped SQSEvents to a handler and deletes exactly the
 * messages the handler did not report as failed. (No Node 20-compatible SQS emulator exists on
 * npm; this is the smallest faithful stand-in.)
 *
 * A handler delays a message as it would in AWS, with ChangeMessageVisibility: the
 * `simulatedMessageVisibility` port finds the simulator by the event's queue ARN (each simulator
 * registers itself under its ARN, the newest one winning) and moves the message's visibility,
 * so that a `Retry-After` longer than an invocation is honoured by the demo and the tests too.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { SimulatedClock } from './simulated-clock.js';
import { createLambdaContext } from './lambda-context.js';
import type { MessageVisibility, ReceivedMessageRef } from '../functions/ingest/message-visibility.js';

/** SQS's largest message (1 MiB since 2025). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** SQS's largest per-message delay. */
export const MAX_DELAY_SECONDS = 900;
/** SQS's largest batch for one ReceiveMessage call. */
export const MAX_RECEIVE_BATCH = 10;
/** SQS's longest visibility timeout (12 h). */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** The simulators of this process by queue ARN, as SQS finds a queue: the newest one per ARN. */
const simulatorsByArn = new Map<string, WeakRef<SqsSimulator>>();

export interface SqsSimulatorOptions {
  /** Becomes part of the queue's ARN and URL. Default `ingest-queue`. */
  queueName?: string;
  /** Default 30 s, as SQS. The stack sets six times the function timeout. */
  visibilityTimeoutSeconds?: number;
  /** Redrive policy: receives before a message goes to the dead-letter list. Default 3. */
  maxReceiveCount?: number;
  clock?: SimulatedClock;
  region?: string;
  accountId?: string;
}

export interface SendOptions {
  delaySeconds?: number;
}

/** What ReceiveMessage returns per message (the attributes the Lambda event carries). */
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes: {
    ApproximateReceiveCount: string;
    SentTimestamp: string;
    SenderId: string;
    ApproximateFirstReceiveTimestamp: string;
  };
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  sentAt: number;
  movedAt: number;
}

export interface QueueDepth {
  /** Receivable now. */
  visible: number;
  /** Received and not yet deleted, invisible until their timeout passes. */
  inFlight: number;
  /** Sent with a delay that has not passed yet. */
  delayed: number;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentAt: number;
  /** The message is receivable from this time on (delay or visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** Only the handle of the latest receive deletes the message, as in SQS. */
  currentReceiptHandle: string | undefined;
  sequence: number;
}

/** The handler shape of an SQS-triggered Lambda function. */
// biome-ignore lint/suspicious/noConfusingVoidType: the aws-lambda Handler type returns void when a handler reports no failures, and real handlers are typed that way
export type SqsLambdaHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined>;

export interface DrainOptions {
  /** Records per invocation (the event source mapping's BatchSize). Default 10. */
  batchSize?: number;
  /** Stop after this many handler invocations even if messages remain. Default 50. */
  maxRounds?: number;
  /** A fresh Lambda context per invocation. Default: `createLambdaContext()`. */
  createContext?: () => Context;
  /**
   * Called before each invocation with the round number (1-based) and the records about to be
   * delivered: the demo uses it to tag an object "a moment later", between two deliveries.
   */
  beforeRound?: (round: number, event: SQSEvent) => Promise<void> | void;
}

export interface InvocationReport {
  round: number;
  /** Simulated time of the invocation. */
  at: number;
  messageIds: string[];
  /** Message ids the handler reported as failed (all of them when it threw or answered badly). */
  failedMessageIds: string[];
  /** Set when the handler threw or returned a response Lambda would treat as a failed batch. */
  batchError?: string;
}

export interface DrainReport {
  invocations: InvocationReport[];
  /** Messages deleted after a successful invocation. */
  deleted: number;
  /** True when the queue held nothing (visible, in flight or delayed) at the end. */
  drained: boolean;
  depth: QueueDepth;
  /**
   * Messages moved to the dead-letter list during this drain, oldest first: a copy, so a
   * report keeps saying what its own drain did when later drains dead-letter more (the whole
   * list is `SqsSimulator.deadLetters`).
   */
  deadLetters: readonly DeadLetter[];
}

export class SqsSimulator {
  readonly queueName: string;
  readonly arn: string;
  readonly url: string;
  readonly region: string;
  readonly clock: SimulatedClock;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;

  private readonly messages = new Map<string, StoredMessage>();
  private readonly dead: DeadLetter[] = [];
  private sequence = 0;

  constructor(options: SqsSimulatorOptions = {}) {
    this.queueName = options.queueName ?? 'ingest-queue';
    this.region = options.region ?? 'us-east-1';
    const accountId = options.accountId ?? '000000000000';
    this.arn = `arn:aws:sqs:${this.region}:${accountId}:${this.queueName}`;
    this.url = `https://sqs.${this.region}.amazonaws.com/${accountId}/${this.queueName}`;
    this.clock = options.clock ?? new SimulatedClock();
    this.visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 30;
    this.maxReceiveCount = options.maxReceiveCount ?? 3;
    if (!Number.isInteger(this.visibilityTimeoutSeconds) || this.visibilityTimeoutSeconds < 0 || this.visibilityTimeoutSeconds > 43_200) {
      throw new RangeError(`visibilityTimeoutSeconds must be an integer from 0 to 43200 (12 h), got ${this.visibilityTimeoutSeconds}`);
    }
    if (!Number.isInteger(this.maxReceiveCount) || this.maxReceiveCount < 1 || this.maxReceiveCount > 1000) {
      throw new RangeError(`maxReceiveCount must be an integer from 1 to 1000, got ${this.maxReceiveCount}`);
    }
    simulatorsByArn.set(this.arn, new WeakRef(this));
  }

  /** The simulator registered under a queue ARN (the newest one), or undefined. */
  static byArn(arn: string): SqsSimulator | undefined {
    return simulatorsByArn.get(arn)?.deref();
  }

  /** SendMessage. Returns the new message's id. */
  send(body: string, options: SendOptions = {}): { messageId: string } {
    const bytes = Buffer.byteLength(body, 'utf8');
    if (bytes === 0) throw new RangeError(`SendMessage to ${this.queueName}: the body is empty; SQS requires at least one character`);
    if (bytes > MAX_MESSAGE_BYTES) {
      throw new RangeError(`SendMessage to ${this.queueName}: the body is ${bytes} bytes; SQS accepts at most ${MAX_MESSAGE_BYTES}`);
    }
    const delaySeconds = options.delaySeconds ?? 0;
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS) {
      throw new RangeError(
        `SendMessage to ${this.queueName}: delaySeconds must be an integer from 0 to ${MAX_DELAY_SECONDS}, got ${delaySeconds}`,
      );
    }
    const now = this.clock.now();
    const messageId = randomUUID();
    this.messages.set(messageId, {
      messageId,
      body,
      md5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
      sentAt: now,
      visibleAt: now + delaySeconds * 1000,
      receiveCount: 0,
      firstReceivedAt: undefined,
      currentReceiptHandle: undefined,
      sequence: this.sequence++,
    });
    return { messageId };
  }

  /**
   * ReceiveMessage. Messages that have already been received `maxReceiveCount` times are moved
   * to the dead-letter list instead of being delivered again (the redrive policy).
   */
  receive(options: { maxMessages?: number; visibilityTimeoutSeconds?: number } = {}): ReceivedMessage[] {
    const maxMessages = options.maxMessages ?? 1;
    if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > MAX_RECEIVE_BATCH) {
      throw new RangeError(
        `ReceiveMessage from ${this.queueName}: maxMessages must be an integer from 1 to ${MAX_RECEIVE_BATCH}, got ${maxMessages}`,
      );
    }
    const timeoutMs = (options.visibilityTimeoutSeconds ?? this.visibilityTimeoutSeconds) * 1000;
    const now = this.clock.now();
    const received: ReceivedMessage[] = [];
    for (const message of this.visibleInOrder(now)) {
      if (received.length >= maxMessages) break;
      if (message.receiveCount >= this.maxReceiveCount) {
        this.moveToDeadLetters(message, now);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.visibleAt = now + timeoutMs;
      message.currentReceiptHandle = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      received.push({
        messageId: message.messageId,
        receiptHandle: message.currentReceiptHandle,
        body: message.body,
        md5OfBody: message.md5OfBody,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          SenderId: 'AIDALOCALSIMULATOR000',
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
        },
      });
    }
    return received;
  }

  /**
   * DeleteMessage. As in SQS, a handle from an earlier receive of a message that has since
   * been received again does not delete it; the call reports that by returning false.
   */
  delete(receiptHandle: string): boolean {
    const message = this.findByReceiptHandle(receiptHandle);
    if (!message) return false;
    this.messages.delete(message.messageId);
    return true;
  }

  /**
   * ChangeMessageVisibility: the message becomes receivable `visibilityTimeoutSeconds` from now
   * (0: at once). As in SQS, the value must be an integer from 0 to 43,200 (12 h), and a stale
   * receipt handle changes nothing (false).
   */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): boolean {
    if (
      !Number.isInteger(visibilityTimeoutSeconds) ||
      visibilityTimeoutSeconds < 0 ||
      visibilityTimeoutSeconds > MAX_VISIBILITY_TIMEOUT_SECONDS
    ) {
      throw new RangeError(
        `ChangeMessageVisibility on ${this.queueName}: the visibility timeout must be an integer from 0 to ${MAX_VISIBILITY_TIMEOUT_SECONDS} seconds, got ${visibilityTimeoutSeconds}`,
      );
    }
    const message = this.findByReceiptHandle(receiptHandle);
    if (!message) return false;
    message.visibleAt = this.clock.now() + visibilityTimeoutSeconds * 1000;
    return true;
  }

  depth(): QueueDepth {
    const now = this.clock.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of this.messages.values()) {
      if (m.visibleAt <= now) visible += 1;
      else if (m.receiveCount > 0) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  /** True when nothing is left: no visible, in-flight or delayed message. */
  isEmpty(): boolean {
    return this.messages.size === 0;
  }

  /** The dead-letter queue's contents, oldest first. */
  get deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  /** When the next invisible message becomes receivable, or undefined when none is waiting. */
  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const m of this.messages.values()) {
      if (next === undefined || m.visibleAt < next) next = m.visibleAt;
    }
    return next;
  }

  /**
   * Lambda's event source mapping, one invocation at a time: receive up to `batchSize`
   * messages, invoke the handler, delete every message not listed in `batchItemFailures`. A
   * handler that throws, or answers with an identifier Lambda would not accept, fails the whole
   * batch. Failed messages stay invisible until their visibility timeout passes; when nothing is
   * receivable the simulated clock is moved to the moment the next message is (which is also
   * when a message that has used up its receives moves to the dead-letter list). Ends when the
   * queue is empty or after `maxRounds` invocations. The report's `deadLetters` are the
   * messages this drain dead-lettered, not those of earlier drains.
   */
  async drainWithLambda(handler: SqsLambdaHandler, options: DrainOptions = {}): Promise<DrainReport> {
    const batchSize = options.batchSize ?? 10;
    const maxRounds = options.maxRounds ?? 50;
    const createContext = options.createContext ?? (() => createLambdaContext());
    const invocations: InvocationReport[] = [];
    const deadBefore = this.dead.length;
    let deleted = 0;

    while (invocations.length < maxRounds && !this.isEmpty()) {
      const batch = this.receive({ maxMessages: Math.min(batchSize, MAX_RECEIVE_BATCH) });
      if (batch.length === 0) {
        // Everything left is in flight, delayed, or due for the dead-letter list: step the clock.
        const next = this.nextVisibleAt();
        if (next === undefined) break;
        this.clock.advanceTo(next);
        continue;
      }
      const round = invocations.length + 1;
      const event = this.toLambdaEvent(batch);
      await options.beforeRound?.(round, event);
      const at = this.clock.now();
      const ids = batch.map((m) => m.messageId);
      let failed: Set<string>;
      let batchError: string | undefined;
      try {
        const response = await handler(event, createContext());
        const verdict = interpretBatchResponse(response, ids);
        failed = verdict.failed;
        batchError = verdict.error;
      } catch (err) {
        failed = new Set(ids);
        batchError = `handler threw: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
      }
      for (const message of batch) {
        if (!failed.has(message.messageId) && this.delete(message.receiptHandle)) deleted += 1;
      }
      invocations.push({
        round,
        at,
        messageIds: ids,
        failedMessageIds: ids.filter((id) => failed.has(id)),
        ...(batchError !== undefined ? { batchError } : {}),
      });
    }
    return { invocations, deleted, drained: this.isEmpty(), depth: this.depth(), deadLetters: this.dead.slice(deadBefore) };
  }

  /** Builds the SQSEvent Lambda would deliver for these messages. */
  toLambdaEvent(batch: readonly ReceivedMessage[]): SQSEvent {
    return {
      Records: batch.map(
        (m): SQSRecord => ({
          messageId: m.messageId,
          receiptHandle: m.receiptHandle,
          body: m.body,
          attributes: { ...m.attributes },
          messageAttributes: {},
          md5OfBody: m.md5OfBody,
          eventSource: 'aws:sqs',
          eventSourceARN: this.arn,
          awsRegion: this.region,
        }),
      ),
    };
  }

  private visibleInOrder(now: number): StoredMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.visibleAt <= now)
      .sort((a, b) => a.visibleAt - b.visibleAt || a.sequence - b.sequence);
  }

  private moveToDeadLetters(message: StoredMessage, now: number): void {
    this.messages.delete(message.messageId);
    this.dead.push({
      messageId: message.messageId,
      body: message.body,
      receiveCount: message.receiveCount,
      sentAt: message.sentAt,
      movedAt: now,
    });
  }

  private findByReceiptHandle(receiptHandle: string): StoredMessage | undefined {
    const messageId = receiptHandle.split('#', 1)[0] ?? '';
    const message = this.messages.get(messageId);
    return message && message.currentReceiptHandle === receiptHandle ? message : undefined;
  }
}

/**
 * The ingest's visibility port against the simulators of this process: the message's queue is
 * found by its event's ARN. Fails like SQS would (a queue that does not exist, a receipt handle
 * that is no longer the message's latest), so the caller's error path is exercised too.
 */
export function simulatedMessageVisibility(): MessageVisibility {
  return {
    change(message: ReceivedMessageRef, visibilityTimeoutSeconds: number): Promise<void> {
      const queue = SqsSimulator.byArn(message.eventSourceARN);
      if (!queue) {
        return Promise.reject(
          new Error(`ChangeMessageVisibility for message ${message.messageId}: no simulated queue has the ARN ${message.eventSourceARN}`),
        );
      }
      if (!queue.changeVisibility(message.receiptHandle, visibilityTimeoutSeconds)) {
        return Promise.reject(
          new Error(
            `ChangeMessageVisibility for message ${message.messageId} on ${queue.queueName}: the receipt handle is not the message's latest (deleted or received again)`,
          ),
        );
      }
      return Promise.resolve();
    },
  };
}

/**
 * Lambda's reading of a partial batch response: no response or an empty list means every
 * record succeeded; an identifier that is missing, empty or not in the batch fails the whole
 * batch (AWS Lambda developer guide, "Implementing partial batch responses").
 */
export function interpretBatchResponse(response: unknown, messageIds: readonly string[]): { failed: Set<string>; error?: string } {
  if (response === undefined || response === null) return { failed: new Set() };
  if (typeof response !== 'object')
    return { failed: new Set(messageIds), error: `handler returned ${typeof response}, not a batch response` };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { failed: new Set() };
  if (!Array.isArray(failures)) return { failed: new Set(messageIds), error: 'batchItemFailures is not an array' };
  const known = new Set(messageIds);
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '' || !known.has(id)) {
      return {
        failed: new Set(messageIds),
        error: `batchItemFailures names ${JSON.stringify(id)}, which is not a message of this batch: Lambda fails the whole batch`,
      };
    }
    failed.add(id);
  }
  return { failed };
}
