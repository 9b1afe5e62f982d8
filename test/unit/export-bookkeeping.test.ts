/**
 * What the export's bookkeeping costs, counted call by call: DynamoDB and S3 calls per exported
 * version on a first run (the worker against the local DynamoDB-compatible server, counting
 * every `send`), and the transactions that write a page's enqueued markers or a batch's settle
 * markers with their counters in one call (a mocked DocumentClient, since the local server has
 * no transactions; its fallback is counted too).
 */
import {
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { processExportJobs } from '../../functions/export-worker/process-jobs.js';
import { serializeExportJob, type ExportJob } from '../../shared/export/job.js';
import { ExportRunStore } from '../../shared/export/run-store.js';
import {
  FakeExportIBinder,
  TestClock,
  createFakeArchive,
  makeExportDeps,
  sampleMetadataElements,
  startLedgerServer,
  type LedgerServer,
} from '../helpers/export-factories.js';

const RUN_STARTED_AT = '2026-11-22T02:00:00.000Z';
const NOW = new Date('2026-11-22T02:05:00Z');

let server: LedgerServer;
beforeAll(async () => {
  server = await startLedgerServer();
});
afterAll(async () => {
  await server.close();
});

describe('worker calls per exported version (first run)', () => {
  async function firstRunWorker(versions: number): Promise<{ dynamoCalls: string[]; s3Calls: string[]; exported: number }> {
    const ibinder = new FakeExportIBinder().addBinder('Bx7kQ2mZp', sampleMetadataElements());
    const archive = createFakeArchive();
    const ledger = await server.newTable();
    const clock = new TestClock(NOW.getTime());
    const deps = makeExportDeps({ ibinder, archive, ledger, clock });
    // A planned run with more versions enqueued than this batch settles: the batch alone does not finalize it.
    const runId = 'run-1';
    await deps.runs.create({ runId, tenantId: 'acme', trigger: 'schedule', startedAt: new Date(RUN_STARTED_AT), binderIds: ['Bx7kQ2mZp'] });
    await deps.runs.acquirePlanningLease(runId, 'planner', clock.now(), 60_000);
    await deps.runs.recordEnqueued(
      runId,
      Array.from({ length: versions + 5 }, (_, i) => `v-${i}`),
      clock.now(),
    );
    await deps.runs.markPlanned(runId, 'planner', clock.now());
    const jobs: ExportJob[] = Array.from({ length: versions }, (_, i) => {
      const document = ibinder.addDocument('Bx7kQ2mZp', `plan-${i}.pdf`, [{ content: `bytes of plan ${i}`, metadata: [] }]);
      const version = document.versions[0];
      if (!version) throw new Error('test: no version');
      // As the planner writes it for a document's latest version: not in a pending marker.
      return {
        runId,
        runStartedAt: RUN_STARTED_AT,
        tenantId: 'acme',
        binderId: 'Bx7kQ2mZp',
        documentId: document.id,
        versionId: version.id,
        fileName: document.fileName,
        metadata: [],
        inPendingMarker: false,
      };
    });
    await deps.schemas.get('Bx7kQ2mZp');
    archive.mock.resetHistory();

    const send = vi.spyOn(ledger.doc, 'send');
    const results = await processExportJobs(
      jobs.map((job, i) => ({ messageId: `m-${i}`, body: serializeExportJob(job) })),
      deps,
    );
    const dynamoCalls = send.mock.calls.map(([command]) => command.constructor.name);
    send.mockRestore();
    const s3Calls = archive.mock.calls().map((call) => (call.args[0] as object).constructor.name);
    return { dynamoCalls, s3Calls, exported: results.filter((r) => r.status === 'exported').length };
  }

  it('one version per batch (the default batch size): 3 DynamoDB calls, and no S3 probe', async () => {
    const { dynamoCalls, s3Calls, exported } = await firstRunWorker(1);

    expect(exported).toBe(1);
    // Claim, the record under the claim, the run's counters (which return the run: no read).
    expect(dynamoCalls).toEqual(['PutCommand', 'PutCommand', 'UpdateCommand']);
    // The file, its sidecar, the batch's manifest part; no GetObject or HeadObject of a sidecar.
    expect(s3Calls).toEqual(['PutObjectCommand', 'PutObjectCommand', 'PutObjectCommand']);
    expect(s3Calls).not.toContain(GetObjectCommand.name);
    expect(s3Calls).not.toContain(HeadObjectCommand.name);
  });

  it('ten versions per batch: 2.1 DynamoDB calls per version (one counter update for the batch)', async () => {
    const { dynamoCalls, exported } = await firstRunWorker(10);

    expect(exported).toBe(10);
    expect(dynamoCalls.length / 10).toBe(2.1);
    expect(dynamoCalls.filter((c) => c === 'UpdateCommand')).toHaveLength(1);
  });
});

/** A DocumentClient whose calls are answered by aws-sdk-client-mock. */
function mockedStore() {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
  );
  const mock = mockClient(doc);
  return { store: new ExportRunStore(doc, 'export-ledger'), mock };
}

