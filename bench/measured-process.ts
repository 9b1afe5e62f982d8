/**
 * One measured case, in a process of its own: the bench's parent forks this module, sends one
 * task over IPC, and gets back the duration and the peak memory of this process. The local
 * servers live in the parent, so what is measured here is the pipeline's code only, wired the
 * way a Lambda wires it: `createIngestDependencies(env)` and `exportDepsFromEnvironment(env)`
 * read PIPELINE_CONFIG, the table and bucket names and IBINDER_CLIENT_ID/SECRET from an
 * environment object, and the AWS SDK finds the local servers through AWS_ENDPOINT_URL_<SERVICE>.
 *
 * Every module is loaded before `ready` is sent, so all cases of a kind start from the same
 * baseline and the duration covers the work alone.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { runExport } from '../functions/export-planner/run-export.js';
import { streamToArchive } from '../functions/export-worker/archive-upload.js';
import { processBatch } from '../functions/ingest/batch.js';
import { createIngestDependencies } from '../functions/ingest/dependencies.js';
import { createS3Client } from '../shared/aws/clients.js';
import { CLIENT_ID_ENV, CLIENT_SECRET_ENV } from '../shared/credentials.js';
import { ENV } from '../shared/config/runtime.js';
import { exportDepsFromEnvironment } from '../shared/export/runtime-deps.js';
import { DEFAULT_EXPORT_SETTINGS } from '../shared/export/settings.js';
import { HttpIBinderClient } from '../shared/connectors/ibinder/client/client.js';
import { createMetrics } from '../shared/observability/metrics.js';
import type { IngestMetrics } from '../shared/observability/metrics.js';
import { runBynderArchiveTransfer, runBynderUpload, runChunkedPostCopy } from './bynder-measured-tasks.js';
import { startMemoryProbe } from './memory-probe.js';
import {
  ParentMessageSchema,
  type ChildMessage,
  type ArchiveTransferTask,
  type ExportTask,
  type IngestTask,
  type LocalEndpoints,
  type MeasuredResult,
  type MeasuredTask,
  type PlainCopyTask,
  type RawPipeTask,
  type TaskOutcome,
} from './protocol.js';

const probe = startMemoryProbe();

/** Lambda's 15-minute ceiling: the ingest never has to cut a record short here. */
const INVOCATION_MS = 15 * 60_000;

/**
 * Points the AWS SDK at the local servers, as AWS_ENDPOINT_URL_<SERVICE> does for a Lambda
 * run locally. Only endpoints, region and the local servers' fixed dummy keys go into
 * process.env; the iBinder credentials stay in the environment object handed to the wiring.
 */
function useLocalEndpoints(endpoints: LocalEndpoints): void {
  process.env.AWS_ENDPOINT_URL_S3 = endpoints.s3;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoints.dynamodb;
  process.env.AWS_REGION = endpoints.region;
  process.env.AWS_ACCESS_KEY_ID = endpoints.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = endpoints.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
}

function sqsRecord(message: { messageId: string; body: string }, queueArn: string): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: message.messageId,
    receiptHandle: `bench-${message.messageId}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AIDALOCALS3',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

async function runIngest(task: IngestTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  useLocalEndpoints(task.endpoints);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.config]: JSON.stringify(task.pipelineConfig),
    [ENV.ledgerTable]: task.ledgerTable,
    [ENV.inboxBucket]: task.inboxBucket,
    [CLIENT_ID_ENV]: task.credentials.clientId,
    [CLIENT_SECRET_ENV]: task.credentials.clientSecret,
  };
  const counts = { ingested: 0, rejected: [] as string[], retried: 0 };
  const metrics: IngestMetrics = {
    fileIngested: () => {
      counts.ingested += 1;
    },
    fileRejected: (reason) => {
      counts.rejected.push(reason);
    },
    recordRetried: () => {
      counts.retried += 1;
    },
  };
  const deps = { ...createIngestDependencies(env), metrics };
  const event: SQSEvent = { Records: task.messages.map((m) => sqsRecord(m, 'arn:aws:sqs:us-east-1:000000000000:ibinder-ingest-bench')) };
  const deadline = Date.now() + INVOCATION_MS;
  const started = performance.now();
  const response = await processBatch(event, { getRemainingTimeInMillis: () => deadline - Date.now() }, deps);
  const durationMs = performance.now() - started;
  deps.s3.destroy();
  return {
    durationMs,
    outcome: { kind: 'ingest', batchItemFailures: response.batchItemFailures.length, ...counts },
  };
}

async function runPlainCopy(task: PlainCopyTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  useLocalEndpoints(task.endpoints);
  const s3 = createS3Client({}, process.env);
  const started = performance.now();
  const object = await s3.send(new GetObjectCommand({ Bucket: task.bucket, Key: task.key, VersionId: task.versionId }));
  const body = object.Body as Readable | undefined;
  if (!body || object.ContentLength === undefined)
    throw new Error(`GetObject s3://${task.bucket}/${task.key} returned no body or no length`);
  const upload = http.request(task.uploadUrl, { method: 'PUT', headers: { 'content-length': String(object.ContentLength) } });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    upload.once('response', resolve);
    upload.once('error', reject);
  });
  answered.catch(() => undefined); // a failed PUT is reported by the pipeline below
  await pipeline(body, upload);
  const response = await answered;
  response.resume();
  await new Promise((resolve) => response.once('end', resolve));
  const durationMs = performance.now() - started;
  s3.destroy();
  if (response.statusCode !== 200) throw new Error(`the presigned PUT answered ${response.statusCode}`);
  return { durationMs, outcome: { kind: 'plain-copy', status: response.statusCode, bytes: object.ContentLength } };
}

