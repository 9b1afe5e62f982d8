import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExportRunStore, isRunSettled } from '../../shared/export/run-store.js';
import { BATCH_GET_CONCURRENCY, ExportLedger, versionKey, type ExportedVersionRecord } from '../../shared/ledger/export-ledger.js';
import { createDocumentClient } from '../../shared/aws/clients.js';
import { createLocalDynamoDbClient } from '../../local/local-dynamodb.js';
import { startLedgerServer, type LedgerServer } from '../helpers/export-factories.js';

let server: LedgerServer;
beforeAll(async () => {
  server = await startLedgerServer();
});
afterAll(async () => {
  await server.close();
});

let doc: DynamoDBDocumentClient;
let tableName: string;
let ledger: ExportLedger;
let runs: ExportRunStore;
beforeEach(async () => {
  ({ doc, tableName } = await server.newTable());
  ledger = new ExportLedger(doc, tableName, { sleep: () => Promise.resolve() });
  runs = new ExportRunStore(doc, tableName);
});

const NOW = new Date('2026-11-22T02:00:00Z');
const record = (versionId: string): ExportedVersionRecord => ({
  versionId,
  documentId: 'doc',
  binderId: 'bin',
  archiveKey: `acme/bin/doc/${versionId}/f.pdf`,
  sha256: 'a'.repeat(64),
  sha256Base64: 'qg==',
  size: 10,
  exportedAt: NOW.toISOString(),
  runId: 'run-1',
});

