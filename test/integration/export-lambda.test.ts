/**
 * The export's two Lambda handlers as deployed, wired from nothing but their environment (the
 * variables the stack sets, the SDK's endpoint overrides pointing at the local S3 and DynamoDB
 * servers, local iBinder credentials), on the local stack. The export queue is an SqsSimulator
 * with the stack's visibility timeout and redrive policy: the planner's SQS client delivers its
 * SendMessageBatch calls there, and the queue is drained into the worker handler.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createLambdaContext } from '../../local/lambda-context.js';
import { LOCAL_S3_CREDENTIALS } from '../../local/local-s3.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import type { SqsSimulator } from '../../local/sqs-simulator.js';
import type { PlanResult } from '../../functions/export-planner/plan.js';
import { logger } from '../../shared/observability/logger.js';
import {
  ArchiveReader,
  CallDelta,
  EXPORT_ROUTE,
  addProjectBinder,
  expectedArchiveKey,
  exportLedgerItem,
  routeSqsToSimulators,
  sha256Hex,
  simpleDocuments,
  type ProjectBinder,
} from '../helpers/export-scenarios.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

type PlannerHandler = (event: unknown, context: Context) => Promise<PlanResult>;
type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const BINDER_ID = 'LAMBDA001';

let stack: LocalStack;
let archive: ArchiveReader;
let binder: ProjectBinder;
let queue: SqsSimulator;
let plannerHandler: PlannerHandler;
let workerHandler: WorkerHandler;
let sqsRouting: { restore(): void } | undefined;
const savedEnv = new Map<string, string | undefined>();
let savedLogLevel: string | undefined;

function setEnv(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

beforeAll(async () => {
  stack = await startLocalStack();
  const { services } = stack;
  archive = new ArchiveReader(services.s3.client, services.archiveBucket);
  binder = addProjectBinder(services.emulator.state, BINDER_ID, [
    ...simpleDocuments('lambda', 2),
    { fileName: 'lambda-revised.pdf', versions: [{ content: 'revision A' }, { content: 'revision B', version: 'B' }] },
  ]);
  queue = stack.createExportQueue({ queueName: 'ibinder-export-lambda-test' });
  sqsRouting = routeSqsToSimulators([queue]);
  savedLogLevel = logger.getLevelName();
  logger.setLogLevel('SILENT');
  setEnv({
    PIPELINE_CONFIG: JSON.stringify(localPipelineConfig(services, { exportBinders: [BINDER_ID] })),
    EXPORT_LEDGER_TABLE_NAME: services.exportLedgerTable,
    ARCHIVE_BUCKET_NAME: services.archiveBucket,
    EXPORT_QUEUE_URL: queue.url,
    IBINDER_CLIENT_ID: services.emulator.clientId,
    IBINDER_CLIENT_SECRET: services.emulator.clientSecret,
    AWS_ENDPOINT_URL: undefined,
    AWS_ENDPOINT_URL_S3: services.s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb.endpoint,
    AWS_REGION: services.region,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  // Imported only now: each handler builds its dependencies from the environment on first use.
  plannerHandler = (await import('../../functions/export-planner/handler.js')).handler;
  workerHandler = (await import('../../functions/export-worker/handler.js')).handler;
});

afterAll(async () => {
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  sqsRouting?.restore();
  if (savedLogLevel) logger.setLogLevel(savedLogLevel as Parameters<typeof logger.setLogLevel>[0]);
  await stack?.stop();
});

describe('the deployed export handlers on the local stack', () => {
  it('a scheduled run goes planner handler -> export queue -> worker handler into the archive; the next night exports nothing', async () => {
    const { services } = stack;
    const { state } = services.emulator;
    const tenantId = stack.config.tenantId;

    const plan = await plannerHandler({ source: 'schedule' }, createLambdaContext({ functionName: 'export-planner' }));
    expect(plan).toMatchObject({ state: 'planned', planningComplete: true, binders: 1, documentsSeen: 3, versionsEnqueued: 4 });
    expect(queue.depth()).toEqual({ visible: 4, inFlight: 0, delayed: 0 });

    const report = await queue.drainWithLambda(workerHandler, {
      batchSize: 1,
      createContext: () => createLambdaContext({ functionName: 'export-worker' }),
    });
    expect(report).toMatchObject({ drained: true, deleted: 4, deadLetters: [] });
    expect(report.invocations.flatMap((i) => i.failedMessageIds)).toEqual([]);

    const expectedKeys: string[] = [];
    for (const document of binder.documents) {
      for (const versionId of document.versionIds) {
        const key = expectedArchiveKey(tenantId, BINDER_ID, document, versionId);
        expectedKeys.push(key, `${key}.metadata.json`);
        const bytes = await archive.bytes(key);
        const content = await state.versionContent(versionId);
        expect({ sha256: bytes && sha256Hex(bytes), size: bytes?.length }).toEqual(content);
        expect(await archive.sidecar(key)).toMatchObject({
          versionId,
          documentId: document.documentId,
          sha256: content.sha256,
          size: content.size,
          runId: plan.runId,
        });
        expect(await exportLedgerItem(services, versionId)).toMatchObject({
          state: 'exported',
          archiveKey: key,
          sha256: content.sha256,
          runId: plan.runId,
        });
      }
    }
    expect(await archive.keys(`${tenantId}/${BINDER_ID}/`)).toEqual(expectedKeys.sort());

    const manifestKeys = (await archive.keys('manifests/')).filter((k) => k.endsWith(`/${plan.runId}.jsonl`));
    // Filed under the run's start date, which leads its id (not under a date read before the run: midnight may pass).
    expect(manifestKeys).toEqual([`manifests/${plan.runId.slice(0, 10)}/${plan.runId}.jsonl`]);
    expect(plan.runId.slice(0, 10)).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const manifest = await archive.manifest(manifestKeys[0] ?? '');
    expect(manifest.run).toMatchObject({
      trigger: 'schedule',
      complete: true,
      binders: 1,
      versionsEnqueued: 4,
      versionsExported: 4,
      failed: 0,
      unfinished: 0,
    });
    expect(manifest.versions).toHaveLength(4);

    const calls = new CallDelta(services.emulator);
    const nextNight = await plannerHandler({ source: 'schedule' }, createLambdaContext({ functionName: 'export-planner' }));
    expect(nextNight).toMatchObject({ state: 'finalized', resumed: false, documentsSeen: 3, skippedUnchanged: 3, versionsEnqueued: 0 });
    expect(nextNight.runId).not.toBe(plan.runId);
    expect(queue.isEmpty()).toBe(true);
    expect(calls.byRoute()).toEqual({ [EXPORT_ROUTE.search]: 1 });
    expect((await archive.manifest(nextNight.manifestKey ?? '')).run).toMatchObject({
      complete: true,
      skippedUnchanged: 3,
      versionsEnqueued: 0,
    });
  });
});