async function runExportTask(task: ExportTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  useLocalEndpoints(task.endpoints);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    [ENV.config]: JSON.stringify(task.pipelineConfig),
    [ENV.exportLedgerTable]: task.exportLedgerTable,
    [ENV.archiveBucket]: task.archiveBucket,
    [CLIENT_ID_ENV]: task.credentials.clientId,
    [CLIENT_SECRET_ENV]: task.credentials.clientSecret,
  };
  const deps = exportDepsFromEnvironment(createMetrics('export-bench'), env);
  const started = performance.now();
  const summary = await runExport(deps, { binderIds: task.binderIds, retryDelay: () => new Promise((r) => setTimeout(r, 200)) });
  const durationMs = performance.now() - started;
  deps.s3.destroy();
  return {
    durationMs,
    outcome: {
      kind: 'export',
      runId: summary.runId,
      documentsSeen: summary.documentsSeen,
      skippedUnchanged: summary.skippedUnchanged,
      versionsEnqueued: summary.versionsEnqueued,
      versionsExported: summary.versionsExported,
      alreadyExported: summary.alreadyExported,
      bytes: summary.bytes,
      failed: summary.failed.map((f) => `${f.documentId}/${f.versionId} (${f.kind}): ${f.reason}`),
      manifestKey: summary.manifestKey,
    },
  };
}

/**
 * GET piped into PUT with nothing in between: what the machine can move between the fast
 * endpoints. Node's own http client on both sides (the SDK's S3 requests go through it too),
 * a plain `pipeline` from the response into the request.
 */
async function runRawPipe(task: RawPipeTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  const started = performance.now();
  const agent = new http.Agent({ keepAlive: false });
  const download = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(task.sourceUrl, { agent }, resolve).once('error', reject),
  );
  const length = download.headers['content-length'];
  if (download.statusCode !== 200 || length === undefined)
    throw new Error(`GET ${task.sourceUrl} answered ${download.statusCode} without a Content-Length`);
  const upload = http.request(task.sinkUrl, { method: 'PUT', agent, headers: { 'content-length': length } });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => upload.once('response', resolve).once('error', reject));
  await pipeline(download, upload);
  const response = await answered;
  response.resume();
  await new Promise((resolve) => response.once('end', resolve));
  const durationMs = performance.now() - started;
  if (response.statusCode !== 200) throw new Error(`PUT ${task.sinkUrl} answered ${response.statusCode}`);
  return { durationMs, outcome: { kind: 'raw-pipe', status: response.statusCode, bytes: Number(length) } };
}

/** The export's own transfer code between the same endpoints (see ArchiveTransferTaskSchema). */
async function runArchiveTransfer(task: ArchiveTransferTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  const s3 = createS3Client(
    { endpoint: task.s3Endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } },
    {},
  );
  const source = new HttpIBinderClient({
    apiBaseUrl: task.sourceUrl,
    tokenUrl: task.sourceUrl,
    tenantId: 'bench',
    credentials: () => Promise.resolve({ clientId: 'bench', clientSecret: 'bench' }),
  });
  const started = performance.now();
  const opened = await source.openDownload(task.sourceUrl);
  const digest = await streamToArchive({
    s3,
    bucket: task.bucket,
    key: task.key,
    body: opened.body,
    contentLength: opened.contentLength,
    contentType: opened.contentType,
    partSizeBytes: DEFAULT_EXPORT_SETTINGS.partSizeBytes,
    queueSize: DEFAULT_EXPORT_SETTINGS.uploadQueueSize,
    checksumAlgorithm: DEFAULT_EXPORT_SETTINGS.s3ChecksumAlgorithm,
  });
  const durationMs = performance.now() - started;
  s3.destroy();
  return { durationMs, outcome: { kind: 'archive-transfer', size: digest.size, sha256Hex: digest.sha256Hex } };
}

function runTask(task: MeasuredTask): Promise<{ durationMs: number; outcome: TaskOutcome }> {
  switch (task.kind) {
    case 'raw-pipe':
      return runRawPipe(task);
    case 'archive-transfer':
      return runArchiveTransfer(task);
    case 'ingest':
      return runIngest(task);
    case 'plain-copy':
      return runPlainCopy(task);
    case 'export':
      return runExportTask(task);
    case 'bynder-upload':
      return runBynderUpload(task);
    case 'chunked-post-copy':
      return runChunkedPostCopy(task);
    case 'bynder-archive-transfer':
      return runBynderArchiveTransfer(task);
  }
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('bench/measured-process.ts runs only as a child of bench/run.ts (no IPC channel)'));
      return;
    }
    process.send(message, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

process.once('message', (raw: unknown) => {
  void (async () => {
    let result: MeasuredResult;
    try {
      const { task } = ParentMessageSchema.parse(raw);
      const cpuBefore = process.cpuUsage();
      const { durationMs, outcome } = await runTask(task);
      const cpu = process.cpuUsage(cpuBefore);
      result = { ok: true, durationMs, cpuMs: (cpu.user + cpu.system) / 1000, memory: probe.peak(), outcome };
    } catch (err) {
      result = { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err), memory: probe.peak() };
    }
    probe.stop();
    await send({ type: 'result', result });
    // Keep-alive sockets of the SDK and Node's http agents would hold the process open; the work is done.
    process.exit(0);
  })();
});

await send({ type: 'ready' });