describe('export ledger', () => {
  it('claims a version once: a second worker is held off until the lease runs out', async () => {
    expect(await ledger.claim({ versionId: 'v1', owner: 'w1', runId: 'r', now: NOW, leaseSeconds: 60 })).toEqual({
      kind: 'claimed',
      earlierAttempt: false,
    });
    const held = await ledger.claim({ versionId: 'v1', owner: 'w2', runId: 'r', now: new Date(NOW.getTime() + 59_000), leaseSeconds: 60 });
    expect(held).toMatchObject({ kind: 'held', leaseExpiresAt: new Date(NOW.getTime() + 60_000), runId: 'r' });
    const takeover = await ledger.claim({
      versionId: 'v1',
      owner: 'w2',
      runId: 'r',
      now: new Date(NOW.getTime() + 61_000),
      leaseSeconds: 60,
    });
    // The first worker's item was there: the archive may hold what it wrote.
    expect(takeover).toEqual({ kind: 'claimed', earlierAttempt: true });
  });

  it('keeps a released claim as an earlier attempt when asked (the sidecar write had begun), and drops it otherwise', async () => {
    await ledger.claim({ versionId: 'v1', owner: 'w1', runId: 'r', now: NOW, leaseSeconds: 600 });
    await ledger.releaseClaim('v1', 'w1', { keepAsEarlierAttempt: true });
    expect(await ledger.claim({ versionId: 'v1', owner: 'w2', runId: 'r', now: NOW, leaseSeconds: 600 })).toEqual({
      kind: 'claimed',
      earlierAttempt: true,
    });
    await ledger.releaseClaim('v1', 'w2');
    expect(await ledger.claim({ versionId: 'v1', owner: 'w3', runId: 'r', now: NOW, leaseSeconds: 600 })).toEqual({
      kind: 'claimed',
      earlierAttempt: false,
    });
  });

  it('answers "exported" with the record for a version already in the archive', async () => {
    await ledger.recordExported(record('v1'));
    expect(await ledger.claim({ versionId: 'v1', owner: 'w1', runId: 'r2', now: NOW, leaseSeconds: 60 })).toEqual({
      kind: 'exported',
      record: record('v1'),
    });
    expect(await ledger.getExported('v1')).toEqual(record('v1'));
  });

  it('tells "exported" and "held" from the failed claim itself, without reading the item back, where DynamoDB returns it', async () => {
    // A client of its own: the conditional writes remember per client whether its server returns the item.
    const dynamo = createDocumentClient(createLocalDynamoDbClient(server.endpoint));
    const ledger = new ExportLedger(dynamo, tableName);
    const original = dynamo.send.bind(dynamo);
    const current = [
      { pk: versionKey('v1'), kind: 'version', state: 'exported', ...record('v1') },
      { pk: versionKey('v2'), kind: 'version', state: 'claimed', claimedBy: 'w1', leaseExpiresAt: NOW.getTime() + 60_000, runId: 'r' },
    ];
    const send = vi.spyOn(dynamo, 'send').mockImplementation(((command: unknown) => {
      if (command instanceof PutCommand) {
        const item = current.find((c) => c.pk === command.input.Item?.pk);
        if (item && command.input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
          return Promise.reject(
            new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: marshall(item) }),
          );
        }
      }
      return original(command as PutCommand);
    }) as typeof dynamo.send);

    expect(await ledger.claim({ versionId: 'v1', owner: 'w2', runId: 'r2', now: NOW, leaseSeconds: 60 })).toEqual({
      kind: 'exported',
      record: record('v1'),
    });
    expect(await ledger.claim({ versionId: 'v2', owner: 'w2', runId: 'r2', now: NOW, leaseSeconds: 60 })).toEqual({
      kind: 'held',
      leaseExpiresAt: new Date(NOW.getTime() + 60_000),
      runId: 'r',
    });
    expect(send.mock.calls.filter(([c]) => c instanceof GetCommand)).toHaveLength(0);
    dynamo.destroy();
  });

  it('records a version exported only under its own claim', async () => {
    await ledger.claim({ versionId: 'v1', owner: 'w1', runId: 'r', now: NOW, leaseSeconds: 600 });
    expect(await ledger.recordExportedUnderClaim(record('v1'), 'w2')).toBe(false);
    expect(await ledger.getExported('v1')).toBeUndefined();
    expect(await ledger.recordExportedUnderClaim(record('v1'), 'w1')).toBe(true);
    expect(await ledger.getExported('v1')).toEqual(record('v1'));
    // Exported: no claim is left to record it under again.
    expect(await ledger.recordExportedUnderClaim(record('v1'), 'w1')).toBe(false);
  });

  it("takes an exported version out of its document's pending set, and does nothing without a marker", async () => {
    await ledger.clearDocumentPending('doc-without-marker', 'v1');
    await ledger.setDocumentPending('doc', 'bin', ['v1', 'v2'], NOW);
    await ledger.clearDocumentPending('doc', 'v1');
    expect([...(await ledger.lookUpDocuments([], ['doc', 'doc-without-marker'])).unfinishedDocuments]).toEqual(['doc']);
    await ledger.clearDocumentPending('doc', 'v2');
    expect((await ledger.lookUpDocuments([], ['doc'])).unfinishedDocuments.size).toBe(0);
  });

  it('releases only its own claim', async () => {
    await ledger.claim({ versionId: 'v1', owner: 'w1', runId: 'r', now: NOW, leaseSeconds: 600 });
    await ledger.releaseClaim('v1', 'w2');
    expect((await ledger.claim({ versionId: 'v1', owner: 'w3', runId: 'r', now: NOW, leaseSeconds: 600 })).kind).toBe('held');
    await ledger.releaseClaim('v1', 'w1');
    expect((await ledger.claim({ versionId: 'v1', owner: 'w3', runId: 'r', now: NOW, leaseSeconds: 600 })).kind).toBe('claimed');
  });

  it('finds the exported ones among many ids, 100 keys a call, ignoring claims and duplicates', async () => {
    for (let i = 0; i < 150; i += 3) await ledger.recordExported(record(`v${i}`));
    await ledger.claim({ versionId: 'v1', owner: 'w', runId: 'r', now: NOW, leaseSeconds: 600 });
    const send = vi.spyOn(doc, 'send');
    const ids = Array.from({ length: 150 }, (_, i) => `v${i}`);

    const exported = await ledger.exportedAmong([...ids, 'v0', 'v3']);

    expect([...exported].sort()).toEqual(ids.filter((_, i) => i % 3 === 0).sort());
    expect(send.mock.calls.filter(([c]) => c instanceof BatchGetCommand)).toHaveLength(2);
  });

  it('sends the BatchGetItem calls of one lookup side by side, at most BATCH_GET_CONCURRENCY at a time', async () => {
    for (let i = 0; i < 550; i += 5) await ledger.recordExported(record(`v${i}`));
    const original = doc.send.bind(doc);
    let inFlight = 0;
    let maxInFlight = 0;
    vi.spyOn(doc, 'send').mockImplementation((async (command: unknown) => {
      if (!(command instanceof BatchGetCommand)) return original(command as BatchGetCommand);
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        // Long enough for every chunk the lookup allows to be sent before the first answer.
        for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
        return await original(command);
      } finally {
        inFlight -= 1;
      }
    }) as typeof doc.send);
    const ids = Array.from({ length: 550 }, (_, i) => `v${i}`);

    const exported = await ledger.exportedAmong(ids);

    expect([...exported].sort()).toEqual(ids.filter((_, i) => i % 5 === 0).sort());
    expect(maxInFlight).toBe(BATCH_GET_CONCURRENCY);
  });

  it('asks again for keys DynamoDB left unprocessed', async () => {
    await ledger.recordExported(record('v1'));
    await ledger.recordExported(record('v2'));
    const original = doc.send.bind(doc);
    let first = true;
    vi.spyOn(doc, 'send').mockImplementation(((command: unknown) => {
      if (first && command instanceof BatchGetCommand) {
        first = false;
        return Promise.resolve({
          Responses: { [tableName]: [{ pk: versionKey('v1'), state: 'exported' }] },
          UnprocessedKeys: { [tableName]: { Keys: [{ pk: versionKey('v2') }] } },
        });
      }
      return original(command as BatchGetCommand);
    }) as typeof doc.send);

    expect([...(await ledger.exportedAmong(['v1', 'v2']))].sort()).toEqual(['v1', 'v2']);
  });
});

