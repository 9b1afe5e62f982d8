/**
 * Ingest bench: one object per size and repetition goes through the whole local path: put
 * (streamed, never in memory) into the versioned inbox of the local S3 server, its
 * ObjectCreated notification handed to the real `processBatch` in a measured process, which
 * reads the object, resolves and validates the target, claims the ledger, presigns, streams
 * the body to the emulator's presigned PUT and commits. The emulator's SHA-256 of the
 * committed version must equal the source's.
 *
 * The baseline is the same bytes copied the plainest way between the same two servers, in a
 * measured process of the same kind: GetObject piped into a PUT to a presigned URL. The
 * inbox is set to keep (and tag) ingested objects, so that the baseline and the ingest read
 * the same object, and their order alternates between repetitions.
 */
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { toS3EventNotification } from '../local/s3-event-notification.js';
import { localPipelineConfig } from '../local/local-pipeline-config.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import { discardReceivedBytes, flushDiskWrites, formatBytes, type BenchContext } from './bench-context.js';
import { INGEST_TAGS } from './bench-tenant.js';
import { runMeasured } from './measured-child.js';
import type { MemoryPeak } from './protocol.js';
import { syntheticObject } from './synthetic-object.js';

export interface IngestSize {
  label: string;
  bytes: number;
}

export interface IngestRun {
  plainMs: number;
  ingestMs: number;
  /** CPU time of the measured processes and of the servers' process during each. */
  cpu: { plainMs: number; ingestMs: number; serversDuringPlainMs: number; serversDuringIngestMs: number };
  /** The ingest process's peaks. */
  memory: MemoryPeak;
  /** The baseline process's peaks (for comparison; not a target). */
  plainMemory: MemoryPeak;
}

export interface IngestSizeResult extends IngestSize {
  runs: IngestRun[];
  /** The emulator's SHA-256 of every committed version equalled its source's. */
  checksumsMatch: boolean;
}

export interface IngestBenchOptions {
  sizes: IngestSize[];
  repeat: number;
  timeoutMs: (bytes: number) => number;
}

/** One source object in the inbox, ready for both the baseline and the ingest. */
interface InboxObject {
  size: IngestSize;
  repetition: number;
  key: string;
  versionId: string | undefined;
  sha256: string;
  /** The S3 event notification S3 would publish for it (the SQS message body). */
  notification: string;
}

/** What one measured process reported. */
interface TimedCase {
  ms: number;
  cpuMs: number;
  serverCpuMs: number;
  memory: MemoryPeak;
}

interface IngestBenchSetup {
  ctx: BenchContext;
  pipelineConfig: PipelineConfig;
  ledger: IngestLedger;
  timeoutMs: number;
}

export async function runIngestBench(ctx: BenchContext, options: IngestBenchOptions): Promise<IngestSizeResult[]> {
  const { services } = ctx;
  // `tag` keeps the inbox object after the commit, so the baseline can read the same one.
  const pipelineConfig = localPipelineConfig(services, { disposition: 'tag' });
  const ledger = new IngestLedger({
    client: services.dynamodb.documentClient,
    tableName: services.ledgerTable,
    leaseSeconds: pipelineConfig.claimLeaseSeconds,
  });
  const results: IngestSizeResult[] = [];
  let seed = 0;

  for (const size of options.sizes) {
    const setup: IngestBenchSetup = { ctx, pipelineConfig, ledger, timeoutMs: options.timeoutMs(size.bytes) };
    const runs: IngestRun[] = [];
    let checksumsMatch = true;
    for (let repetition = 1; repetition <= options.repeat; repetition++) {
      const object = await putInboxObject(ctx, size, repetition, ++seed);
      // Alternate the order, so that neither side always runs on a warmer or cooler machine.
      let plain: TimedCase;
      let ingested: TimedCase & { checksumMatch: boolean };
      if (repetition % 2 === 1) {
        plain = await plainCopy(setup, object);
        ingested = await ingest(setup, object);
      } else {
        ingested = await ingest(setup, object);
        plain = await plainCopy(setup, object);
      }
      checksumsMatch &&= ingested.checksumMatch;
      await services.s3.client.send(
        new DeleteObjectCommand({ Bucket: services.inboxBucket, Key: object.key, VersionId: object.versionId }),
      );
      runs.push({
        plainMs: plain.ms,
        ingestMs: ingested.ms,
        cpu: {
          plainMs: plain.cpuMs,
          ingestMs: ingested.cpuMs,
          serversDuringPlainMs: plain.serverCpuMs,
          serversDuringIngestMs: ingested.serverCpuMs,
        },
        memory: ingested.memory,
        plainMemory: plain.memory,
      });
    }
    results.push({ ...size, runs, checksumsMatch });
  }
  return results;
}

