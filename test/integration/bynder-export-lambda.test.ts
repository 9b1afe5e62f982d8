/**
 * The export's Lambda handlers as deployed, for an environment with Bynder: wired from nothing
 * but their environment (PIPELINE_CONFIG with a `bynder` block, the Bynder secret read from
 * Secrets Manager as the ingest reads it, the SDK's endpoint overrides pointing at the local S3
 * and DynamoDB servers). The scheduled planner plans iBinder's run and the portal's; the worker
 * handler archives both connectors' jobs from one queue; the next night costs Bynder one list call.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanResult } from '../../functions/export-planner/plan.js';
import { createLambdaContext } from '../../local/lambda-context.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import { LOCAL_S3_CREDENTIALS } from '../../local/local-s3.js';
import type { SqsSimulator } from '../../local/sqs-simulator.js';
import { logger } from '../../shared/observability/logger.js';
import { ArchiveReader, addProjectBinder, routeSqsToSimulators, simpleDocuments } from '../helpers/export-scenarios.js';
import { type LocalStack, startLocalStack } from '../helpers/local-stack.js';

type PlannerHandler = (event: unknown, context: Context) => Promise<PlanResult>;
type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const BINDER_ID = 'LAMBDAB01';
const BYNDER_SECRET = 'ibinder-pipeline/local/bynder-client';

let stack: LocalStack;
let archive: ArchiveReader;
let queue: SqsSimulator;
let plannerHandler: PlannerHandler;
let workerHandler: WorkerHandler;
let sqsRouting: { restore(): void } | undefined;
let secrets: ReturnType<typeof mockClient> | undefined;
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
  addProjectBinder(services.emulator.state, BINDER_ID, simpleDocuments('lambda-bynder', 1));
  queue = stack.createExportQueue({ queueName: 'bynder-export-lambda-test' });
  sqsRouting = routeSqsToSimulators([queue]);
  secrets = mockClient(SecretsManagerClient);
  secrets
    .on(GetSecretValueCommand, { SecretId: BYNDER_SECRET })
    .resolves({ SecretString: JSON.stringify({ clientId: services.bynder.clientId, clientSecret: services.bynder.clientSecret }) });
  savedLogLevel = logger.getLevelName();
  logger.setLogLevel('SILENT');
  const config = localPipelineConfig(services, {
    exportBinders: [BINDER_ID],
    bynder: { portalUrl: services.bynder.url, credentialsSecretName: BYNDER_SECRET, archivePortalName: 'lambda-portal' },
  });
  setEnv({
    PIPELINE_CONFIG: JSON.stringify(config),
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
  plannerHandler = (await import('../../functions/export-planner/handler.js')).handler;
  workerHandler = (await import('../../functions/export-worker/handler.js')).handler;
});

afterAll(async () => {
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  sqsRouting?.restore();
  secrets?.restore();
  if (savedLogLevel) logger.setLogLevel(savedLogLevel as Parameters<typeof logger.setLogLevel>[0]);
  await stack?.stop();
});

describe('the deployed export handlers with Bynder configured', () => {
  it('a scheduled run plans iBinder and the portal, the workers archive both, and the next night costs Bynder its list call only', async () => {
    const { services } = stack;
    const liveVersions = services.bynder.state
      .allAssets()
      .filter((a) => !a.deleted)
      .reduce((n, a) => n + a.items.length, 0);

    const plan = await plannerHandler({ source: 'schedule' }, createLambdaContext({ functionName: 'export-planner' }));
    expect(plan).toMatchObject({ planningComplete: true, versionsEnqueued: 1 });
    expect(plan.alsoPlanned).toEqual([
      expect.objectContaining({ connector: 'bynder', planningComplete: true, versionsEnqueued: liveVersions }),
    ]);
    expect(secrets?.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    const report = await queue.drainWithLambda(workerHandler, {
      batchSize: 5,
      createContext: () => createLambdaContext({ functionName: 'export-worker' }),
    });
    expect(report).toMatchObject({ drained: true, deleted: 1 + liveVersions, deadLetters: [] });
    const bynderFiles = (await archive.keys('lambda-portal/')).filter((k) => !k.endsWith('.metadata.json'));
    expect(bynderFiles).toHaveLength(liveVersions);

    const before = services.bynder.calls.byRoute();
    const nextNight = await plannerHandler({ source: 'schedule' }, createLambdaContext({ functionName: 'export-planner' }));
    const bynderNight = nextNight.alsoPlanned?.[0];
    expect(bynderNight).toMatchObject({ connector: 'bynder', versionsEnqueued: 0, listCalls: 1 });
    const after = services.bynder.calls.byRoute();
    const delta = Object.fromEntries(
      Object.entries(after).flatMap(([route, n]) => (n - (before[route] ?? 0) > 0 ? [[route, n - (before[route] ?? 0)]] : [])),
    );
    // One list call, and nothing else: no brands listing (every brand), no asset, location or download call.
    expect(Object.values(delta)).toEqual([1]);
    expect(Object.keys(delta).filter((route) => /media/.test(route))).toHaveLength(1);
    expect(queue.isEmpty()).toBe(true);
  });
});
