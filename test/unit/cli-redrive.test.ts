/**
 * `redrive` against an in-memory stand-in for SQS (aws-sdk-client-mock with stateful fakes):
 * counting, the confirmation rules, moving with body and attributes intact, deleting only what
 * the target accepted, and the default queues from the environment's stack outputs.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { bufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';

const DLQ = 'https://sqs.eu-north-1.amazonaws.com/111122223333/ingest-dlq';
const QUEUE = 'https://sqs.eu-north-1.amazonaws.com/111122223333/ingest';
const EXPORT_DLQ = 'https://sqs.eu-north-1.amazonaws.com/111122223333/export-dlq';
const EXPORT_QUEUE = 'https://sqs.eu-north-1.amazonaws.com/111122223333/export';

interface StoredMessage {
  id: string;
  body: string;
  attributes?: Record<string, MessageAttributeValue>;
}

/** Queues by URL: visible messages, and received ones by receipt handle until deleted. */
class FakeQueues {
  readonly visible = new Map<string, StoredMessage[]>();
  readonly inFlight = new Map<string, Map<string, StoredMessage>>();
  private handles = 0;
  /** Message ids SendMessageBatch refuses. */
  readonly refuse = new Set<string>();

  add(url: string, count: number, prefix = 'm'): void {
    const list = this.queue(url);
    for (let i = 0; i < count; i++) {
      list.push({
        id: `${prefix}${i}`,
        body: JSON.stringify({ n: i }),
        attributes: { origin: { DataType: 'String', StringValue: `source-${i}` } },
      });
    }
  }

  queue(url: string): StoredMessage[] {
    let list = this.visible.get(url);
    if (!list) this.visible.set(url, (list = []));
    return list;
  }

  flight(url: string): Map<string, StoredMessage> {
    let map = this.inFlight.get(url);
    if (!map) this.inFlight.set(url, (map = new Map()));
    return map;
  }

  bodies(url: string): string[] {
    return this.queue(url).map((m) => m.body);
  }

  install(sqs: AwsClientStub<SQSClient>): void {
    sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
      Attributes: {
        ApproximateNumberOfMessages: String(this.queue(input.QueueUrl).length),
        ApproximateNumberOfMessagesNotVisible: String(this.flight(input.QueueUrl).size),
      },
    }));
    sqs.on(ReceiveMessageCommand).callsFake((input: { QueueUrl: string; MaxNumberOfMessages: number }) => {
      const taken = this.queue(input.QueueUrl).splice(0, input.MaxNumberOfMessages);
      const messages: Message[] = taken.map((m) => {
        const handle = `handle-${++this.handles}`;
        this.flight(input.QueueUrl).set(handle, m);
        return { MessageId: m.id, ReceiptHandle: handle, Body: m.body, MessageAttributes: m.attributes };
      });
      return { Messages: messages };
    });
    sqs
      .on(SendMessageBatchCommand)
      .callsFake(
        (input: {
          QueueUrl: string;
          Entries: { Id: string; MessageBody: string; MessageAttributes?: Record<string, MessageAttributeValue> }[];
        }) => {
          const successful: { Id: string; MessageId: string; MD5OfMessageBody: string }[] = [];
          const failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
          for (const entry of input.Entries) {
            const original = JSON.parse(entry.MessageBody) as { n: number };
            if (this.refuse.has(`m${original.n}`)) {
              failed.push({ Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' });
              continue;
            }
            this.queue(input.QueueUrl).push({ id: `moved-${entry.Id}`, body: entry.MessageBody, attributes: entry.MessageAttributes });
            successful.push({ Id: entry.Id, MessageId: `moved-${entry.Id}`, MD5OfMessageBody: 'x' });
          }
          return { Successful: successful, Failed: failed };
        },
      );
    sqs.on(DeleteMessageBatchCommand).callsFake((input: { QueueUrl: string; Entries: { Id: string; ReceiptHandle: string }[] }) => {
      for (const entry of input.Entries) this.flight(input.QueueUrl).delete(entry.ReceiptHandle);
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    });
  }
}

let queues: FakeQueues;
let sqs: SQSClient;
let sqsMock: AwsClientStub<SQSClient>;

beforeEach(() => {
  queues = new FakeQueues();
  sqs = new SQSClient({ region: 'eu-north-1' });
  sqsMock = mockClient(sqs);
  queues.install(sqsMock);
});

const explicit = ['redrive', '--from', DLQ, '--to', QUEUE];

