/**
 * Export transfer against the machine's limit: the export's own transfer (presigned GET through
 * the iBinder client, `streamToArchive` into S3 with parts, checksums and the whole file's
 * SHA-256) against a raw pipe (the same GET piped into a PUT, nothing else), both between the
 * same fast in-memory endpoints (memory-endpoints.ts), so that neither side waits on a slow
 * server and the ratio is the code's own cost.
 *
 * Each run is a fresh measured process (its own peak memory, nothing warm from another run).
 * The two sides are paired: each repetition runs one of each, the side that goes first
 * alternating, and the ratio is taken pair by pair (raw time / export time), then its median
 * and range, so a machine that slows down for a while slows both sides of a pair. The archived
 * object's size and the SHA-256 the export computed are checked against the source's.
 */
import { formatBytes } from './bench-context.js';
import type { MemoryEndpoints } from './memory-endpoints.js';
import { runMeasured, type MeasuredCase } from './measured-child.js';
import type { MemoryPeak } from './protocol.js';
import { spread, type Spread } from './statistics.js';
import { syntheticPattern, syntheticSha256 } from './synthetic-bytes.js';

export const ARCHIVE_BUCKET = 'bench-archive';

export interface TransferRun {
  ms: number;
  cpuMs: number;
  memory: MemoryPeak;
}

export interface TransferPair {
  raw: TransferRun;
  product: TransferRun;
}

export interface TransferSizeResult {
  label: string;
  bytes: number;
  pairs: TransferPair[];
  /** raw time / export time, pair by pair. */
  throughputRatio: Spread;
  /** Every archived object had the source's size and the export's SHA-256 was the source's. */
  checksumsMatch: boolean;
}

export interface TransferBenchOptions {
  sizes: { label: string; bytes: number }[];
  repeat: number;
  timeoutMs: (bytes: number) => number;
  progress: (line: string) => void;
}

function succeeded(result: MeasuredCase, what: string): Extract<MeasuredCase, { ok: true }> {
  if (!result.ok) throw new Error(`${what} failed: ${result.error}`);
  return result;
}

export async function runTransferBench(endpoints: MemoryEndpoints, options: TransferBenchOptions): Promise<TransferSizeResult[]> {
  const results: TransferSizeResult[] = [];
  for (const [sizeIndex, size] of options.sizes.entries()) {
    const seed = 7000 + sizeIndex;
    const expectedSha256 = syntheticSha256(syntheticPattern(seed), size.bytes);
    const sourceUrl = endpoints.sourceUrl(seed, size.bytes);
    const pairs: TransferPair[] = [];
    let checksumsMatch = true;
    for (let round = 0; round < options.repeat; round++) {
      const key = `transfer/${size.label}/${round}/file.bin`;
      const raw = async (): Promise<TransferRun> => {
        const result = succeeded(
          await runMeasured({ kind: 'raw-pipe', sourceUrl, sinkUrl: endpoints.sinkUrl }, { timeoutMs: options.timeoutMs(size.bytes) }),
          `raw pipe of ${formatBytes(size.bytes)}`,
        );
        if (result.outcome.kind !== 'raw-pipe' || result.outcome.bytes !== size.bytes) {
          throw new Error(`raw pipe of ${formatBytes(size.bytes)} moved ${JSON.stringify(result.outcome)}, not ${size.bytes} bytes`);
        }
        return { ms: result.durationMs, cpuMs: result.cpuMs, memory: result.memory };
      };
      const product = async (): Promise<TransferRun> => {
        const result = succeeded(
          await runMeasured(
            { kind: 'archive-transfer', sourceUrl, s3Endpoint: endpoints.baseUrl, bucket: ARCHIVE_BUCKET, key },
            { timeoutMs: options.timeoutMs(size.bytes) },
          ),
          `export transfer of ${formatBytes(size.bytes)}`,
        );
        const stored = endpoints.objects.get(`${ARCHIVE_BUCKET}/${key}`);
        const outcome = result.outcome;
        if (
          outcome.kind !== 'archive-transfer' ||
          outcome.sha256Hex !== expectedSha256 ||
          outcome.size !== size.bytes ||
          stored?.size !== size.bytes
        ) {
          checksumsMatch = false;
        }
        endpoints.objects.delete(`${ARCHIVE_BUCKET}/${key}`);
        return { ms: result.durationMs, cpuMs: result.cpuMs, memory: result.memory };
      };
      options.progress(
        `export transfer ${size.label}: pair ${round + 1} of ${options.repeat} (${round % 2 === 0 ? 'raw pipe first' : 'export first'})`,
      );
      if (round % 2 === 0) {
        const r = await raw();
        pairs.push({ raw: r, product: await product() });
      } else {
        const p = await product();
        pairs.push({ raw: await raw(), product: p });
      }
    }
    results.push({
      ...size,
      pairs,
      throughputRatio: spread(pairs.map((p) => p.raw.ms / p.product.ms)),
      checksumsMatch,
    });
  }
  return results;
}
