/**
 * The small-file batch figure (issue item 1, which the ingest rework addresses): how long the
 * current ingest takes for one SQS batch of 10 small files against a batch of one, with every
 * iBinder API call delayed by 50 ms (the emulator's latency fault), so that the figure shows
 * how much of the per-file API latency a batch overlaps. Target: within 1.5x.
 *
 * Each batch is a fresh measured process running the real `processBatch` with the Lambda's own
 * wiring, on objects put into the versioned inbox just before (new ones every time: a committed
 * object is not ingested twice). The two cases alternate who goes first.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { localPipelineConfig } from '../local/local-pipeline-config.js';
import { toS3EventNotification } from '../local/s3-event-notification.js';
import type { BenchContext } from './bench-context.js';
import { INGEST_TAGS } from './bench-tenant.js';
import { runMeasured } from './measured-child.js';
import { spread, type Spread } from './statistics.js';

export interface SmallFileBatchResult {
  batchSize: number;
  latencyMs: number;
  /** Wall time of processBatch with one file (ms). */
  single: Spread;
  /** Wall time of processBatch with `batchSize` files (ms). */
  batch: Spread;
}

export interface SmallFileBenchOptions {
  batchSize: number;
  latencyMs: number;
  repeat: number;
}

let objects = 0;

async function putSmallFiles(ctx: BenchContext, count: number): Promise<{ messageId: string; body: string }[]> {
  const { services } = ctx;
  const messages: { messageId: string; body: string }[] = [];
  for (let i = 0; i < count; i++) {
    const key = `inbox/bench/small-${++objects}.txt`;
    const body = Buffer.from(`small file ${objects}\n`.repeat(64));
    const put = await services.s3.client.send(
      new PutObjectCommand({
        Bucket: services.inboxBucket,
        Key: key,
        Body: body,
        ContentType: 'text/plain',
        Tagging: new URLSearchParams(Object.entries(INGEST_TAGS)).toString(),
      }),
    );
    const notification = toS3EventNotification(
      { eventName: 'ObjectCreated:Put', bucket: services.inboxBucket, key, size: body.length, eTag: put.ETag?.replace(/"/g, ''), versionId: put.VersionId, time: new Date() },
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
  try {
    const measure = async (count: number): Promise<number> => {
      const messages = await putSmallFiles(ctx, count);
      ctx.progress(`small files: processBatch of ${count} file(s), ${options.latencyMs} ms API latency`);
      const result = await runMeasured(
        {
          kind: 'ingest',
          endpoints: ctx.endpoints,
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
        throw new Error(`ingest of ${count} small file(s) committed ${JSON.stringify(result.outcome)}${result.output ? `\n${result.output}` : ''}`);
      }
      return result.durationMs;
    };
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
  }
  return { batchSize: options.batchSize, latencyMs: options.latencyMs, single: spread(single), batch: spread(batch) };
}
