import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { deadlineMarginMs, processBatch } from '../../functions/ingest/batch.js';
import { currentDeadline } from '../../shared/runtime/deadline.js';
import type { Destination } from '../../shared/connectors/ibinder/destination-types.js';
import type { MessageVisibility, ReceivedMessageRef } from '../../functions/ingest/message-visibility.js';
import { retryPolicyFrom } from '../../shared/connectors/ibinder/client/client.js';
import { IBinderApiError } from '../../shared/connectors/ibinder/client/errors.js';
import { withRetries, type RetryPolicy } from '../../shared/connectors/ibinder/client/retry.js';
import type { PresignedUpload } from '../../shared/connectors/ibinder/client/schemas.js';
import { apiError, FakeIBinderClient } from '../helpers/fake-ibinder.js';
import {
  BINDER_ID,
  BINDERS,
  BUCKET,
  lambdaClock,
  makeConfig,
  makeDeps,
  s3NotificationBody,
  s3Throttled,
  serveInboxObject,
  sqsEvent,
  sqsMessage,
  testEventBody,
  type TestDeps,
} from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const TAGS = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Reports' },
  { Key: 'ibinder:meta:discipline', Value: 'd-arch' },
];

let client: FakeIBinderClient;

function setup(config: Parameters<typeof makeConfig>[0] = {}): TestDeps {
  client = new FakeIBinderClient(BINDERS);
  return makeDeps({ client, config: makeConfig(config), now: () => new Date('2025-01-15T09:00:00Z') });
}

/** n objects `inbox/file-<i>.pdf`, each in its own message `msg-<i>`. */
function objects(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const key = `inbox/file-${i}.pdf`;
    serveInboxObject(s3, { key, versionId: `v${i}`, content: `content ${i}`, tags: TAGS });
    return sqsMessage(s3NotificationBody([{ rawKey: key, versionId: `v${i}` }]), `msg-${i}`);
  });
}

beforeEach(() => s3.reset());

