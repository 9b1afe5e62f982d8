/**
 * Export bench, two questions:
 *
 * 1. Calls. 2,000 small documents in a binder of their own; a first run exports them all, then
 *    five documents get a new version and a second run exports those. The emulator counts
 *    every API call of each run, against the naive count: the page calls plus one versions
 *    call per document plus one download link per version exported. The skip by
 *    `latestVersionId` in the export ledger is what should make the second run cheap.
 * 2. Memory. A document whose latest version is 10 MiB, another's 1 GiB (synthetic bytes,
 *    generated on read by the emulator), each exported by `runExport` in a fresh measured
 *    process. The archived object is read back and its SHA-256 compared with the emulator's.
 *
 * Each run is a measured process of its own, wired like the export Lambdas
 * (`exportDepsFromEnvironment`), as a nightly run starts from a cold Lambda.
 *
 * The calls runs also count the bookkeeping: every DynamoDB and S3 request of the run. Their
 * export ledger is the bench's in-memory DynamoDB (memory-dynamodb.ts), which has transactions
 * as on AWS (so the run writes its markers and counters as it does there, not through the
 * one-write-per-item fallback) and counts the calls as it receives them; S3 requests are counted
 * by a pass-through (aws-call-counter.ts). Not the local DynamoDB (dynalite): under load it took
 * 10-25 ms a call, so an unchanged night was paced by its page's ledger reads and cursor save
 * rather than by the page calls the figure is about, and 1,000 documents took 26 s of the bench.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { seedBulkDocuments } from '../emulator/seed.js';
import { localPipelineConfig } from '../local/local-pipeline-config.js';
import { ExportLedger } from '../shared/ledger/export-ledger.js';
import { flushDiskWrites, formatBytes, type BenchContext } from './bench-context.js';
import { BENCH_BINDERS } from './bench-tenant.js';
import { startAwsCallCounter } from './aws-call-counter.js';
import { startMemoryDynamoDb } from './memory-dynamodb.js';
import { runMeasured } from './measured-child.js';
import type { MemoryPeak, TaskOutcome } from './protocol.js';

type ExportOutcome = Extract<TaskOutcome, { kind: 'export' }>;

export const ROUTES = {
  page: 'POST /documents',
  versions: 'GET /documents/{documentId}/versions',
  linkRaw: 'GET /documents/{documentId}/versions/{versionId}/raw',
  linkLegacy: 'GET /documents/{documentId}/versions/{versionId}/downloadlink',
} as const;

export interface ExportCallsRun {
  label: string;
  durationMs: number;
  /** Every API call the emulator counted during the run (token and storage calls not included). */
  apiCalls: number;
  pageCalls: number;
  versionsCalls: number;
  linkCalls: number;
  tokenCalls: number;
  storageCalls: number;
  byRoute: Record<string, number>;
  /** DynamoDB requests of the run by operation (planner and worker, the run's bookkeeping). */
  dynamoDbCalls: Record<string, number>;
  /** S3 requests of the run by operation (archive files, sidecars, manifest; a probe would be HeadObject or GetObject). */
  s3Calls: Record<string, number>;
  /** Page calls + one versions call per document + one download link per exported version. */
  naiveCalls: number;
  exported: number;
  expectedExported: number;
  failed: string[];
  memory: MemoryPeak;
}

export interface ExportCallsResult {
  documents: number;
  changed: number;
  /** The last run changes nothing and has every API call delayed by this much. */
  unchangedNightLatencyMs: number;
  runs: ExportCallsRun[];
}

/** API latency of the unchanged-night run (the figure). */
export const UNCHANGED_NIGHT_LATENCY_MS = 80;

export interface ExportMemoryCase {
  label: string;
  bytes: number;
  binderId: string;
}

export interface ExportMemoryResult extends ExportMemoryCase {
  durationMs: number;
  memory: MemoryPeak;
  exported: number;
  /** The archived file, read back, hashes to the emulator's SHA-256 of the version. */
  checksumMatch: boolean;
}

export interface ExportBenchOptions {
  documents: number;
  changed: number;
  memoryCases: ExportMemoryCase[];
  timeoutMs: (bytes: number) => number;
}

function exportTask(ctx: BenchContext, binderId: string, endpoints = ctx.endpoints): Parameters<typeof runMeasured>[0] {
  const { services } = ctx;
  return {
    kind: 'export',
    endpoints,
    credentials: ctx.credentials,
    pipelineConfig: localPipelineConfig(services),
    exportLedgerTable: services.exportLedgerTable,
    archiveBucket: services.archiveBucket,
    binderIds: [binderId],
  };
}

async function measuredExport(
  ctx: BenchContext,
  binderId: string,
  timeoutMs: number,
  endpoints = ctx.endpoints,
): Promise<{ outcome: ExportOutcome; durationMs: number; memory: MemoryPeak }> {
  const result = await runMeasured(exportTask(ctx, binderId, endpoints), { timeoutMs });
  if (!result.ok) throw new Error(`export of binder ${binderId} failed: ${result.error}`);
  if (result.outcome.kind !== 'export') throw new Error(`export of binder ${binderId} answered with a ${result.outcome.kind} outcome`);
  return { outcome: result.outcome, durationMs: result.durationMs, memory: result.memory };
}