function cancelled(codes: string[]): Error {
  return Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

type TransactInput = {
  TransactItems: {
    Put?: { Item: Record<string, unknown> };
    Update?: {
      UpdateExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    };
  }[];
};

describe('enqueued markers (planner)', () => {
  it('writes a page of 150 versions in two transactions (99 markers and the count each), not 150 writes', async () => {
    const { store, mock } = mockedStore();
    mock.on(TransactWriteCommand).resolves({});

    const count = await store.recordEnqueued(
      'run-1',
      Array.from({ length: 150 }, (_, i) => `v${i}`),
      NOW,
    );

    expect(count).toBe(150);
    const calls = mock.commandCalls(TransactWriteCommand).map((c) => c.args[0].input as TransactInput);
    expect(calls.map((c) => c.TransactItems.length)).toEqual([100, 52]);
    expect(calls.map((c) => c.TransactItems.at(-1)?.Update?.ExpressionAttributeValues)).toEqual([{ ':n': 99 }, { ':n': 51 }]);
    expect(mock.commandCalls(PutCommand)).toHaveLength(0);
    expect(mock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('drops the markers that exist already (a page planned twice) and counts only the others', async () => {
    const { store, mock } = mockedStore();
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(['None', 'ConditionalCheckFailed', 'None', 'None']))
      .resolves({});

    const count = await store.recordEnqueued('run-1', ['v1', 'v2', 'v3'], NOW);

    expect(count).toBe(2);
    const retried = mock.commandCalls(TransactWriteCommand)[1]?.args[0].input as TransactInput;
    expect(retried.TransactItems.map((i) => i.Put?.Item.pk ?? 'counter')).toEqual([
      'run#run-1#enqueued#v1',
      'run#run-1#enqueued#v3',
      'counter',
    ]);
    expect(retried.TransactItems.at(-1)?.Update?.ExpressionAttributeValues).toEqual({ ':n': 2 });
  });

  it('falls back to one conditional write per version on a server without transactions', async () => {
    const { store, mock } = mockedStore();
    mock.on(TransactWriteCommand).rejects(Object.assign(new Error('unknown operation'), { name: 'UnknownOperationException' }));
    mock.on(PutCommand).resolves({});
    mock.on(UpdateCommand).resolves({});

    expect(await store.recordEnqueued('run-1', ['v1', 'v2'], NOW)).toBe(2);
    expect(await store.recordEnqueued('run-1', ['v3'], NOW)).toBe(1);

    // Asked once, remembered.
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(mock.commandCalls(PutCommand)).toHaveLength(3);
    expect(mock.commandCalls(UpdateCommand)).toHaveLength(2);
  });
});

describe('settle markers of failed and already-exported jobs (worker)', () => {
  it('settles a batch in one transaction: a marker per job and the counters of each outcome', async () => {
    const { store, mock } = mockedStore();
    mock.on(TransactWriteCommand).resolves({});

    const counted = await store.settleMany(
      'run-1',
      [
        { versionId: 'v1', status: 'failed', bytes: 0 },
        { versionId: 'v2', status: 'already-exported', bytes: 0 },
        { versionId: 'v3', status: 'exported', bytes: 10 },
      ],
      NOW,
    );

    expect([...counted].sort()).toEqual(['v1', 'v2', 'v3']);
    const input = mock.commandCalls(TransactWriteCommand)[0]?.args[0].input as TransactInput;
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(input.TransactItems.slice(0, 3).map((i) => i.Put?.Item.status)).toEqual(['failed', 'already-exported', 'exported']);
    expect(input.TransactItems[3]?.Update?.ExpressionAttributeValues).toEqual({
      ':settled': 3,
      ':exported': 1,
      ':alreadyExported': 1,
      ':failed': 1,
      ':bytes': 10,
    });
  });

  it('sends only the counters a batch adds to, with their names and values and no others', async () => {
    const { store, mock } = mockedStore();
    mock.on(TransactWriteCommand).resolves({});

    await store.settleMany('run-1', [{ versionId: 'v1', status: 'failed', bytes: 0 }], NOW);

    const update = (mock.commandCalls(TransactWriteCommand)[0]!.args[0].input as TransactInput).TransactItems[1]?.Update;
    expect(update?.UpdateExpression).toBe('ADD #settled :settled, #failed :failed');
    expect(update?.ExpressionAttributeNames).toEqual({ '#pk': 'pk', '#settled': 'settled', '#failed': 'failed' });
    expect(update?.ExpressionAttributeValues).toEqual({ ':settled': 1, ':failed': 1 });
  });

  it('counts nothing twice: a job settled before is left out; an unknown run counts nothing', async () => {
    const { store, mock } = mockedStore();
    mock
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(['ConditionalCheckFailed', 'None', 'None']))
      .resolves({});
    const counted = await store.settleMany(
      'run-1',
      [
        { versionId: 'v1', status: 'failed', bytes: 0 },
        { versionId: 'v2', status: 'failed', bytes: 0 },
      ],
      NOW,
    );
    expect([...counted]).toEqual(['v2']);

    const unknown = mockedStore();
    unknown.mock.on(TransactWriteCommand).rejects(cancelled(['None', 'ConditionalCheckFailed']));
    expect([...(await unknown.store.settleMany('expired-run', [{ versionId: 'v1', status: 'failed', bytes: 0 }], NOW))]).toEqual([]);
    expect(unknown.mock.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });
});

describe('the archive is not read on the normal path', () => {
  it('a multipart version costs its parts and the sidecar, and no read of the archive', async () => {
    const ibinder = new FakeExportIBinder().addBinder('Bx7kQ2mZp', sampleMetadataElements());
    const archive = createFakeArchive();
    const ledger = await server.newTable();
    const deps = makeExportDeps({
      ibinder,
      archive,
      ledger,
      clock: new TestClock(NOW.getTime()),
      settings: { partSizeBytes: 5 * 1024 * 1024 },
    });
    const document = ibinder.addDocument('Bx7kQ2mZp', 'model.ifc', [{ content: Buffer.alloc(11 * 1024 * 1024, 1), metadata: [] }]);
    const version = document.versions[0];
    if (!version) throw new Error('test: no version');
    const job: ExportJob = {
      runId: 'run-1',
      runStartedAt: RUN_STARTED_AT,
      tenantId: 'acme',
      binderId: 'Bx7kQ2mZp',
      documentId: document.id,
      versionId: version.id,
      fileName: document.fileName,
      metadata: [],
    };

    const results = await processExportJobs([{ messageId: 'm', body: serializeExportJob(job) }], deps);

    expect(results[0]?.status).toBe('exported');
    expect(archive.mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(archive.mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
    expect(archive.mock.commandCalls(UploadPartCommand)).toHaveLength(3);
    expect(archive.mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(archive.mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      `acme/Bx7kQ2mZp/${document.id}/${version.id}/model.ifc.metadata.json`,
      expect.stringMatching(/^manifests\//),
    ]);
  });
});