describe('processBatch', () => {
  it('acknowledges every message when all records are ingested', async () => {
    const deps = setup();
    const result = await processBatch(sqsEvent(...objects(3)), lambdaClock(), deps);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(client.commits).toHaveLength(3);
  });

  it('never runs more records at once than recordConcurrency', async () => {
    const deps = setup({ recordConcurrency: 3 });
    let inFlight = 0;
    let maxInFlight = 0;
    const inner = deps.destination;
    const counting: Destination = {
      name: inner.name,
      prepareUpload: () => inner.prepareUpload(),
      commit: (target, request) => inner.commit(target, request),
      async transfer(upload, body, options) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Yield many times so that every record the limiter allows reaches this point.
        for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
        try {
          await inner.transfer(upload, body, options);
        } finally {
          inFlight -= 1;
        }
      },
    };
    deps.destination = counting;
    const result = await processBatch(sqsEvent(...objects(10)), lambdaClock(), deps);
    expect(result.batchItemFailures).toEqual([]);
    expect(maxInFlight).toBe(3);
    expect(client.commits).toHaveLength(10);
  });

  it('returns records not yet started as failures when the remaining time runs low', async () => {
    const deps = setup({ recordConcurrency: 1, minRemainingTimeMs: 10_000 });
    let checks = 0;
    // Plenty of time for the first two starts, then too little.
    const clock = lambdaClock(() => (++checks <= 2 ? 60_000 : 5_000));
    const result = await processBatch(sqsEvent(...objects(5)), clock, deps);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-2' }, { itemIdentifier: 'msg-3' }, { itemIdentifier: 'msg-4' }]);
    expect(client.commits).toHaveLength(2);
    // A small object's first read is its GetObject (head and bytes at once).
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key)).toEqual(['inbox/file-0.pdf', 'inbox/file-1.pdf']);
    expect(deps.metrics.retried).toBe(3);
  });

  it('runs two events of one object in a batch one after the other: one version, both acknowledged', async () => {
    const deps = setup();
    // A fresh upload on its first delivery: sent before its claim, where two at once would both send it.
    serveInboxObject(s3, { key: 'inbox/twice.pdf', versionId: 'v1', tags: TAGS, lastModified: new Date('2025-01-15T08:59:58Z') });
    const body = s3NotificationBody([{ rawKey: 'inbox/twice.pdf', versionId: 'v1' }]);
    const result = await processBatch(sqsEvent(sqsMessage(body, 'msg-a'), sqsMessage(body, 'msg-b')), lambdaClock(), deps);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(client.allVersions()).toHaveLength(1);
    // The second starts reading once the first has disposed of the object, not beside it.
    const order = s3.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('DeleteObjectCommand')).toBeLessThan(order.lastIndexOf('GetObjectCommand'));
    expect(order.filter((name) => name === 'GetObjectCommand')).toHaveLength(2);
  });

  it('reports a malformed body and goes on with the rest of the batch', async () => {
    const deps = setup();
    const [good] = objects(1);
    if (!good) throw new Error('no message');
    const result = await processBatch(sqsEvent(sqsMessage('{"Records": [{"oops": true}]}', 'msg-bad'), good), lambdaClock(), deps);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-bad' }] });
    expect(client.commits).toHaveLength(1);
  });

  it('acknowledges an s3:TestEvent without touching S3', async () => {
    const deps = setup();
    const result = await processBatch(sqsEvent(sqsMessage(testEventBody(), 'msg-test')), lambdaClock(), deps);
    expect(result).toEqual({ batchItemFailures: [] });
    expect(s3.calls()).toHaveLength(0);
  });

  it('fails a message with several records when one of them needs a retry, after ingesting the others', async () => {
    const deps = setup();
    serveInboxObject(s3, { key: 'inbox/a.pdf', versionId: 'va', tags: TAGS });
    serveInboxObject(s3, { key: 'inbox/b.pdf', versionId: 'vb', tags: TAGS });
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: 'inbox/b.pdf', VersionId: 'vb' }).rejects(s3Throttled());
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'inbox/b.pdf', VersionId: 'vb' }).rejects(s3Throttled());
    const both = sqsMessage(
      s3NotificationBody([
        { rawKey: 'inbox/a.pdf', versionId: 'va' },
        { rawKey: 'inbox/b.pdf', versionId: 'vb' },
      ]),
      'msg-both',
    );
    const [other] = objects(1);
    if (!other) throw new Error('no message');
    const result = await processBatch(sqsEvent(both, other), lambdaClock(), deps);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-both' }] });
    expect(client.commits.map((c) => c.request.fileName).sort()).toEqual(['a.pdf', 'file-0.pdf']);
  });

  it('acknowledges a rejected record and fails a transient one', async () => {
    const deps = setup({ recordConcurrency: 1 });
    const [first, second] = objects(2);
    if (!first || !second) throw new Error('no messages');
    client.failNext('commitUpload', apiError(400, { title: 'bad' }), apiError(429, { title: 'slow down' }));
    const result = await processBatch(sqsEvent(first, second), lambdaClock(), deps);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-1' }]);
    expect(deps.metrics.rejected).toEqual(['refused']);
  });

  it("starts records one event-loop turn apart: a record's first reads are sent before the next record prepares its own", async () => {
    const deps = setup();
    const events: string[] = [];
    const send = deps.s3.send.bind(deps.s3) as (command: unknown) => Promise<unknown>;
    const stepped = async (command: { constructor: { name: string }; input: { Key?: string } }): Promise<unknown> => {
      const call = `${command.constructor.name} ${command.input.Key ?? ''}`;
      events.push(`prepare ${call}`);
      // As in the SDK: a chain of promise steps (its middleware) before the request reaches the socket.
      for (let i = 0; i < 30; i += 1) await Promise.resolve();
      events.push(`sent ${call}`);
      return send(command);
    };
    deps.s3.send = stepped as unknown as typeof deps.s3.send;
    const result = await processBatch(sqsEvent(...objects(3)), lambdaClock(), deps);
    expect(result.batchItemFailures).toEqual([]);
    expect(client.commits).toHaveLength(3);
    for (const [earlier, later] of [
      ['file-0', 'file-1'],
      ['file-1', 'file-2'],
    ] as const) {
      const nextStart = events.findIndex((e) => e.startsWith('prepare') && e.endsWith(`inbox/${later}.pdf`));
      const firstReads = events.slice(0, nextStart).filter((e) => e.endsWith(`inbox/${earlier}.pdf`));
      expect(firstReads.slice(0, 4)).toEqual([
        `prepare GetObjectTaggingCommand inbox/${earlier}.pdf`,
        `prepare GetObjectCommand inbox/${earlier}.pdf`,
        `sent GetObjectTaggingCommand inbox/${earlier}.pdf`,
        `sent GetObjectCommand inbox/${earlier}.pdf`,
      ]);
    }
  });

  it('runs every record under the invocation deadline, shared by concurrent records', async () => {
    const deps = setup({ recordConcurrency: 2, minRemainingTimeMs: 3_000 });
    // A Lambda clock: the wall clock moves on with every reading, the remaining time shrinks alike.
    const invocationEnd = 1_000_000 + 5_000;
    let wall = 1_000_000;
    const clock = lambdaClock(() => invocationEnd - (wall += 7));
    const nowMs = () => wall;
    const seen: { step: string; deadline: number | undefined }[] = [];
    const inner = deps.destination;
    deps.destination = {
      name: inner.name,
      prepareUpload: () => {
        seen.push({ step: 'prepare', deadline: currentDeadline() });
        return inner.prepareUpload();
      },
      commit: (target, request) => inner.commit(target, request),
      async transfer(upload, body, options) {
        await new Promise((resolve) => setImmediate(resolve));
        seen.push({ step: 'transfer', deadline: currentDeadline() });
        await inner.transfer(upload, body, options);
      },
    };
    const result = await processBatch(sqsEvent(...objects(3)), clock, deps, nowMs);
    expect(result.batchItemFailures).toEqual([]);
    expect(deadlineMarginMs(3_000)).toBe(1_000);
    expect(seen).toHaveLength(6);
    for (const s of seen) expect(s.deadline).toBe(invocationEnd - 1_000);
    expect(currentDeadline()).toBeUndefined();
  });

  it('keeps a third of minRemainingTimeMs, at least 1 s, between the deadline and the timeout', () => {
    expect(deadlineMarginMs(30_000)).toBe(10_000);
    expect(deadlineMarginMs(0)).toBe(1_000);
  });
});

