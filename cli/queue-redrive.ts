/**
 * Moves messages from a dead-letter queue back to the queue it serves: receive a batch, send
 * it to the target, and delete from the source only what the target accepted. A message is
 * therefore never lost; at worst (a delete that fails after the send) it is in both queues,
 * which the consumers tolerate (the ingest ledger and the export ledger make a repeat a no-op).
 *
 * SQS's own StartMessageMoveTask does the same server-side, but only between a DLQ and its
 * source queue as SQS knows them, and local simulators do not offer it; receive/send/delete
 * works everywhere and moves at most the number of messages counted at the start, so a
 * message that fails again and returns to the DLQ during the move is not chased in a loop.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** SQS's per-call limit for receive, send batch and delete batch. */
const BATCH = 10;
/** How long received messages stay hidden from other consumers while they are moved (s). */
const VISIBILITY_TIMEOUT_SECONDS = 60;
/** Empty receives in a row after which the source counts as drained (short polls can miss messages). */
const EMPTY_RECEIVES_TO_STOP = 3;

export interface QueueCount {
  /** ApproximateNumberOfMessages: waiting to be received. */
  visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received by someone and not yet deleted. */
  inFlight: number;
}

export async function countMessages(sqs: SQSClient, queueUrl: string): Promise<QueueCount> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export interface MoveRequest {
  from: string;
  to: string;
  /** Most messages to move. */
  limit: number;
  /** Long-poll wait per receive (s); SQS allows 0-20. Default 1. */
  waitTimeSeconds?: number;
  onProgress?: (moved: number) => void;
}

export interface MoveFailure {
  messageId: string;
  /** `send`: still in the source (it reappears after the visibility timeout). `delete`: now in both queues. */
  step: 'send' | 'delete';
  reason: string;
}

export interface MoveResult {
  moved: number;
  failures: MoveFailure[];
}

export async function moveMessages(sqs: SQSClient, request: MoveRequest): Promise<MoveResult> {
  let moved = 0;
  let empty = 0;
  const failures: MoveFailure[] = [];
  while (moved < request.limit && empty < EMPTY_RECEIVES_TO_STOP) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: request.from,
        MaxNumberOfMessages: Math.min(BATCH, request.limit - moved),
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        WaitTimeSeconds: request.waitTimeSeconds ?? 1,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = (received.Messages ?? []).filter(
      (m): m is Message & { ReceiptHandle: string; Body: string } => m.ReceiptHandle !== undefined && m.Body !== undefined,
    );
    if (messages.length === 0) {
      empty += 1;
      continue;
    }
    empty = 0;

    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: request.to,
        Entries: messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body,
          ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0 ? { MessageAttributes: m.MessageAttributes } : {}),
        })),
      }),
    );
    for (const f of sent.Failed ?? []) {
      const message = messages[Number(f.Id)];
      failures.push({
        messageId: message?.MessageId ?? `#${f.Id}`,
        step: 'send',
        reason: `${f.Code ?? 'error'}${f.Message ? `: ${f.Message}` : ''}`,
      });
    }
    const accepted = (sent.Successful ?? []).flatMap((s) => {
      const message = messages[Number(s.Id)];
      return message ? [{ id: s.Id ?? '', message }] : [];
    });
    if (accepted.length === 0) break; // the target refuses everything: stop instead of cycling

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: request.from,
        Entries: accepted.map(({ id, message }) => ({ Id: id, ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    for (const f of deleted.Failed ?? []) {
      const message = accepted.find((a) => a.id === f.Id)?.message;
      failures.push({
        messageId: message?.MessageId ?? `#${f.Id}`,
        step: 'delete',
        reason: `${f.Code ?? 'error'}${f.Message ? `: ${f.Message}` : ''}`,
      });
    }
    moved += accepted.length;
    request.onProgress?.(moved);
  }
  return { moved, failures };
}
