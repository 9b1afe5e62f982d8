/**
 * `npm run bench` — benchmarks of the pipeline against the machine's limit, printed as ratios
 * with PASS/FAIL against their targets, then one JSON line with every figure. Exit code 1 when a
 * target is missed or a case fails (after everything has been printed), so that a regression
 * is visible in CI. About 4 to 5 minutes on two quiet cores.
 *
 * Parts (`--only a,b`; default all but export-memory):
 * - cold-start: each function's bundle, built with the stack's bundling options, imported in
 *   fresh processes against a bundle of its AWS SDK clients alone (cold-start.ts).
 * - transfer: the export's transfer code against a raw pipe, both between fast in-memory
 *   endpoints on 127.0.0.1 (a source, a sink and enough S3 to be the archive), paired runs in
 *   fresh processes (transfer-bench.ts, memory-endpoints.ts); also the peak memory of a 1 GiB
 *   version against a 10 MiB one.
 * - ingest: a 10 MiB and a 1 GiB object through the real `processBatch` against a plain copy
 *   between the same local servers (s3rver and the emulator; ingest-bench.ts).
 * - small-files: a batch of 10 small files against one, with 50 ms iBinder API latency, the
 *   objects in a fast in-memory S3 and the ledger in a fast in-memory DynamoDB with transactions
 *   (small-file-bench.ts, memory-s3.ts, memory-dynamodb.ts).
 * - export: API calls of a first and a second export run against the naive count
 *   (export-bench.ts).
 * - export-memory: runExport of a 10 MiB and a 1 GiB version through the local servers, peak
 *   memory of the whole run (slow; the transfer part measures the same code's memory faster).
 * - bynder-upload: the Bynder client's chunked upload of a 10 MiB and a 1 GiB file against a
 *   plain chunked POST copy, both to a fast in-memory Bynder endpoint, paired runs in fresh
 *   processes; peak memory 1 GiB / 10 MiB (bynder-upload-bench.ts, bynder-memory-endpoint.ts).
 * - bynder-export: API calls of the Bynder export's planning over a 5,000-asset portal (the
 *   Bynder emulator, in this process), first run and unchanged night, against the naive count;
 *   and the peak memory of a 1 GiB version's export transfer against a 10 MiB one's
 *   (bynder-export-bench.ts).
 *
 * The local services (emulator, s3rver, dynalite) are started only for the parts that need
 * them, after the cold start and the transfer, which want a quiet machine. Every measured case
 * runs in a fresh Node.js process of its own (`measured-process.ts`), wired the way the Lambdas
 * wire themselves; the servers' memory is never counted. Timings on a shared machine are
 * noisy: medians of paired runs are quoted with their range, and the load average is printed.
 *
 * Options: --only PARTS, --repeat N (ingest repetitions, default 3: with two, the best of each
 * side read 0.54 in one run where the local S3's disk slowed one repetition's plain copy to 8.2 s
 * against 4.6 s in the other; the third costs about 27 s of the bench), --pairs N (transfer and
 * Bynder upload pairs, default 3), --rounds N (cold-start rounds, default 7), --large-mib N
 * (large cases, default 1024), --documents N (export calls, default 1000), --bynder-assets N
 * (the Bynder portal's assets, default 5000).
 */
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalServices, type LocalServices } from '../local/services.js';
import { createBenchContext, formatBytes, freeBytes, GIB, MIB } from './bench-context.js';
import { BENCH_BINDERS, benchSeed } from './bench-tenant.js';
import { runBynderExportCallsBench, runBynderExportMemoryBench } from './bynder-export-bench.js';
import { startBynderMemoryEndpoint } from './bynder-memory-endpoint.js';
import { bynderExportCallsSection, bynderExportMemorySection, bynderUploadSection } from './bynder-report.js';
import { runBynderUploadBench } from './bynder-upload-bench.js';
import { runExportCallsBench, runExportMemoryBench, type ExportBenchOptions } from './export-bench.js';
import { runIngestBench, type IngestBenchOptions } from './ingest-bench.js';
import { runColdStartBench } from './cold-start.js';
import { startMemoryEndpoints } from './memory-endpoints.js';
import { killMeasuredProcesses } from './measured-child.js';
import {
  checksSection,
  coldStartSection,
  exportCallsSection,
  exportMemorySection,
  ingestSection,
  jsonLine,
  machineSection,
  smallFileSection,
  transferSection,
  type BenchFigures,
  type Check,
  type MachineLoad,
} from './report.js';
import { runSmallFileBench } from './small-file-bench.js';
import { ARCHIVE_BUCKET, runTransferBench } from './transfer-bench.js';

