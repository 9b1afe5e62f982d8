/**
 * An SQS work queue with its dead-letter queue, both encrypted and TLS only.
 *
 * Encryption is SSE-SQS (SQS-managed keys): S3 event notifications cannot publish to a queue
 * encrypted with the AWS-managed `alias/aws/sqs` key, whose policy S3 cannot be added to.
 * The visibility timeout follows AWS's advice for Lambda event sources: at least six times the
 * consumer's timeout plus the batching window, so a message is not handed to a second consumer
 * while the first, retried by Lambda, may still be working on it.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface QueueWithDlqProps {
  /** Timeout of the function that consumes the queue. */
  readonly consumerTimeout: Duration;
  /** Batching window of the consumer's event source. @default Duration.seconds(0) */
  readonly maxBatchingWindow?: Duration;
  /** Deliveries before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** @default Duration.days(4) (the SQS default) */
  readonly retentionPeriod?: Duration;
  /** @default Duration.days(14) (the SQS maximum, time to investigate) */
  readonly deadLetterRetentionPeriod?: Duration;
  /** @default QueueEncryption.SQS_MANAGED */
  readonly encryption?: sqs.QueueEncryption;
}

/** Visibility timeout for a queue consumed by a Lambda function (AWS: 6 x timeout + batching window). */
export function visibilityTimeoutFor(consumerTimeout: Duration, maxBatchingWindow: Duration = Duration.seconds(0)): Duration {
  return Duration.seconds(6 * consumerTimeout.toSeconds() + maxBatchingWindow.toSeconds());
}

export class QueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    const encryption = props.encryption ?? sqs.QueueEncryption.SQS_MANAGED;
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption,
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption,
      enforceSSL: true,
      visibilityTimeout: visibilityTimeoutFor(props.consumerTimeout, props.maxBatchingWindow),
      retentionPeriod: props.retentionPeriod ?? Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