describe('redrive', () => {
  it('moves every counted message with its body and attributes, and deletes each from the dead-letter queue', async () => {
    queues.add(DLQ, 23);
    const io = bufferedIo();
    const code = await runCli([...explicit, '--yes'], io, { sqs });
    expect(code).toBe(0);
    expect(io.stdoutText()).toContain(`Moved 23 message(s) from ${DLQ} to ${QUEUE}.`);
    expect(queues.queue(DLQ)).toHaveLength(0);
    expect(queues.flight(DLQ).size).toBe(0);
    expect(queues.bodies(QUEUE)).toEqual(Array.from({ length: 23 }, (_, i) => JSON.stringify({ n: i })));
    expect(queues.queue(QUEUE)[7]?.attributes).toEqual({ origin: { DataType: 'String', StringValue: 'source-7' } });
    expect(sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.MaxNumberOfMessages)).toEqual([10, 10, 3]);
  });

  it('--dry-run counts and says what would move, asks nothing and moves nothing', async () => {
    queues.add(DLQ, 7);
    const io = bufferedIo({ tty: false });
    const code = await runCli([...explicit, '--dry-run', '--max', '5'], io, { sqs });
    expect(code).toBe(0);
    expect(io.stdoutText()).toContain(`Dry run: would move 5 of about 7 message(s) from ${DLQ} to ${QUEUE}. Nothing was moved.`);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    expect(queues.queue(DLQ)).toHaveLength(7);

    const scripted = bufferedIo();
    expect(await runCli([...explicit, '--dry-run', '--json'], scripted, { sqs })).toBe(0);
    expect(JSON.parse(scripted.stdoutText())).toMatchObject({ dryRun: true, wouldMove: 7, moved: 0 });
  });

  it('refuses without --yes when there is no terminal to ask on, and moves nothing', async () => {
    queues.add(DLQ, 4);
    const io = bufferedIo({ tty: false });
    const code = await runCli(explicit, io, { sqs });
    expect(code).toBe(2);
    expect(io.stderrText()).toContain('refusing to move 4 message(s) without a confirmation');
    expect(io.stderrText()).toContain('pass --yes');
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    expect(queues.queue(DLQ)).toHaveLength(4);
  });

  it('asks at a terminal: "y" moves, anything else cancels', async () => {
    queues.add(DLQ, 3);
    const no = bufferedIo({ tty: true, input: 'n\n' });
    expect(await runCli(explicit, no, { sqs })).toBe(1);
    expect(no.stderrText()).toContain(`Move 3 of about 3 message(s) from ${DLQ} to ${QUEUE}? [y/N]`);
    expect(no.stdoutText()).toContain('Cancelled: nothing was moved.');
    expect(queues.queue(DLQ)).toHaveLength(3);

    const yes = bufferedIo({ tty: true, input: 'y\n' });
    expect(await runCli(explicit, yes, { sqs })).toBe(0);
    expect(yes.stdoutText()).toContain('Moved 3 message(s)');
    expect(queues.queue(QUEUE)).toHaveLength(3);
  });

  it('keeps a message the target refused in the dead-letter queue and reports it (exit code 1, JSON)', async () => {
    queues.add(DLQ, 5);
    queues.refuse.add('m2');
    const io = bufferedIo();
    const code = await runCli([...explicit, '--yes', '--json'], io, { sqs });
    expect(code).toBe(1);
    const result = JSON.parse(io.stdoutText()) as { moved: number; counted: number; failures: { messageId: string; step: string }[] };
    expect(result).toMatchObject({ moved: 4, counted: 5, failures: [{ messageId: 'm2', step: 'send' }] });
    expect(queues.queue(QUEUE)).toHaveLength(4);
    // Not deleted: still received (in flight), so SQS makes it visible again after the timeout.
    expect([...queues.flight(DLQ).values()].map((m) => m.id)).toEqual(['m2']);
  });

  it('moves at most --max messages', async () => {
    queues.add(DLQ, 12);
    const io = bufferedIo();
    expect(await runCli([...explicit, '--yes', '--max', '5'], io, { sqs })).toBe(0);
    expect(queues.queue(QUEUE)).toHaveLength(5);
    expect(queues.queue(DLQ)).toHaveLength(7);
  });

  it('says there is nothing to do when the dead-letter queue is empty', async () => {
    const io = bufferedIo();
    expect(await runCli([...explicit, '--json'], io, { sqs })).toBe(0);
    expect(JSON.parse(io.stdoutText())).toMatchObject({ moved: 0, counted: 0 });
  });

  it("takes the ingest pair, or with --export the export pair, from the environment's stack outputs", async () => {
    const cloudFormation = new CloudFormationClient({ region: 'eu-north-1' });
    mockClient(cloudFormation)
      .on(DescribeStacksCommand, { StackName: 'IbinderPipeline-dev' })
      .resolves({
        Stacks: [
          {
            StackName: 'IbinderPipeline-dev',
            CreationTime: new Date(),
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: [
              { OutputKey: 'IngestQueueUrl', OutputValue: QUEUE },
              { OutputKey: 'IngestDeadLetterQueueUrl', OutputValue: DLQ },
              { OutputKey: 'ExportQueueUrl', OutputValue: EXPORT_QUEUE },
              { OutputKey: 'ExportDeadLetterQueueUrl', OutputValue: EXPORT_DLQ },
            ],
          },
        ],
      });
    queues.add(DLQ, 2, 'i');
    queues.add(EXPORT_DLQ, 3, 'e');
    expect(await runCli(['--env', 'dev', 'redrive', '--yes'], bufferedIo(), { sqs, cloudFormation })).toBe(0);
    expect(queues.queue(QUEUE)).toHaveLength(2);
    expect(queues.queue(EXPORT_QUEUE)).toHaveLength(0);

    expect(await runCli(['--env', 'dev', 'redrive', '--export', '--yes'], bufferedIo(), { sqs, cloudFormation })).toBe(0);
    expect(queues.queue(EXPORT_QUEUE)).toHaveLength(3);
    expect(queues.queue(EXPORT_DLQ)).toHaveLength(0);
  });

  it('without an environment or flags, says which flag names the queue', async () => {
    const io = bufferedIo();
    expect(await runCli(['redrive', '--yes'], io, { sqs })).toBe(2);
    expect(io.stderrText()).toContain('the ingest dead-letter queue is not known');
    expect(io.stderrText()).toContain('pass --dlq-url <value>, or --env <name>');
  });
});
