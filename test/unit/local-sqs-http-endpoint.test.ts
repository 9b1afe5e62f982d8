/**
 * The local SQS endpoint through the AWS SDK v3 client, as the operator CLI and the AWS CLI use
 * it: the SDK's own checks (MD5 of every body, the QueueUrl as the request's host) must pass,
 * and refusals must come back as SQS's errors with the queue named.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../local/simulated-clock.js';
import { SqsSimulator } from '../../local/sqs-simulator.js';
import { startSqsHttpEndpoint, type SqsHttpEndpoint } from '../../local/sqs-http-endpoint.js';

let clock: SimulatedClock;
let work: SqsSimulator;
let dead: SqsSimulator;
let endpoint: SqsHttpEndpoint;
let sqs: SQSClient;

beforeAll(async () => {
  clock = new SimulatedClock(1_700_000_000_000);
  work = new SqsSimulator({ clock, queueName: 'work-queue', visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  dead = new SqsSimulator({ clock, queueName: 'work-dlq', visibilityTimeoutSeconds: 30, maxReceiveCount: 1000 });
  endpoint = await startSqsHttpEndpoint({ queues: [work, dead] });
  sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: endpoint.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  sqs.destroy();
  await endpoint.stop();
});

describe('local SQS endpoint (AWS JSON 1.0)', () => {
  it('listens on 127.0.0.1 and names its queues by URLs on itself', async () => {
    expect(endpoint.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls).toEqual([endpoint.queueUrl('work-queue'), endpoint.queueUrl('work-dlq')]);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'work-dlq' }))).QueueUrl).toBe(endpoint.queueUrl('work-dlq'));
  });

  it('sends, counts, receives (with the MD5 the SDK checks), changes visibility and deletes in batches', async () => {
    const url = endpoint.queueUrl('work-queue');
    const one = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"n":1} ø' }));
    expect(one.MessageId).toBeDefined();
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'two' },
          { Id: 'b', MessageBody: 'three' },
        ],
      }),
    );
    expect(batch.Successful?.map((s) => s.Id)).toEqual(['a', 'b']);
    expect(batch.Failed ?? []).toEqual([]);
    const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    expect(attributes.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '3',
      ApproximateNumberOfMessagesNotVisible: '0',
      QueueArn: work.arn,
    });

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    expect(received.Messages?.map((m) => m.Body)).toEqual(['{"n":1} ø', 'two', 'three']);
    expect((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url }))).Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('3');

    const first = received.Messages?.[0];
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    expect(again.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['{"n":1} ø', '2']]);
    // The first receive's handle is stale now, as in SQS.
    await expect(
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 0 })),
    ).rejects.toMatchObject({
      name: 'MessageNotInflight',
    });

    const handles = [again.Messages?.[0], received.Messages?.[1], received.Messages?.[2]].map((m, i) => ({
      Id: String(i),
      ReceiptHandle: m?.ReceiptHandle,
    }));
    const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: handles }));
    expect(deleted.Successful).toHaveLength(3);
    expect(work.isEmpty()).toBe(true);
  });

  it('waits for a message on a long poll, and answers an empty list when none comes', async () => {
    const url = endpoint.queueUrl('work-dlq');
    const started = Date.now();
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }))).Messages ?? []).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    setTimeout(() => dead.send('late'), 150);
    const late = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    expect(late.Messages?.map((m) => m.Body)).toEqual(['late']);
  });

  it('answers QueueDoesNotExist naming the queue and the ones it has, and InvalidParameterValue for what SQS refuses', async () => {
    const missing = sqs.send(new SendMessageCommand({ QueueUrl: endpoint.queueUrl('nope'), MessageBody: 'x' }));
    await expect(missing).rejects.toMatchObject({ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } });
    await expect(missing).rejects.toThrow(/no queue "nope".*work-queue/);
    await expect(
      sqs.send(new ReceiveMessageCommand({ QueueUrl: endpoint.queueUrl('work-queue'), MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 400 },
      message: expect.stringContaining('MaxNumberOfMessages'),
    });
    const failed = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: endpoint.queueUrl('work-queue'), Entries: [{ Id: 'empty', MessageBody: '' }] }),
    );
    expect(failed.Failed).toEqual([
      expect.objectContaining({ Id: 'empty', SenderFault: true, Message: expect.stringContaining('body is empty') }),
    ]);
  });

  it('answers UnsupportedOperation, naming what it serves, for an operation it does not serve (inherited object names included)', async () => {
    for (const operation of ['PurgeQueue', 'constructor', '__proto__']) {
      const response = await fetch(`${endpoint.endpoint}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${operation}` },
        body: '{}',
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-query-error')).toBe('AWS.SimpleQueueService.UnsupportedOperation;Sender');
      expect(((await response.json()) as { message: string }).message).toContain(
        `${operation} is not served by the local SQS endpoint; it serves GetQueueUrl`,
      );
    }
  });

  it('refuses a request in another protocol with a sentence that says which one it speaks', async () => {
    const response = await fetch(`${endpoint.endpoint}/?Action=ListQueues`, { method: 'GET' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/AWS JSON 1\.0 protocol only/);
  });
});