export async function runExportCallsBench(ctx: BenchContext, options: ExportBenchOptions): Promise<ExportCallsResult> {
  const { emulator } = ctx.services;
  const binderId = BENCH_BINDERS.bulk;
  const seeded = seedBulkDocuments(emulator.state, { binderId, count: options.documents, bytesPerVersion: 1024, fileNamePrefix: 'bench' });
  const runs: ExportCallsRun[] = [];
  // An export ledger of these runs' own, with transactions as on AWS, and both AWS endpoints counted.
  const dynamodb = await startMemoryDynamoDb({ tables: [ctx.services.exportLedgerTable] });
  const s3Counter = await startAwsCallCounter(ctx.endpoints.s3);
  const endpoints = { ...ctx.endpoints, dynamodb: dynamodb.endpoint, s3: s3Counter.endpoint };

  const measure = async (label: string, expectedExported: number): Promise<void> => {
    emulator.calls.reset();
    dynamodb.reset();
    s3Counter.reset();
    ctx.progress(`export calls: ${label}`);
    const { outcome, durationMs, memory } = await measuredExport(ctx, binderId, options.timeoutMs(0), endpoints);
    const calls = emulator.calls;
    const pageCalls = calls.count(ROUTES.page);
    const linkCalls = calls.count(ROUTES.linkRaw) + calls.count(ROUTES.linkLegacy);
    runs.push({
      label,
      durationMs,
      apiCalls: calls.total('api'),
      pageCalls,
      versionsCalls: calls.count(ROUTES.versions),
      linkCalls,
      tokenCalls: calls.total('token'),
      storageCalls: calls.total('storage'),
      byRoute: calls.byRoute(),
      dynamoDbCalls: dynamodb.counts(),
      s3Calls: s3Counter.counts(),
      naiveCalls: pageCalls + options.documents + outcome.versionsExported,
      exported: outcome.versionsExported,
      expectedExported,
      failed: outcome.failed,
      memory,
    });
  };

  try {
    await measure(`first run, ${options.documents} documents`, seeded.versionCount);
    // Spread the changes over the pages rather than bunching them on the first one.
    const step = Math.max(1, Math.floor(seeded.documentIds.length / options.changed));
    for (let i = 0; i < options.changed; i++) {
      const documentId = seeded.documentIds[i * step];
      if (documentId !== undefined) emulator.state.addSyntheticVersion(documentId, 1024);
    }
    await measure(`second run, ${options.changed} documents with a new version`, options.changed);
    // Nothing changed, every iBinder API call 80 ms late: the run is mostly waiting on page calls.
    emulator.faults.add({ route: 'api', latencyMs: UNCHANGED_NIGHT_LATENCY_MS, times: Number.POSITIVE_INFINITY });
    try {
      await measure(`unchanged night, ${UNCHANGED_NIGHT_LATENCY_MS} ms API latency`, 0);
    } finally {
      // The bench adds no other faults: clearing them all ends the latency.
      emulator.faults.clear();
    }
  } finally {
    await Promise.all([dynamodb.stop(), s3Counter.stop()]);
  }
  return { documents: options.documents, changed: options.changed, runs, unchangedNightLatencyMs: UNCHANGED_NIGHT_LATENCY_MS };
}

export async function runExportMemoryBench(ctx: BenchContext, options: ExportBenchOptions): Promise<ExportMemoryResult[]> {
  const { services } = ctx;
  const ledger = new ExportLedger(services.dynamodb.documentClient, services.exportLedgerTable);
  const results: ExportMemoryResult[] = [];
  for (const memoryCase of options.memoryCases) {
    const { documentIds } = seedBulkDocuments(services.emulator.state, {
      binderId: memoryCase.binderId,
      count: 1,
      bytesPerVersion: 1024,
      fileNamePrefix: `export-${memoryCase.label}`,
    });
    const documentId = documentIds[0];
    if (documentId === undefined) throw new Error(`no document was seeded in binder ${memoryCase.binderId}`);
    const version = services.emulator.state.addSyntheticVersion(documentId, memoryCase.bytes);
    await flushDiskWrites();
    ctx.progress(`export memory ${memoryCase.label}: runExport of a ${formatBytes(memoryCase.bytes)} version`);
    const { outcome, durationMs, memory } = await measuredExport(ctx, memoryCase.binderId, options.timeoutMs(memoryCase.bytes));
    if (outcome.failed.length > 0) throw new Error(`export of the ${memoryCase.label} version failed: ${outcome.failed.join('; ')}`);

    ctx.progress(`export memory ${memoryCase.label}: reading the archived file back to compare checksums`);
    const record = await ledger.getExported(version.id);
    const expected = await services.emulator.state.versionContent(version.id);
    let checksumMatch = false;
    if (record) {
      const archived = await services.s3.client.send(new GetObjectCommand({ Bucket: services.archiveBucket, Key: record.archiveKey }));
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of archived.Body as Readable) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      checksumMatch = size === expected.size && hash.digest('hex') === expected.sha256 && record.sha256 === expected.sha256;
      // Verified: free the disk (and the page cache) for the next case.
      await services.s3.client.send(new DeleteObjectCommand({ Bucket: services.archiveBucket, Key: record.archiveKey }));
    }
    results.push({ ...memoryCase, durationMs, memory, exported: outcome.versionsExported, checksumMatch });
  }
  return results;
}