const PARTS = ['cold-start', 'transfer', 'bynder-upload', 'bynder-export', 'ingest', 'small-files', 'export', 'export-memory'] as const;
type Part = (typeof PARTS)[number];
const DEFAULT_PARTS: Part[] = ['cold-start', 'transfer', 'bynder-upload', 'bynder-export', 'ingest', 'small-files', 'export'];

const USAGE = `usage: npm run bench -- [--only ${PARTS.join(',')}] [--repeat N] [--pairs N] [--rounds N] [--large-mib N] [--documents N] [--bynder-assets N]`;

interface BenchArgs {
  parts: Set<Part>;
  repeat: number;
  pairs: number;
  rounds: number;
  largeBytes: number;
  documents: number;
  bynderAssets: number;
}

function positiveInteger(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${value}'\n${USAGE}`);
  return n;
}

function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string' },
      repeat: { type: 'string' },
      pairs: { type: 'string' },
      rounds: { type: 'string' },
      'large-mib': { type: 'string' },
      documents: { type: 'string' },
      'bynder-assets': { type: 'string' },
    },
    strict: true,
  });
  const only = values.only?.split(',').map((p) => p.trim()) ?? DEFAULT_PARTS;
  const unknown = only.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`--only takes ${PARTS.join(', ')}; '${unknown.join(', ')}' is none of them\n${USAGE}`);
  return {
    parts: new Set(only as Part[]),
    repeat: positiveInteger(values.repeat, 3, 'repeat'),
    pairs: positiveInteger(values.pairs, 3, 'pairs'),
    rounds: positiveInteger(values.rounds, 7, 'rounds'),
    largeBytes: positiveInteger(values['large-mib'], 1024, 'large-mib') * MIB,
    documents: positiveInteger(values.documents, 1000, 'documents'),
    bynderAssets: positiveInteger(values['bynder-assets'], 5000, 'bynder-assets'),
  };
}

