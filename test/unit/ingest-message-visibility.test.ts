/**
 * The visibility port the ingest uses to honour a long `Retry-After`: against SQS (the queue URL
 * from the event's ARN, or configured) and against the local SQS simulator, which must delay
 * the message exactly as SQS would so that the demo and the integration tests behave alike.
 */
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { queueUrlOfArn, SqsMessageVisibility } from '../../functions/ingest/message-visibility.js';
import { SimulatedClock } from '../../local/simulated-clock.js';
import { simulatedMessageVisibility, SqsSimulator } from '../../local/sqs-simulator.js';

const sqs = mockClient(SQSClient);
beforeEach(() => sqs.reset());

const ARN = 'arn:aws:sqs:eu-north-1:123456789012:ibinder-pipeline-prod-ingest';

describe('queueUrlOfArn', () => {
  it('derives the queue URL of a queue ARN, China regions included', () => {
    expect(queueUrlOfArn(ARN)).toBe('https://sqs.eu-north-1.amazonaws.com/123456789012/ibinder-pipeline-prod-ingest');
    expect(queueUrlOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo',
    );
  });

  it('names the ARN it cannot read', () => {
    expect(() => queueUrlOfArn('arn:aws:s3:::bucket')).toThrow(/"arn:aws:s3:::bucket" is not an SQS queue ARN/);
  });
});

describe('SqsMessageVisibility', () => {
  const message = { messageId: 'm-1', receiptHandle: 'rh-1', eventSourceARN: ARN };

  it('calls ChangeMessageVisibility on the queue of the event ARN with the receipt handle', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await new SqsMessageVisibility(new SQSClient({ region: 'eu-north-1' })).change(message, 120);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([
      {
        QueueUrl: 'https://sqs.eu-north-1.amazonaws.com/123456789012/ibinder-pipeline-prod-ingest',
        ReceiptHandle: 'rh-1',
        VisibilityTimeout: 120,
      },
    ]);
  });

  it('uses a configured queue URL when given one', async () => {
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
    await new SqsMessageVisibility(new SQSClient({ region: 'eu-north-1' }), {
      queueUrl: 'http://127.0.0.1:9324/000000000000/ingest',
    }).change(message, 5);
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand)[0]?.args[0].input.QueueUrl).toBe('http://127.0.0.1:9324/000000000000/ingest');
  });
});

describe('the SQS simulator honours a visibility change', () => {
  it('does not redeliver a failed message that was delayed before its new visibility has passed', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const queue = new SqsSimulator({ clock, queueName: 'visibility-test', visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
    const { messageId } = queue.send('{"hello":"world"}');
    const port = simulatedMessageVisibility();
    const deliveries: number[] = [];
    const report = await queue.drainWithLambda(
      async (event) => {
        deliveries.push(clock.now());
        const record = event.Records[0];
        if (!record) throw new Error('empty batch');
        if (deliveries.length === 1) {
          await port.change(
            { messageId: record.messageId, receiptHandle: record.receiptHandle, eventSourceARN: record.eventSourceARN },
            600,
          );
          return { batchItemFailures: [{ itemIdentifier: record.messageId }] };
        }
        return { batchItemFailures: [] };
      },
      { maxRounds: 5 },
    );
    expect(report.invocations.map((i) => i.messageIds)).toEqual([[messageId], [messageId]]);
    // Redelivered 600 s after the first delivery, not after the queue's 30 s.
    expect((deliveries[1] ?? 0) - (deliveries[0] ?? 0)).toBe(600_000);
    expect(report.drained).toBe(true);
  });

  it('refuses what SQS refuses: a timeout out of range, a stale receipt handle, an unknown queue', async () => {
    const queue = new SqsSimulator({ clock: new SimulatedClock(0), queueName: 'visibility-refusals' });
    queue.send('x');
    const [first] = queue.receive();
    if (!first) throw new Error('nothing received');
    expect(() => queue.changeVisibility(first.receiptHandle, 43_201)).toThrow(/from 0 to 43200 seconds, got 43201/);
    expect(() => queue.changeVisibility(first.receiptHandle, 1.5)).toThrow(RangeError);
    expect(queue.changeVisibility('not-a-handle#1#x', 10)).toBe(false);
    const port = simulatedMessageVisibility();
    await expect(
      port.change({ messageId: 'm', receiptHandle: first.receiptHandle, eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:nowhere' }, 10),
    ).rejects.toThrow(/no simulated queue has the ARN/);
    await expect(port.change({ messageId: 'm', receiptHandle: 'stale#1#x', eventSourceARN: queue.arn }, 10)).rejects.toThrow(
      /not the message's latest/,
    );
    await expect(
      port.change({ messageId: 'm', receiptHandle: first.receiptHandle, eventSourceARN: queue.arn }, 10),
    ).resolves.toBeUndefined();
  });
});