describe('export run store', () => {
  const newRun = { runId: 'run-1', tenantId: 'acme', trigger: 'schedule' as const, startedAt: NOW, binderIds: ['b1', 'b2'] };

  it('creates a run once and reads it back', async () => {
    expect(await runs.create(newRun)).toBe(true);
    expect(await runs.create(newRun)).toBe(false);
    expect(await runs.get('run-1')).toMatchObject({ runId: 'run-1', state: 'planning', binderIndex: 0, nextPage: 1, settled: 0 });
  });

  it('lets one planner invocation at a time hold the run, and only the holder save progress', async () => {
    await runs.create(newRun);
    expect(await runs.acquirePlanningLease('run-1', 'p1', NOW, 60_000)).toBe(true);
    expect(await runs.acquirePlanningLease('run-1', 'p2', NOW, 60_000)).toBe(false);
    const progress = { binderIndex: 1, nextPage: 2, documentsSeen: 5, skippedUnchanged: 1, documentErrors: 0, binderErrors: 0 };
    await expect(runs.saveProgress('run-1', 'p2', progress, NOW, 60_000)).rejects.toThrow(/another planner invocation/);
    await runs.saveProgress('run-1', 'p1', progress, NOW, 60_000);
    await runs.releasePlanningLease('run-1', 'p1');
    expect(await runs.acquirePlanningLease('run-1', 'p2', NOW, 60_000)).toBe(true);
    expect(await runs.get('run-1')).toMatchObject({ binderIndex: 1, nextPage: 2, documentsSeen: 5, planningInvocations: 2 });
  });

  it('counts each version once, keeps worker counters apart from planner saves, and knows when the run is settled', async () => {
    await runs.create(newRun);
    await runs.acquirePlanningLease('run-1', 'p1', NOW, 60_000);
    expect(await runs.settle('run-1', 'v1', 'exported', 100, NOW)).toBe(true);
    expect(await runs.settle('run-1', 'v1', 'exported', 100, NOW)).toBe(false);
    expect(await runs.recordEnqueued('run-1', ['v1', 'v2'], NOW)).toBe(2);
    await runs.saveProgress(
      'run-1',
      'p1',
      { binderIndex: 2, nextPage: 1, documentsSeen: 2, skippedUnchanged: 0, documentErrors: 0, binderErrors: 0 },
      NOW,
      60_000,
    );
    const planned = await runs.markPlanned('run-1', 'p1', NOW);
    expect(planned).toMatchObject({ state: 'planned', settled: 1, exported: 1, bytes: 100 });
    expect(isRunSettled(planned)).toBe(false);
    await runs.settle('run-1', 'v2', 'failed', 0, NOW);
    const run = await runs.get('run-1');
    expect(run).toMatchObject({ settled: 2, failed: 1, bytes: 100 });
    expect(isRunSettled(run!)).toBe(true);
  });

  it('counts each enqueued version once per run, however often its page is planned', async () => {
    await runs.create(newRun);
    expect(await runs.recordEnqueued('run-1', ['v1', 'v2', 'v2'], NOW)).toBe(2);
    expect(await runs.recordEnqueued('run-1', ['v2', 'v3'], NOW)).toBe(1);
    expect(await runs.recordEnqueued('run-1', ['v1'], NOW)).toBe(0);
    expect((await runs.get('run-1'))?.versionsEnqueued).toBe(3);
  });

  it('says who holds the run when a planner that lost it tries to save or finish', async () => {
    await runs.create(newRun);
    await runs.acquirePlanningLease('run-1', 'p1', NOW, 60_000);
    const progress = { binderIndex: 0, nextPage: 2, documentsSeen: 1, skippedUnchanged: 0, documentErrors: 0, binderErrors: 0 };
    await expect(runs.saveProgress('run-1', 'p2', progress, NOW, 60_000)).rejects.toThrow(
      'export run run-1: another planner invocation took over the run (or it is no longer planning: state planning, held by p1); this one stops without saving',
    );
    await runs.markPlanned('run-1', 'p1', NOW);
    await expect(runs.markPlanned('run-1', 'p2', NOW)).rejects.toThrow(/before it was marked planned \(state planned, held by nobody\)/);
    await expect(runs.saveProgress('gone', 'p1', progress, NOW, 60_000)).rejects.toThrow(/the run item is gone/);
  });

  it('refuses to count or finalize a run that is not in the ledger, naming it', async () => {
    await expect(runs.recordEnqueued('no-such-run', ['v1'], NOW)).rejects.toThrow(
      'export run no-such-run is not in the export ledger (expired or never created); its versions cannot be counted',
    );
    await expect(runs.markFinalized('no-such-run', NOW)).rejects.toThrow(
      /export run no-such-run is not in the export ledger .*cannot be marked finalized/,
    );
    expect(await runs.addExported('no-such-run', 1, 10, NOW)).toBeUndefined();
    // Nothing was created by the refused counters.
    expect(await runs.get('no-such-run')).toBeUndefined();
  });

  it('does not count a job of an unknown run', async () => {
    expect(await runs.settle('no-such-run', 'v1', 'exported', 1, NOW)).toBe(false);
  });

  it('rejects a run item it cannot read with a message naming the run', async () => {
    await doc.send(new PutCommand({ TableName: tableName, Item: { pk: 'run#broken', state: 'weird' } }));
    await expect(runs.get('broken')).rejects.toThrow(/export run broken: its state in the export ledger is not readable/);
  });

  it('remembers the scheduled run', async () => {
    expect(await runs.getScheduledRunId()).toBeUndefined();
    await runs.setScheduledRunId('run-1', NOW);
    expect(await runs.getScheduledRunId()).toBe('run-1');
  });
});