const startedAt = Date.now();
function progress(line: string): void {
  process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

/** Generous: a stuck case should fail the bench, not hang it; 1 GiB takes seconds. */
function timeoutFor(bytes: number): number {
  return 120_000 + Math.ceil(bytes / MIB) * 200;
}

function sizeLabel(bytes: number): string {
  return formatBytes(bytes)
    .replace(/\s+/g, '')
    .replace(/\.0+(?=[A-Za-z])/, '');
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }

  const figures: BenchFigures = {};
  const sections: string[] = [];
  const checks: Check[] = [];
  const errors: string[] = [];
  const collect = (section: { text: string; checks: Check[] }): void => {
    sections.push(section.text);
    checks.push(...section.checks);
  };
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const has = (part: Part): boolean => args.parts.has(part);

  // First the parts that want a quiet machine and need none of the local servers.
  if (has('cold-start')) {
    try {
      figures.coldStart = await runColdStartBench({
        rounds: args.rounds,
        outDir: join(tmpdir(), `ibinder-bench-bundles-${process.pid}`),
        progress,
      });
      collect(coldStartSection(figures.coldStart));
    } catch (err) {
      errors.push(`cold-start bench: ${(err as Error).message}`);
    }
  }
  if (has('transfer')) {
    const endpoints = await startMemoryEndpoints();
    try {
      figures.transfer = await runTransferBench(endpoints, {
        sizes: [
          { label: '10MiB', bytes: 10 * MIB },
          { label: sizeLabel(args.largeBytes), bytes: args.largeBytes },
        ],
        repeat: args.pairs,
        timeoutMs: timeoutFor,
        progress,
      });
      collect(transferSection(figures.transfer));
    } catch (err) {
      errors.push(`transfer bench: ${(err as Error).message}`);
    } finally {
      await endpoints.stop();
    }
  }

  if (has('bynder-upload') || has('bynder-export')) {
    const sizes = [
      { label: '10MiB', bytes: 10 * MIB },
      { label: sizeLabel(args.largeBytes), bytes: args.largeBytes },
    ];
    const bynder = await startBynderMemoryEndpoint();
    const storage = await startMemoryEndpoints();
    try {
      if (has('bynder-upload')) {
        try {
          figures.bynderUpload = await runBynderUploadBench(bynder, { sizes, repeat: args.pairs, timeoutMs: timeoutFor, progress });
          collect(bynderUploadSection(figures.bynderUpload));
        } catch (err) {
          errors.push(`bynder upload bench: ${(err as Error).message}`);
        }
      }
      if (has('bynder-export')) {
        try {
          figures.bynderExportCalls = await runBynderExportCallsBench({ assets: args.bynderAssets, progress });
          collect(bynderExportCallsSection(figures.bynderExportCalls));
        } catch (err) {
          errors.push(`bynder export calls bench: ${(err as Error).message}`);
        }
        try {
          figures.bynderExportMemory = await runBynderExportMemoryBench(bynder, storage, {
            sizes,
            rounds: 2,
            bucket: ARCHIVE_BUCKET,
            timeoutMs: timeoutFor,
            progress,
          });
          collect(bynderExportMemorySection(figures.bynderExportMemory));
        } catch (err) {
          errors.push(`bynder export memory bench: ${(err as Error).message}`);
        }
      }
    } finally {
      await Promise.all([bynder.stop(), storage.stop()]);
    }
  }

  const needsServices = has('ingest') || has('small-files') || has('export') || has('export-memory');
  if (needsServices) {
    // Each case's bytes are removed once verified: at most one large case's files exist at a time.
    const needed = (has('ingest') || has('export-memory') ? 3 * args.largeBytes : 0) + GIB;
    const free = await freeBytes(tmpdir());
    progress(`${formatBytes(free)} free in ${tmpdir()}; this run needs about ${formatBytes(needed)}`);
    if (free < needed) {
      process.stderr.write(
        `not enough disk space in ${tmpdir()}: ${formatBytes(free)} free, about ${formatBytes(needed)} needed. ` +
          'Free some space, point TMPDIR at a larger disk, or run a smaller bench (--large-mib, --repeat, --only).\n',
      );
      return 2;
    }
    progress('starting the local services (emulator, s3rver, dynalite)');
    const services: LocalServices = await startLocalServices({ emulator: { seed: benchSeed() } });
    // Ctrl-C or a kill must not leave gigabytes behind in the temporary directory.
    const onSignal = (signal: NodeJS.Signals): void => {
      progress(`${signal}: stopping the measured process and removing the local services' files`);
      killMeasuredProcesses();
      void services.stop().finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const ctx = createBenchContext(services, progress);
    try {
      if (has('ingest')) {
        const options: IngestBenchOptions = {
          sizes: [
            { label: '10MiB', bytes: 10 * MIB },
            { label: sizeLabel(args.largeBytes), bytes: args.largeBytes },
          ],
          repeat: args.repeat,
          timeoutMs: timeoutFor,
        };
        try {
          figures.ingest = await runIngestBench(ctx, options);
          collect(ingestSection(figures.ingest));
        } catch (err) {
          errors.push(`ingest bench: ${(err as Error).message}`);
        }
      }
      if (has('small-files')) {
        try {
          // Five rounds (about 2 s each): the batch's time varies by a tenth from round to round on
          // a shared machine, and its median over three moved the ratio by as much.
          figures.smallFiles = await runSmallFileBench(ctx, { batchSize: 10, latencyMs: 50, repeat: 5 });
          collect(smallFileSection(figures.smallFiles));
        } catch (err) {
          collect(smallFileSection(undefined, `it failed: ${(err as Error).message.split('\n')[0] ?? ''}`));
        }
      }
      const exportOptions: ExportBenchOptions = {
        documents: args.documents,
        changed: 5,
        memoryCases: [
          { label: '10MiB', bytes: 10 * MIB, binderId: BENCH_BINDERS.exportSmall },
          { label: sizeLabel(args.largeBytes), bytes: args.largeBytes, binderId: BENCH_BINDERS.exportLarge },
        ],
        timeoutMs: timeoutFor,
      };
      if (has('export')) {
        try {
          figures.exportCalls = await runExportCallsBench(ctx, exportOptions);
          collect(exportCallsSection(figures.exportCalls));
        } catch (err) {
          errors.push(`export calls bench: ${(err as Error).message}`);
        }
      }
      if (has('export-memory')) {
        try {
          figures.exportMemory = await runExportMemoryBench(ctx, exportOptions);
          collect(exportMemorySection(figures.exportMemory));
        } catch (err) {
          errors.push(`export memory bench: ${(err as Error).message}`);
        }
      }
    } finally {
      progress('stopping the local services and removing their files');
      await services.stop().catch((err: unknown) => errors.push(`cleanup: ${(err as Error).message}`));
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  const load: MachineLoad = { cores: availableParallelism(), loadAverageAtStart, loadAverageAtEnd: loadavg()[0] ?? 0 };
  const out: string[] = [...sections, checksSection(checks)];
  if (errors.length > 0) out.push(['Errors', ...errors.map((e) => `FAIL ${e}`)].join('\n'));
  out.push(`${machineSection(load)}\ntotal ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  process.stdout.write(`\n${out.join('\n\n')}\n\n${jsonLine(figures, checks, errors, load)}\n`);
  return errors.length === 0 && checks.every((c) => c.pass) ? 0 : 1;
}

process.exitCode = await main();
