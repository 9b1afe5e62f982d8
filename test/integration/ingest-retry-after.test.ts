/**
 * Faults retried where they happen, end to end on the local stack (emulator, local S3, local
 * DynamoDB, the SQS simulator, the real ingest handler):
 * - a 429 whose `Retry-After` is longer than the invocation can wait is not waited: the message
 *   goes back with its visibility set to that wait, and SQS hands it out again then, not after
 *   the queue's shorter visibility timeout;
 * - a storage 503 during the presigned PUT is retried within the delivery, with the file sent
 *   whole again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLambdaContext } from '../../local/lambda-context.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { ROUTE, onlyDocumentNamed, purgeQueue, resetEmulator, sampleBytes, sha256Hex, validTags } from '../helpers/ingest-scenarios.js';

const QUEUE_VISIBILITY_SECONDS = 30;

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ queue: { visibilityTimeoutSeconds: QUEUE_VISIBILITY_SECONDS } });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await purgeQueue(stack);
  resetEmulator(stack);
});

describe('ingest: Retry-After and storage faults', () => {
  it('hands a record back with its visibility set to a Retry-After too long for the invocation, and ingests it on the redelivery', async () => {
    const key = 'inbox/it-retry-after/Long wait.pdf';
    const bytes = sampleBytes('long Retry-After');
    await stack.putInboxObject(key, bytes, validTags());
    const waits: number[] = [];
    const deps = stack.createIngestDeps({ ibinder: { sleep: async (ms) => void waits.push(ms) } });
    stack.services.emulator.faults.add({ route: ROUTE.commit, status: 429, retryAfterSeconds: 600, times: 1 });

    // 40 s per invocation: the record's deadline is about 30 s away, far less than 600 s.
    const report = await stack.drainIngest({ deps, createContext: () => createLambdaContext({ timeoutMs: 40_000 }) });

    expect(report.invocations.map((i) => i.failedMessageIds.length)).toEqual([1, 0]);
    const [first, second] = report.invocations;
    // Redelivered when iBinder asked (600 s later), not after the queue's 30 s.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(600_000);
    expect(waits.filter((ms) => ms >= 600_000)).toEqual([]);
    expect(report.deadLetters).toEqual([]);
    const { versions } = onlyDocumentNamed(stack, 'Long wait.pdf');
    expect(versions).toHaveLength(1);
  });

  it('retries a storage 503 within the delivery and commits the whole file once', async () => {
    const key = 'inbox/it-retry-after/Storage hiccup.pdf';
    const bytes = sampleBytes('storage 503 then success');
    await stack.putInboxObject(key, bytes, validTags());
    const deps = stack.createIngestDeps();
    const { emulator } = stack.services;
    emulator.faults.add({ route: ROUTE.storagePut, status: 503, times: 2 });

    const report = await stack.drainIngest({ deps });

    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(emulator.calls.count(ROUTE.storagePut, 503)).toBe(2);
    expect(emulator.calls.count(ROUTE.presign)).toBe(1);
    const { versions } = onlyDocumentNamed(stack, 'Storage hiccup.pdf');
    const version = versions[0];
    if (!version) throw new Error('no version committed');
    expect(await emulator.state.versionContent(version.id)).toEqual({ sha256: sha256Hex(bytes), size: bytes.length });
  });
});
