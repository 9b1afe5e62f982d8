/**
 * Bynder upload against the machine's limit (issue 9): the Bynder client's file-service upload
 * (`startUpload` + `sendUpload`: 5 MiB chunks, a SHA-256 per chunk and one of the whole file)
 * of synthetic bytes, against a plain stream copy of the same bytes to the same fast in-memory
 * endpoint in the same exchanges (prepare, one POST per 5 MiB chunk, finalise; no hashing).
 *
 * Each run is a fresh measured process. The two sides are paired and interleaved (the side that
 * goes first alternates), the ratio is taken pair by pair (copy time / upload time), and its
 * median and range are quoted. The peak memory (maxRSS) of the largest size's uploads is
 * compared with the 10 MiB ones'. Every upload is verified from what the endpoint recorded:
 * all bytes and chunks arrived, each chunk carried its SHA-256 header, and finalise named the
 * right size, chunk count and the whole file's SHA-256 (computed here once from the same
 * generator; the endpoint hashes nothing).
 */
import { formatBytes } from './bench-context.js';
import type { BynderMemoryEndpoint, ReceivedUpload } from './bynder-memory-endpoint.js';
import { BYNDER_CHUNK_BYTES } from './bynder-measured-tasks.js';
import { runMeasured, type MeasuredCase } from './measured-child.js';
import type { MemoryPeak } from './protocol.js';
import { spread, type Spread } from './statistics.js';
import { syntheticPattern, syntheticSha256 } from './synthetic-bytes.js';

export interface BynderUploadRun {
  ms: number;
  cpuMs: number;
  memory: MemoryPeak;
}

export interface BynderUploadPair {
  /** The plain chunked POST copy. */
  copy: BynderUploadRun;
  /** The Bynder client's upload. */
  upload: BynderUploadRun;
}

export interface BynderUploadSizeResult {
  label: string;
  bytes: number;
  pairs: BynderUploadPair[];
  /** copy time / upload time, pair by pair. */
  throughputRatio: Spread;
  /** What the endpoint received differed from what was sent; empty when every run checked out. */
  problems: string[];
}

export interface BynderUploadBenchOptions {
  sizes: { label: string; bytes: number }[];
  repeat: number;
  timeoutMs: (bytes: number) => number;
  progress: (line: string) => void;
}

/** Chunks of a file of `bytes` in the client's chunking: an empty file is one empty chunk. */
export function chunkCountOf(bytes: number, chunkBytes: number = BYNDER_CHUNK_BYTES): number {
  return Math.max(1, Math.ceil(bytes / chunkBytes));
}

function succeeded(result: MeasuredCase, what: string): Extract<MeasuredCase, { ok: true }> {
  if (!result.ok) throw new Error(`${what} failed: ${result.error}`);
  return result;
}

/**
 * What is wrong with the upload `fileId` received, given what was sent; empty when nothing is.
 * The endpoint's record is the only witness: it hashes nothing, so the whole file's SHA-256 the
 * client claimed at finalise is compared with the one computed from the source.
 */
export function uploadProblems(
  received: ReceivedUpload | undefined,
  expected: { bytes: number; chunks: number; sha256: string },
  what: string,
): string[] {
  if (!received) return [`${what}: the endpoint has no record of its file id`];
  const problems: string[] = [];
  if (received.bytes !== expected.bytes) problems.push(`${what}: ${received.bytes} bytes received, ${expected.bytes} sent`);
  if (received.chunks !== expected.chunks) problems.push(`${what}: ${received.chunks} chunks received, ${expected.chunks} expected`);
  if (received.chunksWithoutSha256 > 0) problems.push(`${what}: ${received.chunksWithoutSha256} chunks without a Content-SHA256 header`);
  const finalised = received.finalised;
  if (!finalised) problems.push(`${what}: never finalised`);
  else {
    if (finalised.fileSize !== expected.bytes) problems.push(`${what}: finalise named ${finalised.fileSize} bytes, not ${expected.bytes}`);
    if (finalised.chunksCount !== expected.chunks)
      problems.push(`${what}: finalise named ${finalised.chunksCount} chunks, not ${expected.chunks}`);
    if (finalised.sha256 !== expected.sha256)
      problems.push(`${what}: finalise named SHA-256 ${finalised.sha256}, the source's is ${expected.sha256}`);
  }
  return problems;
}

export async function runBynderUploadBench(
  endpoint: BynderMemoryEndpoint,
  options: BynderUploadBenchOptions,
): Promise<BynderUploadSizeResult[]> {
  const results: BynderUploadSizeResult[] = [];
  for (const [sizeIndex, size] of options.sizes.entries()) {
    const seed = 9100 + sizeIndex;
    const sha256 = syntheticSha256(syntheticPattern(seed), size.bytes);
    const chunks = chunkCountOf(size.bytes);
    const timeoutMs = options.timeoutMs(size.bytes);
    const pairs: BynderUploadPair[] = [];
    const problems: string[] = [];

    const copy = async (round: number): Promise<BynderUploadRun> => {
      const what = `plain chunked copy of ${formatBytes(size.bytes)}, pair ${round + 1}`;
      const result = succeeded(
        await runMeasured(
          { kind: 'chunked-post-copy', portalUrl: endpoint.portalUrl, seed, size: size.bytes, chunkSizeBytes: BYNDER_CHUNK_BYTES },
          { timeoutMs },
        ),
        what,
      );
      if (result.outcome.kind !== 'chunked-post-copy') throw new Error(`${what} answered a ${result.outcome.kind} outcome`);
      const received = endpoint.uploads.get(result.outcome.fileId);
      if (received?.bytes !== size.bytes || received.chunks !== chunks) {
        problems.push(
          `${what}: ${received?.bytes ?? 0} bytes in ${received?.chunks ?? 0} chunks received, ${size.bytes} in ${chunks} sent`,
        );
      }
      endpoint.uploads.delete(result.outcome.fileId);
      return { ms: result.durationMs, cpuMs: result.cpuMs, memory: result.memory };
    };
    const upload = async (round: number): Promise<BynderUploadRun> => {
      const what = `Bynder upload of ${formatBytes(size.bytes)}, pair ${round + 1}`;
      const result = succeeded(
        await runMeasured(
          { kind: 'bynder-upload', portalUrl: endpoint.portalUrl, seed, size: size.bytes, fileName: `bench-${size.label}.bin` },
          { timeoutMs },
        ),
        what,
      );
      if (result.outcome.kind !== 'bynder-upload') throw new Error(`${what} answered a ${result.outcome.kind} outcome`);
      problems.push(...uploadProblems(endpoint.uploads.get(result.outcome.fileId), { bytes: size.bytes, chunks, sha256 }, what));
      endpoint.uploads.delete(result.outcome.fileId);
      return { ms: result.durationMs, cpuMs: result.cpuMs, memory: result.memory };
    };

    for (let round = 0; round < options.repeat; round++) {
      const copyFirst = round % 2 === 0;
      options.progress(
        `bynder upload ${size.label}: pair ${round + 1} of ${options.repeat} (${copyFirst ? 'plain copy first' : 'Bynder upload first'})`,
      );
      if (copyFirst) {
        const c = await copy(round);
        pairs.push({ copy: c, upload: await upload(round) });
      } else {
        const u = await upload(round);
        pairs.push({ copy: await copy(round), upload: u });
      }
    }
    results.push({ ...size, pairs, throughputRatio: spread(pairs.map((p) => p.copy.ms / p.upload.ms)), problems });
  }
  return results;
}
