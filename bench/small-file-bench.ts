/**
 * The small-file batch figure (issue item 1, which the ingest rework addresses): how long the
 * current ingest takes for one SQS batch of 10 small files against a batch of one, with every
 * iBinder API call delayed by 50 ms (the emulator's latency fault), so that the figure shows
 * how much of the per-file API latency a batch overlaps. Target: within 1.5x.
 *
 * Each batch is a fresh measured process running the real `processBatch` with the Lambda's own
 * wiring, on objects put into the versioned inbox just before (new ones every time: a committed
 * object is not ingested twice). The two cases alternate who goes first.
 *
 * Beside the times it reports what a file costs: iBinder requests (counted by the emulator),
 * S3 and DynamoDB requests (counted by the in-memory S3 and DynamoDB as they receive them) and
 * the measured process's CPU time, each per file.
 *
 * The objects live in a fast in-memory S3 (memory-s3.ts), not in the local S3 server, and the
 * ingest ledger in a fast in-memory DynamoDB (memory-dynamodb.ts), not in the local DynamoDB
 * (dynalite with the transactions front), for one reason: each of those servers answers a
 * batch's ten requests one after another, and the figure would measure its queue instead of the
 * ingest (dynalite's TransactWriteItems took 60-90 ms each in a batch of ten against 7 ms for one
 * record; S3 and DynamoDB answer a batch's requests side by side). The in-memory DynamoDB has
 * TransactWriteItems with DynamoDB's semantics, so the ledger takes the transaction path it takes
 * on AWS and the DynamoDB calls are counted as AWS would count them. Both cases use the same
 * endpoints. The messages are first deliveries of fresh uploads, as most are: the ingest's happy
 * path (target: at most 5 AWS calls per file).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createLocalS3Client } from '../local/local-s3.js';
import { localPipelineConfig } from '../local/local-pipeline-config.js';
import { toS3EventNotification } from '../local/s3-event-notification.js';
import type { BenchContext } from './bench-context.js';
import { INGEST_TAGS } from './bench-tenant.js';
import { runMeasured } from './measured-child.js';
import { startMemoryDynamoDb } from './memory-dynamodb.js';
import { startMemoryS3 } from './memory-s3.js';
import { median, spread, type Spread } from './statistics.js';

/** What one file of a case cost, counted at the servers (medians over the rounds). */
export interface PerFileCost {
  /** Every iBinder request (API, token, storage PUT) of the case, divided by its files. */
  iBinderCalls: number;
  /** The upload's own round trips per file: presign, storage PUT, commit. */
  uploadCalls: number;
  /** S3 and DynamoDB requests of the case, divided by its files, as AWS counts them (the ledger's DynamoDB has transactions). */
  awsCalls: number;
  /** Per operation (`HeadObject`, `UpdateItem`, ...), per file, of the last round. */
  awsByOperation: Record<string, number>;
  /** CPU time (user + system) of the measured process, divided by its files (ms). */
  cpuMs: number;
}

export interface SmallFileBatchResult {
  batchSize: number;
  latencyMs: number;
  /** Wall time of processBatch with one file (ms). */
  single: Spread;
  /** Wall time of processBatch with `batchSize` files (ms). */
  batch: Spread;
  /** The batch's time over the single file's, round by round (each round runs one of each, back to back). */
  roundRatios: Spread;
  /** Calls and CPU per file with one file (the binder's schema and folders read for it alone). */
  singleCost: PerFileCost;
  /** Calls and CPU per file in a batch of `batchSize` (those reads shared by the batch). */
  batchCost: PerFileCost;
}

/** The iBinder routes that are the upload itself, as the emulator counts them. */
const UPLOAD_ROUTES = [
  'GET /documents/uploads/personalstorage/presignedupload',
  'PUT /storage/upload/{uploadId}',
  'POST /documents/drives/{domain}/{id}/{folderId}/upload',
];

export interface SmallFileBenchOptions {
  batchSize: number;
  latencyMs: number;
  repeat: number;
}

let objects = 0;

async function putSmallFiles(ctx: BenchContext, s3: S3Client, count: number): Promise<{ messageId: string; body: string }[]> {
  const { services } = ctx;
  const messages: { messageId: string; body: string }[] = [];
  for (let i = 0; i < count; i++) {
    const key = `inbox/bench/small-${++objects}.txt`;
    const body = Buffer.from(`small file ${objects}\n`.repeat(64));
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: services.inboxBucket,
        Key: key,
        Body: body,
        ContentType: 'text/plain',
        Tagging: new URLSearchParams(Object.entries(INGEST_TAGS)).toString(),
      }),
    );
    const notification = toS3EventNotification(
      {
        eventName: 'ObjectCreated:Put',
        bucket: services.inboxBucket,
        key,
        size: body.length,
        eTag: put.ETag?.replace(/"/g, ''),
        versionId: put.VersionId,
        time: new Date(),
      },
      { region: services.region, sequencer: Date.now().toString(16).toUpperCase().padStart(18, '0') },
    );
    messages.push({ messageId: `small-${objects}`, body: JSON.stringify(notification) });
  }
  return messages;
}

