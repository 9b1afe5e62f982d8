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
    const runs: IngestRun[] = [];
    let checksumsMatch = true;
    for (let rep = 1; rep <= options.repeat; rep++) {
      const key = `inbox/bench/ingest-${size.label}-${rep}.bin`;
      const source = syntheticObject(size.bytes, ++seed);
      ctx.progress(`ingest ${size.label} #${rep}: putting ${formatBytes(size.bytes)} into the inbox (streamed)`);
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
      const sourceSha256 = source.sha256();
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
        { region: services.region, sequencer: `${Date.now().toString(16).toUpperCase().padStart(18, '0')}` },
      );

      interface Timed {
        ms: number;
        cpuMs: number;
        serverCpuMs: number;
        memory: MemoryPeak;
      }
      const plainCopy = async (): Promise<Timed> => {
        const upload = await ctx.ibinder.createPresignedUpload();
        await flushDiskWrites();
        ctx.progress(`ingest ${size.label} #${rep}: plain stream copy`);
        const result = await runMeasured(
          {
            kind: 'plain-copy',
            endpoints: ctx.endpoints,
            bucket: services.inboxBucket,
            key,
            ...(put.VersionId !== undefined ? { versionId: put.VersionId } : {}),
            uploadUrl: upload.presignedUrl,
          },
          { timeoutMs: options.timeoutMs(size.bytes) },
        );
        if (!result.ok) throw new Error(`plain copy of ${size.label} failed: ${result.error}`);
        const stored = services.emulator.state.getUpload(upload.uploadId)?.blob;
        if (stored?.size !== size.bytes || (await stored.digest()) !== sourceSha256) {
          throw new Error(`plain copy of ${size.label}: the emulator stored other bytes than the source (the baseline itself is broken)`);
        }
        await discardReceivedBytes(stored);
        return { ms: result.durationMs, cpuMs: result.cpuMs, serverCpuMs: result.serverCpuMs ?? 0, memory: result.memory };
      };

      const ingest = async (): Promise<Timed> => {
        await flushDiskWrites();
        ctx.progress(`ingest ${size.label} #${rep}: processBatch`);
        const result = await runMeasured(
          {
            kind: 'ingest',
            endpoints: ctx.endpoints,
            credentials: ctx.credentials,
            pipelineConfig,
            ledgerTable: services.ledgerTable,
            messages: [{ messageId: `bench-${size.label}-${rep}`, body: JSON.stringify(notification) }],
          },
          { timeoutMs: options.timeoutMs(size.bytes) },
        );
        if (!result.ok) throw new Error(`ingest of ${size.label} failed: ${result.error}`);
        const outcome = result.outcome;
        if (outcome.kind !== 'ingest' || outcome.ingested !== 1 || outcome.batchItemFailures !== 0) {
          throw new Error(`ingest of ${size.label} did not commit the object: ${JSON.stringify(outcome)}`);
        }
        const entry = await ledger.get({ bucket: services.inboxBucket, key, versionId: put.VersionId });
        if (entry?.state !== 'committed') throw new Error(`ingest of ${size.label}: the ledger says ${entry?.state ?? 'nothing'}, not committed`);
        const committed = await services.emulator.state.versionContent(entry.documentVersionId);
        if (committed.size !== size.bytes || committed.sha256 !== sourceSha256) checksumsMatch = false;
        await discardReceivedBytes(services.emulator.state.getVersion(entry.documentVersionId)?.blob);
        return { ms: result.durationMs, cpuMs: result.cpuMs, serverCpuMs: result.serverCpuMs ?? 0, memory: result.memory };
      };

      // Alternate the order, so that neither side always runs on a warmer or cooler machine.
      let plain: Timed;
      let ingested: Timed;
      if (rep % 2 === 1) {
        plain = await plainCopy();
        ingested = await ingest();
      } else {
        ingested = await ingest();
        plain = await plainCopy();
      }
      await services.s3.client.send(new DeleteObjectCommand({ Bucket: services.inboxBucket, Key: key, VersionId: put.VersionId }));
      runs.push({
        plainMs: plain.ms,
        ingestMs: ingested.ms,
        cpu: { plainMs: plain.cpuMs, ingestMs: ingested.cpuMs, serversDuringPlainMs: plain.serverCpuMs, serversDuringIngestMs: ingested.serverCpuMs },
        memory: ingested.memory,
        plainMemory: plain.memory,
      });
    }
    results.push({ ...size, runs, checksumsMatch });
  }
  return results;
}
