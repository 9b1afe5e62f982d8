/**
 * Setting a received SQS message's visibility, so that a record iBinder asked to retry later
 * (`Retry-After` longer than the invocation can wait) comes back at that time, not earlier
 * (with the queue's own, shorter visibility timeout) and not needlessly later.
 *
 * A port, so that the batch logic runs the same against SQS (`SqsMessageVisibility`) and against
 * the local SQS simulator (local/sqs-simulator.ts).
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** SQS's longest visibility timeout: 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** The message as the Lambda event delivered it: enough to address it in its queue. */
export interface ReceivedMessageRef {
  messageId: string;
  receiptHandle: string;
  /** The queue's ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
  eventSourceARN: string;
}

export interface MessageVisibility {
  /** ChangeMessageVisibility: the message becomes receivable `visibilityTimeoutSeconds` from now. */
  change(message: ReceivedMessageRef, visibilityTimeoutSeconds: number): Promise<void>;
}

/**
 * The queue URL of a queue ARN, e.g. `arn:aws:sqs:eu-north-1:123456789012:ingest` ->
 * `https://sqs.eu-north-1.amazonaws.com/123456789012/ingest` (China regions: `amazonaws.com.cn`).
 * Throws, naming the ARN, when it is not an SQS queue ARN.
 */
export function queueUrlOfArn(arn: string): string {
  const match = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(arn);
  if (!match)
    throw new Error(`"${arn}" is not an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>); cannot address the message's queue`);
  const [, partition, region, account, name] = match;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

export interface SqsMessageVisibilityOptions {
  /** The queue's URL when it is known (configuration); otherwise derived from the event's ARN. */
  queueUrl?: string | undefined;
}

/** ChangeMessageVisibility through the AWS SDK. */
export class SqsMessageVisibility implements MessageVisibility {
  constructor(
    private readonly sqs: SQSClient,
    private readonly options: SqsMessageVisibilityOptions = {},
  ) {}

  async change(message: ReceivedMessageRef, visibilityTimeoutSeconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.options.queueUrl ?? queueUrlOfArn(message.eventSourceARN),
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: visibilityTimeoutSeconds,
      }),
    );
  }
}