export async function runSmallFileBench(ctx: BenchContext, options: SmallFileBenchOptions): Promise<SmallFileBatchResult> {
  const { services } = ctx;
  const pipelineConfig = localPipelineConfig(services, { disposition: 'tag' });
  services.emulator.faults.add({ route: 'api', latencyMs: options.latencyMs, times: Number.POSITIVE_INFINITY });
  const single: number[] = [];
  const batch: number[] = [];
  const costs = new Map<number, CaseCost[]>();
  // The ingest ledger is in a DynamoDB of this bench's own, with transactions as on AWS. Calls
  // are counted by the servers themselves: a counting pass-through before each would put
  // another hop, in the servers' busy process, on every call of the batch.
  const dynamodb = await startMemoryDynamoDb({ tables: [services.ledgerTable] });
  const s3 = await startMemoryS3();
  const s3Client = createLocalS3Client(s3.endpoint);
  const endpoints = { ...ctx.endpoints, s3: s3.endpoint, dynamodb: dynamodb.endpoint };
  try {
    const measure = async (count: number, counted = true): Promise<number> => {
      const messages = await putSmallFiles(ctx, s3Client, count);
      ctx.progress(`small files: processBatch of ${count} file(s), ${options.latencyMs} ms API latency`);
      s3.reset();
      dynamodb.reset();
      const iBinderBefore = services.emulator.calls.byRoute();
      const result = await runMeasured(
        {
          kind: 'ingest',
          endpoints,
          credentials: ctx.credentials,
          pipelineConfig,
          ledgerTable: services.ledgerTable,
          inboxBucket: services.inboxBucket,
          messages,
        },
        { timeoutMs: 120_000 },
      );
      if (!result.ok) throw new Error(`ingest of ${count} small file(s) failed: ${result.error}`);
      if (result.outcome.kind !== 'ingest' || result.outcome.ingested !== count) {
        throw new Error(
          `ingest of ${count} small file(s) committed ${JSON.stringify(result.outcome)}${result.output ? `\n${result.output}` : ''}`,
        );
      }
      const iBinder = difference(services.emulator.calls.byRoute(), iBinderBefore);
      const awsByOperation = { ...s3.counts(), ...dynamodb.counts() };
      if (!counted) return result.durationMs;
      const list = costs.get(count) ?? [];
      list.push({
        files: count,
        iBinderCalls: sum(Object.values(iBinder)),
        uploadCalls: sum(UPLOAD_ROUTES.map((route) => iBinder[route] ?? 0)),
        awsByOperation,
        cpuMs: result.cpuMs,
      });
      costs.set(count, list);
      return result.durationMs;
    };
    // One batch first, not counted: the local servers (the emulator, the in-memory S3 and
    // DynamoDB) run their code for the first time then, slower until V8 has compiled it, and the
    // case that came first would pay for it.
    await measure(options.batchSize, false);
    for (let round = 0; round < options.repeat; round++) {
      if (round % 2 === 0) {
        single.push(await measure(1));
        batch.push(await measure(options.batchSize));
      } else {
        batch.push(await measure(options.batchSize));
        single.push(await measure(1));
      }
    }
  } finally {
    // The bench adds no other faults: clearing them all ends the latency.
    services.emulator.faults.clear();
    await dynamodb.stop();
    s3Client.destroy();
    await s3.stop();
  }
  return {
    batchSize: options.batchSize,
    latencyMs: options.latencyMs,
    single: spread(single),
    batch: spread(batch),
    roundRatios: spread(batch.map((ms, round) => ms / (single[round] ?? Number.NaN))),
    singleCost: perFileCost(costs.get(1) ?? []),
    batchCost: perFileCost(costs.get(options.batchSize) ?? []),
  };
}

/** One measured case's counts, before they are divided by its files. */
interface CaseCost {
  files: number;
  iBinderCalls: number;
  uploadCalls: number;
  awsByOperation: Record<string, number>;
  cpuMs: number;
}

function perFileCost(cases: CaseCost[]): PerFileCost {
  const last = cases.at(-1);
  if (last === undefined) return { iBinderCalls: 0, uploadCalls: 0, awsCalls: 0, awsByOperation: {}, cpuMs: 0 };
  const perFile = (pick: (c: CaseCost) => number): number => median(cases.map((c) => pick(c) / c.files));
  return {
    iBinderCalls: perFile((c) => c.iBinderCalls),
    uploadCalls: perFile((c) => c.uploadCalls),
    awsCalls: perFile((c) => sum(Object.values(c.awsByOperation))),
    awsByOperation: Object.fromEntries(Object.entries(last.awsByOperation).map(([operation, n]) => [operation, n / last.files])),
    cpuMs: perFile((c) => c.cpuMs),
  };
}

function difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([route, n]) => [route, n - (before[route] ?? 0)])
      .filter(([, n]) => Number(n) > 0),
  );
}

function sum(values: readonly number[]): number {
  return values.reduce((total, n) => total + n, 0);
}
