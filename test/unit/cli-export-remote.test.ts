/**
 * `export --remote`: the CLI starts the deployed export planner by name and follows the run in
 * the export ledger. The Lambda and DynamoDB clients are mocked (aws-sdk-client-mock); the
 * ledger items are what the planner and workers write (ExportRunStateSchema).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { bufferedIo, type BufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';
import { PlannerEventSchema } from '../../functions/export-planner/event.js';
import type { ExportRunState } from '../../shared/export/run-store.js';

const lambdaMock = mockClient(LambdaClient);
const dynamoMock = mockClient(DynamoDBDocumentClient);
const FLAGS = ['--export-planner', 'ibinder-prod-planner', '--export-ledger-table', 'export-ledger', '--archive-bucket', 'archive-bucket'];
const START = Date.parse('2026-11-22T02:00:00Z');

function runState(runId: string, overrides: Partial<ExportRunState>): ExportRunState {
  return {
    runId,
    tenantId: 'tenant-1',
    trigger: 'manual',
    state: 'planning',
    startedAt: '2026-11-22T02:00:00.000Z',
    binderIds: ['PRJ0001AB'],
    binderIndex: 0,
    nextPage: 1,
    documentsSeen: 0,
    skippedUnchanged: 0,
    versionsEnqueued: 0,
    documentErrors: 0,
    binderErrors: 0,
    planningInvocations: 1,
    settled: 0,
    exported: 0,
    alreadyExported: 0,
    failed: 0,
    bytes: 0,
    updatedAt: '2026-11-22T02:00:00.000Z',
    ...overrides,
  };
}

/** A clock that moves 5 s per read, and a sleep that does not wait (the polls still count). */
function harness(options: { onSleep?: (io: BufferedIo) => Promise<void> } = {}) {
  const io = bufferedIo();
  let now = START;
  let sleeps = 0;
  const deps = {
    lambda: new LambdaClient({ region: 'eu-west-1' }),
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    now: () => new Date((now += 5_000)),
    sleep: async () => {
      sleeps++;
      await options.onSleep?.(io);
    },
  };
  return { io, deps, sleeps: () => sleeps };
}

function invokedEvent(): unknown {
  const call = lambdaMock.commandCalls(InvokeCommand)[0];
  const payload = call?.args[0].input.Payload;
  return JSON.parse(new TextDecoder().decode(payload as Uint8Array));
}

beforeEach(() => {
  lambdaMock.reset();
  dynamoMock.reset();
  lambdaMock.on(InvokeCommand).resolves({ StatusCode: 202 });
});

