/**
 * The local counterpart of the stack's bucket notification: ObjectCreated events under the
 * inbox prefix of the inbox bucket become S3 event notification messages on the (simulated)
 * ingest queue, one record per message, as S3 publishes them. Every message sent is kept, so
 * the demo and tests can deliver one a second time, as S3 and SQS occasionally do.
 */
import type { S3ObjectChange } from './s3-event-notification.js';
import { EventSequencer, toS3EventNotification } from './s3-event-notification.js';
import type { SqsSimulator } from './sqs-simulator.js';

export interface InboxNotificationOptions {
  bucket: string;
  /** Default `inbox/`. */
  prefix?: string;
  region?: string;
  /**
   * S3 publishes an `s3:TestEvent` when a notification configuration is saved; the ingest must
   * acknowledge it. Default false.
   */
  sendTestEvent?: boolean;
}

export interface SentNotification {
  key: string;
  messageId: string;
  body: string;
}

export interface InboxNotifications {
  /** Every message sent so far, oldest first. */
  readonly sent: readonly SentNotification[];
  /** The latest message sent for a key (to deliver it again). */
  lastFor(key: string): SentNotification | undefined;
  /** Stops forwarding. */
  stop(): void;
}

export interface ObjectChangeSource {
  onObjectChange(listener: (change: S3ObjectChange) => void): () => void;
}

export function forwardInboxNotifications(
  source: ObjectChangeSource,
  queue: SqsSimulator,
  options: InboxNotificationOptions,
): InboxNotifications {
  const prefix = options.prefix ?? 'inbox/';
  const sequencer = new EventSequencer();
  const sent: SentNotification[] = [];

  if (options.sendTestEvent) {
    const body = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: new Date(queue.clock.now()).toISOString(),
      Bucket: options.bucket,
      RequestId: 'LOCALTESTEVENT01',
      HostId: 'local',
    });
    sent.push({ key: '', messageId: queue.send(body).messageId, body });
  }

  const unsubscribe = source.onObjectChange((change) => {
    if (change.bucket !== options.bucket || !change.key.startsWith(prefix) || !change.eventName.startsWith('ObjectCreated:')) return;
    const body = JSON.stringify(
      toS3EventNotification(change, {
        sequencer: sequencer.next(change.time.getTime()),
        ...(options.region ? { region: options.region } : {}),
      }),
    );
    sent.push({ key: change.key, messageId: queue.send(body).messageId, body });
  });

  return {
    sent,
    lastFor: (key) => [...sent].reverse().find((n) => n.key === key),
    stop: unsubscribe,
  };
}
