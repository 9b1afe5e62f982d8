import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { startLiveEventSource, type LiveInvocation } from '../../local/live-event-source.js';
import { SqsSimulator } from '../../local/sqs-simulator.js';
import { WallClock } from '../../local/wall-clock.js';

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('live event source (npm run local)', () => {
  it('acknowledges what the handler did not report, retries what it did, and moves a message that used its receives to the dead-letter queue', async () => {
    const clock = new WallClock();
    // Visibility 0: a failed message is receivable again at once, so the test needs no waiting.
    const queue = new SqsSimulator({ clock, queueName: 'live-work', visibilityTimeoutSeconds: 0, maxReceiveCount: 2 });
    const deadLetterQueue = new SqsSimulator({ clock, queueName: 'live-work-dlq', maxReceiveCount: 1000 });
    const seen: string[] = [];
    const invocations: LiveInvocation[] = [];
    const deadLettered: Array<[string, number]> = [];
    queue.send('good');
    const bad = queue.send('bad').messageId;

    const source = startLiveEventSource({
      queue,
      deadLetterQueue,
      functionName: 'work-local',
      batchSize: 10,
      pollIntervalMs: 10,
      handler: (event: SQSEvent) => {
        seen.push(...event.Records.map((r) => r.body));
        return Promise.resolve({
          batchItemFailures: event.Records.filter((r) => r.body === 'bad').map((r) => ({ itemIdentifier: r.messageId })),
        });
      },
      onInvocation: (invocation) => invocations.push(invocation),
      onDeadLetter: (id, receives) => deadLettered.push([id, receives]),
    });
    await until('the dead letter', () => deadLettered.length === 1);
    await source.stop();

    expect(seen.filter((b) => b === 'good')).toEqual(['good']);
    expect(seen.filter((b) => b === 'bad')).toEqual(['bad', 'bad']);
    expect(deadLettered).toEqual([[bad, 2]]);
    expect(queue.isEmpty()).toBe(true);
    expect(deadLetterQueue.receive({ maxMessages: 10 }).map((m) => m.body)).toEqual(['bad']);
    expect(invocations[0]).toMatchObject({ functionName: 'work-local', failedMessageIds: [bad] });
  });

  it('fails the whole batch when the handler throws, and says why', async () => {
    const clock = new WallClock();
    const queue = new SqsSimulator({ clock, queueName: 'live-throw', visibilityTimeoutSeconds: 60, maxReceiveCount: 3 });
    const deadLetterQueue = new SqsSimulator({ clock, queueName: 'live-throw-dlq', maxReceiveCount: 1000 });
    queue.send('x');
    const invocations: LiveInvocation[] = [];
    const source = startLiveEventSource({
      queue,
      deadLetterQueue,
      functionName: 'throwing-local',
      pollIntervalMs: 10,
      handler: () => Promise.reject(new Error('config missing')),
      onInvocation: (invocation) => invocations.push(invocation),
    });
    await until('the invocation', () => invocations.length === 1);
    await source.stop();
    expect(invocations[0]?.batchError).toMatch(/handler threw: Error: config missing/);
    expect(queue.depth()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  });
});