/** Puts a generated object into the inbox with the ingest tags, streamed, and hashes it on the way. */
async function putInboxObject(ctx: BenchContext, size: IngestSize, repetition: number, seed: number): Promise<InboxObject> {
  const { services } = ctx;
  const key = `inbox/bench/ingest-${size.label}-${repetition}.bin`;
  const source = syntheticObject(size.bytes, seed);
  ctx.progress(`ingest ${size.label} #${repetition}: putting ${formatBytes(size.bytes)} into the inbox (streamed)`);
  const put = await services.s3.client.send(
    new PutObjectCommand({
      Bucket: services.inboxBucket,
      Key: key,
      Body: source.body,
      ContentLength: size.bytes,
      ContentType: 'application/octet-stream',
      Tagging: new URLSearchParams(Object.entries(INGEST_TAGS)).toString(),
    }),
  );
  const notification = toS3EventNotification(
    {
      eventName: 'ObjectCreated:Put',
      bucket: services.inboxBucket,
      key,
      size: size.bytes,
      eTag: put.ETag?.replace(/"/g, ''),
      versionId: put.VersionId,
      time: new Date(),
    },
    { region: services.region, sequencer: Date.now().toString(16).toUpperCase().padStart(18, '0') },
  );
  return { size, repetition, key, versionId: put.VersionId, sha256: source.sha256(), notification: JSON.stringify(notification) };
}

/** The baseline: GetObject piped into a presigned PUT, in a measured process; checks what arrived. */
async function plainCopy(setup: IngestBenchSetup, object: InboxObject): Promise<TimedCase> {
  const { ctx } = setup;
  const { services } = ctx;
  const label = object.size.label;
  const upload = await ctx.ibinder.createPresignedUpload();
  await flushDiskWrites();
  ctx.progress(`ingest ${label} #${object.repetition}: plain stream copy`);
  const result = await runMeasured(
    {
      kind: 'plain-copy',
      endpoints: ctx.endpoints,
      bucket: services.inboxBucket,
      key: object.key,
      ...(object.versionId !== undefined ? { versionId: object.versionId } : {}),
      uploadUrl: upload.presignedUrl,
    },
    { timeoutMs: setup.timeoutMs },
  );
  if (!result.ok) throw new Error(`plain copy of ${label} failed: ${result.error}`);
  const stored = services.emulator.state.getUpload(upload.uploadId)?.blob;
  if (stored?.size !== object.size.bytes || (await stored.digest()) !== object.sha256) {
    throw new Error(`plain copy of ${label}: the emulator stored other bytes than the source (the baseline itself is broken)`);
  }
  await discardReceivedBytes(stored);
  return { ms: result.durationMs, cpuMs: result.cpuMs, serverCpuMs: result.serverCpuMs ?? 0, memory: result.memory };
}

/** The real ingest of the object's notification, in a measured process; checks the commit and its bytes. */
async function ingest(setup: IngestBenchSetup, object: InboxObject): Promise<TimedCase & { checksumMatch: boolean }> {
  const { ctx } = setup;
  const { services } = ctx;
  const label = object.size.label;
  await flushDiskWrites();
  ctx.progress(`ingest ${label} #${object.repetition}: processBatch`);
  const result = await runMeasured(
    {
      kind: 'ingest',
      endpoints: ctx.endpoints,
      credentials: ctx.credentials,
      pipelineConfig: setup.pipelineConfig,
      ledgerTable: services.ledgerTable,
      inboxBucket: services.inboxBucket,
      messages: [{ messageId: `bench-${label}-${object.repetition}`, body: object.notification }],
    },
    { timeoutMs: setup.timeoutMs },
  );
  if (!result.ok) throw new Error(`ingest of ${label} failed: ${result.error}`);
  const outcome = result.outcome;
  if (outcome.kind !== 'ingest' || outcome.ingested !== 1 || outcome.batchItemFailures !== 0) {
    const said = result.output ? `\n--- the ingest's log (last lines) ---\n${result.output}` : '';
    throw new Error(`ingest of ${label} did not commit the object: ${JSON.stringify(outcome)}${said}`);
  }
  const entry = await setup.ledger.get({ bucket: services.inboxBucket, key: object.key, versionId: object.versionId });
  if (entry?.state !== 'committed') throw new Error(`ingest of ${label}: the ledger says ${entry?.state ?? 'nothing'}, not committed`);
  const committed = await services.emulator.state.versionContent(entry.versionIds.versionId ?? '');
  const checksumMatch = committed.size === object.size.bytes && committed.sha256 === object.sha256;
  await discardReceivedBytes(services.emulator.state.getVersion(entry.versionIds.versionId ?? '')?.blob);
  return { ms: result.durationMs, cpuMs: result.cpuMs, serverCpuMs: result.serverCpuMs ?? 0, memory: result.memory, checksumMatch };
}
