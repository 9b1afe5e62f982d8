/**
 * The log-scan test: a full run of the deployed functions' code on the local stack, with the
 * real Powertools logger and metrics printing, and every printed line scanned for what must
 * never be in a log: the client secret, any bearer token the emulator issued, the word
 * "Bearer ", and a presigned URL's signature.
 *
 * The run goes through the same entry points Lambda calls: the ingest handler (middy, the
 * Powertools middlewares, the dependency factory reading the function's environment), the
 * export planner's planning with the worker's dependency factory, and the export worker
 * handler fed by a simulated export queue. It includes a file ingested after a 429, a file
 * rejected by validation, a file rejected by iBinder (with a traceId), a token refused after
 * revocation and fetched anew, and an export whose first download link is refused and renewed.
 *
 * So that the test can fail for real, it also asserts that the lines of one ingested file carry
 * its object key, version, binder, folder, uploadId, document and version ids, that a retry
 * line of shared code carries them too, and that the metrics counted the run.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Before any import creates a Logger or Metrics: Powertools prints to the global console in
// dev mode (captured below), metrics included, and the log level shows debug lines too.
const captureEnv = vi.hoisted(() => {
  const env = { POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false', POWERTOOLS_LOG_LEVEL: 'DEBUG' };
  const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  return { previous };
});

import { handler as ingestHandler } from '../../functions/ingest/handler.js';
import { handler as workerHandler } from '../../functions/export-worker/handler.js';
import { planExport } from '../../functions/export-planner/plan.js';
import { TokenStore } from '../../emulator/token-store.js';
import { InMemoryExportJobQueue } from '../../shared/export/job-queue.js';
import { serializeExportJob } from '../../shared/export/job.js';
import { exportDepsFromEnvironment } from '../../shared/export/runtime-deps.js';
import { CLIENT_ID_ENV, CLIENT_SECRET_ENV } from '../../shared/credentials.js';
import { ENV } from '../../shared/config/runtime.js';
import { EXPORT_RUNS_SERVICE, METRIC, SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics } from '../../shared/observability/metrics.js';
import { LOCAL_S3_CREDENTIALS } from '../../local/local-s3.js';
import type { SqsLambdaHandler } from '../../local/sqs-simulator.js';
import { HARBOUR, ROUTE, sampleBytes, validTags } from '../helpers/ingest-scenarios.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { captureConsole, emfDatapoints, sumOf, type EmfDatapoint } from '../helpers/powertools-output.js';

const KEYS = {
  after429: 'inbox/log-scan/after-429.pdf',
  invalid: 'inbox/log-scan/invalid-discipline.pdf',
  afterRevocation: 'inbox/log-scan/after-revocation.pdf',
  refusedByIbinder: 'inbox/log-scan/refused-by-ibinder.pdf',
} as const;

let stack: LocalStack;
let previousEnv: Record<string, string | undefined> = {};
/** Every console call of the run, in order. */
let entries: string[] = [];
let lines: Record<string, unknown>[] = [];
let points: EmfDatapoint[] = [];
/** Every bearer token the emulator issued during the run. */
const issuedTokens: string[] = [];
let clientSecret = '';

/** Sets the variables the stack sets on the functions, pointing at the local services. */
function useFunctionEnvironment(s: LocalStack): void {
  const { services } = s;
  const env: Record<string, string> = {
    [ENV.config]: JSON.stringify(s.config),
    [ENV.ledgerTable]: services.ledgerTable,
    [ENV.inboxBucket]: services.inboxBucket,
    [ENV.exportLedgerTable]: services.exportLedgerTable,
    [ENV.archiveBucket]: services.archiveBucket,
    AWS_ENDPOINT_URL_S3: services.s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb.endpoint,
    AWS_REGION: services.region,
    AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    [CLIENT_ID_ENV]: services.emulator.clientId,
    [CLIENT_SECRET_ENV]: services.emulator.clientSecret,
  };
  previousEnv = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
}

