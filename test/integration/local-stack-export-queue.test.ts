/**
 * The local stack's export queue, shared by the export tests: the stack's visibility timeout and
 * redrive policy unless a test asks otherwise, and a clock of its own, so that draining it does
 * not move the ingest's time (nor the ingest's drains the export's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('createExportQueue', () => {
  it("has the deployed export queue's settings by default: visibility 6 × the worker timeout, five receives", () => {
    const queue = stack.createExportQueue();
    expect([queue.visibilityTimeoutSeconds, queue.maxReceiveCount]).toEqual([6 * 900, 5]);
  });

  it("takes a test's own name and settings", () => {
    const queue = stack.createExportQueue({ queueName: 'ibinder-export-short', visibilityTimeoutSeconds: 120, maxReceiveCount: 3 });
    expect([queue.queueName, queue.visibilityTimeoutSeconds, queue.maxReceiveCount]).toEqual(['ibinder-export-short', 120, 3]);
  });

  it('keeps time apart from the ingest and from other export queues', () => {
    const first = stack.createExportQueue();
    const second = stack.createExportQueue();
    const before = [stack.clock.now(), second.clock.now()];
    first.clock.advance(3_600_000);
    expect([stack.clock.now(), second.clock.now()]).toEqual(before);
    expect(first.clock).not.toBe(stack.clock);
  });
});