/**
 * iBinder's presign answers 429 with `Retry-After` on its first attempt (one value per call, in
 * turn), then succeeds; the retry loop is the client's own (`withRetries`), on a test clock.
 */
class RateLimitedPresignClient extends FakeIBinderClient {
  constructor(
    private readonly retryAfterSeconds: number[],
    private readonly policy: RetryPolicy,
  ) {
    super(BINDERS);
  }

  override createPresignedUpload(): Promise<PresignedUpload> {
    const request = { method: 'GET', path: '/documents/uploads/personalstorage/presignedupload' };
    const seconds = this.retryAfterSeconds.shift();
    return withRetries(request, this.policy, (attempt) =>
      attempt === 1 && seconds !== undefined
        ? Promise.reject(
            new IBinderApiError(
              `iBinder GET ${request.path} answered 429`,
              'transient',
              request,
              429,
              'Too Many Requests',
              {},
              undefined,
              seconds * 1000,
            ),
          )
        : super.createPresignedUpload(),
    );
  }
}

describe('processBatch: Retry-After and the message visibility', () => {
  let wall: number;
  let sleeps: number[];
  let changes: { message: ReceivedMessageRef; seconds: number }[];

  function rateLimitedSetup(retryAfterSeconds: number[], visibility?: MessageVisibility): TestDeps {
    wall = 1_700_000_000_000;
    sleeps = [];
    changes = [];
    const policy = retryPolicyFrom({
      now: () => wall,
      sleep: (ms) => {
        sleeps.push(ms);
        wall += ms;
        return Promise.resolve();
      },
    });
    client = new RateLimitedPresignClient(retryAfterSeconds, policy);
    const deps = makeDeps({ client, config: makeConfig({ minRemainingTimeMs: 10_000 }), now: () => new Date('2025-01-15T09:00:00Z') });
    deps.visibility = visibility ?? {
      change: (message, seconds) => {
        changes.push({ message, seconds });
        return Promise.resolve();
      },
    };
    return deps;
  }

  it('does not wait for a Retry-After of 120 s with 30 s left: the message is handed back with a visibility of at least 120 s', async () => {
    const deps = rateLimitedSetup([120]);
    const [message] = objects(1);
    if (!message) throw new Error('no message');
    // 30 s to the record's deadline: 33.4 s remaining minus the 3.4 s margin of minRemainingTimeMs 10 s.
    const result = await processBatch(
      sqsEvent(message),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(sleeps).toEqual([]);
    expect(client.commits).toHaveLength(0);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.seconds).toBeGreaterThanOrEqual(120);
    expect(changes[0]?.message).toEqual({
      messageId: 'msg-0',
      receiptHandle: message.receiptHandle,
      eventSourceARN: message.eventSourceARN,
    });
  });

  it('waits a Retry-After of 2 s that fits, and the record succeeds within the delivery', async () => {
    const deps = rateLimitedSetup([2]);
    const result = await processBatch(
      sqsEvent(...objects(1)),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(sleeps).toEqual([2_000]);
    expect(client.commits).toHaveLength(1);
    expect(changes).toEqual([]);
  });

  it('delays a message with several records by the longest Retry-After among them', async () => {
    const deps = rateLimitedSetup([120, 300]);
    serveInboxObject(s3, { key: 'inbox/a.pdf', versionId: 'va', tags: TAGS });
    serveInboxObject(s3, { key: 'inbox/b.pdf', versionId: 'vb', tags: TAGS });
    const both = sqsMessage(
      s3NotificationBody([
        { rawKey: 'inbox/a.pdf', versionId: 'va' },
        { rawKey: 'inbox/b.pdf', versionId: 'vb' },
      ]),
      'msg-both',
    );
    const result = await processBatch(
      sqsEvent(both),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-both' }]);
    expect(changes.map((c) => [c.message.messageId, c.seconds])).toEqual([['msg-both', 300]]);
  });

  it("clamps a Retry-After beyond SQS's 12 hours to 43,200 s and says so", async () => {
    const deps = rateLimitedSetup([100_000]);
    const warn = vi.spyOn(deps.logger, 'warn');
    const result = await processBatch(
      sqsEvent(...objects(1)),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(changes.map((c) => c.seconds)).toEqual([43_200]);
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('12-hour maximum'),
      expect.objectContaining({ messageId: 'msg-0', retryAfterSeconds: 100_000, visibilityTimeoutSeconds: 43_200 }),
    );
  });

  it('still reports the failure, and logs the message id, when ChangeMessageVisibility fails', async () => {
    const deps = rateLimitedSetup([120], { change: () => Promise.reject(new Error('AccessDenied: sqs:ChangeMessageVisibility')) });
    const error = vi.spyOn(deps.logger, 'error');
    const result = await processBatch(
      sqsEvent(...objects(1)),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining('ChangeMessageVisibility failed'),
      expect.objectContaining({ messageId: 'msg-0', visibilityTimeoutSeconds: 120 }),
    );
  });

  it('does not let a hung ChangeMessageVisibility outlast the invocation: it is given up and the failure still reported', async () => {
    const deps = rateLimitedSetup([120], { change: () => new Promise<void>(() => undefined) });
    const error = vi.spyOn(deps.logger, 'error');
    let reads = 0;
    // Plenty of time for the record; 600 ms left when the visibility is changed (a 100 ms budget).
    const clock = lambdaClock(() => (++reads <= 1 ? 33_334 : 600));
    const result = await processBatch(sqsEvent(...objects(1)), clock, deps, () => wall);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(error).toHaveBeenCalledWith(
      expect.stringContaining('ChangeMessageVisibility failed'),
      expect.objectContaining({ messageId: 'msg-0' }),
    );
  });

  it('changes no visibility for a retry without Retry-After', async () => {
    const deps = rateLimitedSetup([]);
    client.failNext('commitUpload', apiError(503, { title: 'unavailable' }));
    const result = await processBatch(
      sqsEvent(...objects(1)),
      lambdaClock(() => 33_334),
      deps,
      () => wall,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'msg-0' }]);
    expect(changes).toEqual([]);
  });
});

describe('processBatch: records in flight per connector', () => {
  it("runs as many records at once as recordConcurrency says, but never more than the connector's cap", async () => {
    for (const [recordConcurrency, expected] of [
      [7, 7],
      [50, 10],
    ] as const) {
      s3.reset();
      const deps = setup({ recordConcurrency });
      let inFlight = 0;
      let maxInFlight = 0;
      const inner = deps.destination;
      deps.destination = {
        name: inner.name,
        prepareUpload: () => inner.prepareUpload(),
        commit: (target, request) => inner.commit(target, request),
        async transfer(upload, body, options) {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          for (let i = 0; i < 50; i += 1) await new Promise((resolve) => setImmediate(resolve));
          try {
            await inner.transfer(upload, body, options);
          } finally {
            inFlight -= 1;
          }
        },
      };
      const result = await processBatch(sqsEvent(...objects(20)), lambdaClock(), deps);
      expect(result.batchItemFailures).toEqual([]);
      expect(maxInFlight).toBe(expected);
    }
  });
});