function restoreEnvironment(values: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

async function drainIngest(): Promise<void> {
  const report = await stack.queue.drainWithLambda(ingestHandler as SqsLambdaHandler, { batchSize: 10, maxRounds: 5 });
  expect(stack.queue.isEmpty(), JSON.stringify(report)).toBe(true);
}

/** The export of the harbour binder: planned as the schedule would, jobs through the worker handler. */
async function runScheduledExport(): Promise<void> {
  const plannerMetrics = createMetrics(SERVICE_NAMES.exportPlanner);
  const queue = new InMemoryExportJobQueue();
  const plan = await planExport({ trigger: 'schedule' }, { ...exportDepsFromEnvironment(plannerMetrics), queue });
  plannerMetrics.publishStoredMetrics();
  expect(plan.planningComplete).toBe(true);
  expect(queue.jobs.length).toBeGreaterThan(0);

  const exportQueue = stack.createExportQueue({ queueName: 'ibinder-export-log-scan', visibilityTimeoutSeconds: 120, maxReceiveCount: 3 });
  for (const job of queue.jobs) exportQueue.send(serializeExportJob(job));
  await exportQueue.drainWithLambda(workerHandler as SqsLambdaHandler, { batchSize: 5, maxRounds: 20 });
  expect(exportQueue.isEmpty()).toBe(true);
}

beforeAll(async () => {
  stack = await startLocalStack({ config: { exportBinders: [HARBOUR.binderId] } });
  clientSecret = stack.services.emulator.clientSecret;
  useFunctionEnvironment(stack);

  const issue = TokenStore.prototype.issue;
  vi.spyOn(TokenStore.prototype, 'issue').mockImplementation(function (this: TokenStore) {
    const token = issue.call(this);
    issuedTokens.push(token.accessToken);
    return token;
  });
  const output = captureConsole();
  try {
    const { emulator } = stack.services;
    // A 429 on the first commit (retried after Retry-After) and a file that fails validation.
    emulator.faults.add({ route: ROUTE.commit, status: 429, retryAfterSeconds: 1, times: 1 });
    await stack.putInboxObject(KEYS.after429, sampleBytes('after 429'), validTags({ 'ibinder:filename': 'log-scan after 429.pdf' }));
    await stack.putInboxObject(KEYS.invalid, sampleBytes('invalid'), validTags({ 'ibinder:meta:discipline': 'NOT-A-DISCIPLINE' }));
    await drainIngest();

    // Every token dies: the next call is refused (401) and a new token is fetched.
    emulator.revokeTokens();
    await stack.putInboxObject(
      KEYS.afterRevocation,
      sampleBytes('after revocation'),
      validTags({ 'ibinder:filename': 'log-scan after revocation.pdf' }),
    );
    await drainIngest();

    // iBinder refuses the commit: a permanent rejection that carries iBinder's traceId.
    emulator.faults.add({ route: ROUTE.commit, status: 400, times: 1 });
    await stack.putInboxObject(KEYS.refusedByIbinder, sampleBytes('refused'), validTags({ 'ibinder:filename': 'log-scan refused.pdf' }));
    await drainIngest();

    // The first download link is refused by storage (as an expired one is) and renewed.
    emulator.revokeTokens();
    emulator.faults.add({ route: 'storage', method: 'GET', status: 403, times: 1 });
    await runScheduledExport();
  } finally {
    output.restore();
  }
  entries = [...output.entries];
  lines = output.json();
  points = emfDatapoints(lines);
});

afterAll(async () => {
  restoreEnvironment(previousEnv);
  restoreEnvironment(captureEnv.previous);
  await stack?.stop();
});

function linesAbout(key: string): Record<string, unknown>[] {
  return lines.filter((line) => line.key === key);
}

describe('captured logs of a full run', () => {
  it('went through the cases the scan is about', () => {
    const { emulator } = stack.services;
    expect(emulator.calls.count(ROUTE.commit, 429)).toBe(1);
    expect(emulator.calls.count(ROUTE.commit, 400)).toBe(1);
    expect(issuedTokens.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => l.message === 'download link expired; asking for a new one')).toBe(true);
    expect(lines.filter((l) => l.message === 'file rejected: moved to the rejected prefix with an error report')).toHaveLength(2);
    expect(lines.filter((l) => l.message === 'file ingested as a new version')).toHaveLength(2);
    expect(lines.filter((l) => l.message === 'version exported').length).toBeGreaterThan(0);
  });

  it('hold no client secret, bearer token or presigned signature', () => {
    expect(clientSecret.length).toBeGreaterThan(8);
    const leaks = entries.flatMap((entry, index) => {
      const found = [
        entry.includes(clientSecret) ? 'the client secret' : undefined,
        issuedTokens.some((token) => entry.includes(token)) ? 'a bearer token' : undefined,
        entry.includes('Bearer ') ? '"Bearer "' : undefined,
        /X-Amz-Signature|X-Amz-Credential|Signature=/i.test(entry) ? 'a presigned URL signature' : undefined,
      ].filter((what): what is string => what !== undefined);
      return found.length > 0 ? [`entry ${index}: ${found.join(', ')}`] : [];
    });
    expect(leaks).toEqual([]);
  });

  it('are JSON lines, every one of them', () => {
    const notJson = entries.filter((entry) => {
      try {
        JSON.parse(entry);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(lines).toHaveLength(entries.length);
  });

  it('name the object on every line of its story, and its target, upload and document once known', () => {
    const story = linesAbout(KEYS.after429);
    expect(story.length).toBeGreaterThanOrEqual(3);
    for (const line of story) {
      expect(line, String(line.message)).toMatchObject({
        bucket: stack.services.inboxBucket,
        key: KEYS.after429,
        objectVersionId: expect.any(String),
        messageId: expect.any(String),
      });
    }
    const ingested = story.find((l) => l.message === 'file ingested as a new version');
    expect(ingested).toMatchObject({
      binderId: HARBOUR.binderId,
      folderId: HARBOUR.folders.architectureDrawings,
      uploadId: expect.any(String),
      connector: 'ibinder',
      documentId: expect.any(String),
      versionId: expect.any(String),
    });
  });

  it('put the record keys and iBinder traceId on the shared client retry line of the 429', () => {
    const retry = lines.find((l) => l.message === 'iBinder call failed transiently; retrying' && l.status === 429);
    expect(retry).toMatchObject({
      key: KEYS.after429,
      binderId: HARBOUR.binderId,
      uploadId: expect.any(String),
      traceId: expect.any(String),
    });
  });

  it('give the traceId of iBinder refusals, and the object, on the rejection', () => {
    const rejection = linesAbout(KEYS.refusedByIbinder).find(
      (l) => l.message === 'file rejected: moved to the rejected prefix with an error report',
    );
    expect(rejection).toMatchObject({
      key: KEYS.refusedByIbinder,
      binderId: HARBOUR.binderId,
      reason: 'refused',
      connector: 'ibinder',
      requestId: expect.any(String),
    });
  });

  it('name run, document, version and archive key on the export lines', () => {
    const exportLines = lines.filter(
      (l) => l.message === 'version exported' || l.message === 'download link expired; asking for a new one',
    );
    expect(exportLines.length).toBeGreaterThan(1);
    for (const line of exportLines) {
      expect(line, String(line.message)).toMatchObject({
        runId: expect.any(String),
        binderId: HARBOUR.binderId,
        documentId: expect.any(String),
        versionId: expect.any(String),
        archiveKey: expect.stringContaining(`/${HARBOUR.binderId}/`),
      });
    }
  });
});

describe('metrics of the same run', () => {
  const environment = 'local';
  const ingest = { service: SERVICE_NAMES.ingest, environment };

  it('count files, rejections by reason, API calls, 429s and token requests of the ingest', () => {
    expect(sumOf(points, METRIC.filesIngested, ingest)).toBe(2);
    expect(sumOf(points, METRIC.filesRejected, ingest)).toBe(2);
    expect(sumOf(points, METRIC.filesRejected, { ...ingest, reason: 'metadata' })).toBe(1);
    expect(sumOf(points, METRIC.filesRejected, { ...ingest, reason: 'refused' })).toBe(1);
    expect(sumOf(points, METRIC.rateLimited, ingest)).toBe(1);
    expect(sumOf(points, METRIC.apiCalls, ingest)).toBeGreaterThan(5);
    expect(sumOf(points, METRIC.apiClientErrors, ingest)).toBeGreaterThanOrEqual(3);
    expect(sumOf(points, METRIC.tokenRequests, ingest)).toBeGreaterThanOrEqual(2);
    expect(sumOf(points, METRIC.storageTransfers, ingest)).toBeGreaterThanOrEqual(3);
  });

  it('count exported versions, the renewed link and the completed scheduled run', () => {
    const worker = { service: SERVICE_NAMES.exportWorker, environment };
    expect(sumOf(points, METRIC.versionsExported, worker)).toBeGreaterThan(0);
    expect(sumOf(points, METRIC.downloadLinksRenewed, worker)).toBe(1);
    expect(sumOf(points, METRIC.storageTransferFailures, worker)).toBe(1);
    expect(sumOf(points, METRIC.exportRunsCompleted, { service: EXPORT_RUNS_SERVICE, environment, trigger: 'schedule' })).toBe(1);
    expect(sumOf(points, METRIC.apiCalls, { service: SERVICE_NAMES.exportPlanner, environment })).toBeGreaterThan(0);
  });
});