describe('export --remote', () => {
  it('starts the deployed planner asynchronously with a manual event naming the run, then follows the run to its end', async () => {
    const { io, deps } = harness();
    let runId = '';
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
      runId = input.Key.pk.replace(/^run#/, '');
      const reads = dynamoMock.commandCalls(GetCommand).length;
      if (reads === 1) return {}; // not written yet
      if (reads === 2) return { Item: runState(runId, { documentsSeen: 40, versionsEnqueued: 12 }) };
      if (reads === 3) return { Item: runState(runId, { state: 'planned', versionsEnqueued: 12, settled: 6, exported: 6, bytes: 6_000 }) };
      return {
        Item: runState(runId, {
          state: 'finalized',
          documentsSeen: 40,
          skippedUnchanged: 30,
          versionsEnqueued: 12,
          settled: 12,
          exported: 12,
          bytes: 12_288,
        }),
      };
    });

    const code = await runCli([...FLAGS, 'export', '--remote', '--binder', 'PRJ0001AB', '--since', '2026-01-01'], io, deps);
    expect(io.stderrText()).not.toContain('error');
    expect(code).toBe(0);

    const invoke = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke).toMatchObject({ FunctionName: 'ibinder-prod-planner', InvocationType: 'Event' });
    const event = PlannerEventSchema.parse(invokedEvent());
    expect(event).toEqual({ source: 'manual', binderIds: ['PRJ0001AB'], since: '2026-01-01T00:00:00.000Z', runId });

    // The run id comes first, before any progress.
    expect(io.stderrText().split('\n')[0]).toBe(
      `Export run ${runId}: started on the deployed export planner (binder(s) PRJ0001AB, versions since 2026-01-01T00:00:00.000Z).`,
    );
    expect(io.stdoutText()).toContain(`Export run ${runId} finished (deployed pipeline)`);
    expect(io.stdoutText()).toContain('versions exported  12 of 12 planned');
    expect(io.stdoutText()).toContain(`manifest           s3://archive-bucket/manifests/2026-11-22/${runId}.jsonl`);
  });

  it('prints one JSON document with --json', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: runState(input.Key.pk.replace(/^run#/, ''), { state: 'finalized', versionsEnqueued: 2, settled: 2, exported: 2, bytes: 10 }),
    }));
    expect(await runCli([...FLAGS, '--json', 'export', '--remote'], io, deps)).toBe(0);
    const result = JSON.parse(io.stdoutText()) as Record<string, unknown>;
    expect(result).toMatchObject({ state: 'finalized', versionsExported: 2, bytes: 10 });
    expect(io.stderrText()).toBe('');
  });

  it('--dry-run names the planner and the event and starts nothing', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).resolves({});
    expect(await runCli([...FLAGS, 'export', '--remote', '--dry-run', '--binder', 'PRJ0001AB'], io, deps)).toBe(0);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(io.stdoutText()).toContain('Dry run: nothing was started');
    expect(io.stdoutText()).toContain('ibinder-prod-planner');
    expect(io.stdoutText()).toContain('"source":"manual","binderIds":["PRJ0001AB"]');
  });

  it('follows an existing run given with --run-id instead of starting another', async () => {
    const { io, deps } = harness();
    dynamoMock
      .on(GetCommand)
      .resolves({ Item: runState('2026-11-22T02-00-00Z-abc123', { state: 'finalized', versionsEnqueued: 1, settled: 1, exported: 1 }) });
    expect(await runCli([...FLAGS, 'export', '--remote', '--run-id', '2026-11-22T02-00-00Z-abc123'], io, deps)).toBe(0);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(io.stderrText()).toContain('Export run 2026-11-22T02-00-00Z-abc123 exists (finalized): following it.');
  });

  it('says so when the run never appears in the ledger (the planner did not start it)', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).resolves({});
    expect(await runCli([...FLAGS, 'export', '--remote'], io, deps)).toBe(2);
    expect(io.stderrText()).toMatch(
      /error: export run \S+ did not appear in the export ledger export-ledger within 2 min 0 s of starting the deployed export planner ibinder-prod-planner/,
    );
    expect(io.stderrText()).toContain('PlannerDeadLetterQueueUrl');
  });

  it('exits 1 when versions failed, and says the manifest lists them', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: runState(input.Key.pk.replace(/^run#/, ''), { state: 'finalized', versionsEnqueued: 3, settled: 3, exported: 2, failed: 1 }),
    }));
    expect(await runCli([...FLAGS, 'export', '--remote'], io, deps)).toBe(1);
    expect(io.stdoutText()).toContain('finished with failures');
    expect(io.stdoutText()).toContain('failed             1 version(s)');
  });

  it('on Ctrl-C stops following, says the run goes on, and prints the pasteable command that follows it again', async () => {
    const { io, deps } = harness({
      onSleep: async (terminal) => {
        await terminal.interrupt();
      },
    });
    dynamoMock
      .on(GetCommand)
      .callsFake((input: { Key: { pk: string } }) => ({ Item: runState(input.Key.pk.replace(/^run#/, ''), { versionsEnqueued: 5 }) }));
    const code = await runCli(['--region', 'eu-west-1', ...FLAGS, 'export', '--remote'], io, deps);
    expect(code).toBe(1);
    const runId = /Export run (\S+): started/.exec(io.stderrText())?.[1];
    expect(runId).toBeDefined();
    expect(io.stderrText()).toContain(`Stopped following export run ${runId}; it goes on in AWS.`);
    expect(io.stderrText()).toContain(
      `Follow it again with: ibinder-pipeline --region eu-west-1 --archive-bucket archive-bucket --export-ledger-table export-ledger --export-planner ibinder-prod-planner export --remote --run-id ${runId}`,
    );
  });

  it('stops following a planned run whose last versions stop settling, and says to redrive the export dead-letter queue', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: runState(input.Key.pk.replace(/^run#/, ''), { state: 'planned', versionsEnqueued: 5, settled: 3, exported: 3 }),
    }));
    expect(await runCli([...FLAGS, 'export', '--remote'], io, deps)).toBe(1);
    expect(io.stdoutText()).toContain('2 version(s) have not finished for 15 min 0 s: they are probably in the export dead-letter queue.');
    expect(io.stdoutText()).toMatch(/Fix the cause, then: ibinder-pipeline .*redrive --export$/m);
    expect(io.stdoutText()).toMatch(/and follow the run again with: ibinder-pipeline .*export --remote --run-id \S+$/m);
  });

  it('stops following planning that does not move, and says how to resume it', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: runState(input.Key.pk.replace(/^run#/, ''), { state: 'planning', binderIndex: 0, nextPage: 4, documentsSeen: 300 }),
    }));
    expect(await runCli([...FLAGS, 'export', '--remote'], io, deps)).toBe(1);
    expect(io.stdoutText()).toContain('Planning has not moved for 15 min 0 s');
    expect(io.stdoutText()).toMatch(/Resume it in this process with: ibinder-pipeline .*export --run-id \S+$/m);
  });

  it('keeps following while planning moves, however long it takes', async () => {
    const { io, deps } = harness();
    dynamoMock.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
      const reads = dynamoMock.commandCalls(GetCommand).length;
      const runId = input.Key.pk.replace(/^run#/, '');
      // 400 reads at 5 s each: over half an hour of planning, one page further every read.
      if (reads < 400) return { Item: runState(runId, { state: 'planning', nextPage: reads + 1, documentsSeen: reads * 100 }) };
      return { Item: runState(runId, { state: 'finalized', documentsSeen: 40_000 }) };
    });
    expect(await runCli([...FLAGS, 'export', '--remote'], io, deps)).toBe(0);
    expect(io.stdoutText()).toContain('documents seen     40000');
  });

  it('refuses --concurrency, which only a run in this process has', async () => {
    const { io, deps } = harness();
    expect(await runCli([...FLAGS, 'export', '--remote', '--concurrency', '8'], io, deps)).toBe(2);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0);
  });
});
