/**
 * The Bynder benches' part of the report: a table per bench and one check per target, in the
 * shape report.ts gives every other bench (PASS/FAIL, the value as shown, the target as shown).
 */
import type { BynderExportCallsResult, BynderExportMemoryRun } from './bynder-export-bench.js';
import type { BynderUploadSizeResult } from './bynder-upload-bench.js';
import { type Check, TARGETS, table } from './report.js';
import { median, type Spread } from './statistics.js';

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;
const two = (value: number): string => value.toFixed(2);
const spreadText = (s: Spread): string => `${two(s.median)} [${two(s.min)}-${two(s.max)}]`;
const max = (values: number[]): number => values.reduce((a, b) => Math.max(a, b), 0);
const secondsSpread = (values: number[]): string => {
  const seconds = values.map((v) => v / 1000);
  return `${two(median(seconds))} [${two(Math.min(...seconds))}-${two(Math.max(...seconds))}]`;
};

/** Bynder upload against a plain chunked POST copy, both to the fast in-memory endpoint. */
export function bynderUploadSection(results: BynderUploadSizeResult[]): { text: string; checks: Check[] } {
  const rows: string[][] = [
    [
      'size',
      'pairs',
      'copy s',
      'upload s',
      'upload MiB/s',
      'ratio copy/upload',
      'copy CPU s',
      'upload CPU s',
      'upload maxRSS',
      'copy maxRSS',
    ],
  ];
  for (const r of results) {
    const uploadMs = median(r.pairs.map((p) => p.upload.ms));
    rows.push([
      r.label,
      String(r.pairs.length),
      secondsSpread(r.pairs.map((p) => p.copy.ms)),
      secondsSpread(r.pairs.map((p) => p.upload.ms)),
      (r.bytes / MIB / (uploadMs / 1000)).toFixed(0),
      spreadText(r.throughputRatio),
      secondsSpread(r.pairs.map((p) => p.copy.cpuMs)),
      secondsSpread(r.pairs.map((p) => p.upload.cpuMs)),
      mib(max(r.pairs.map((p) => p.upload.memory.maxRssBytes))),
      mib(max(r.pairs.map((p) => p.copy.memory.maxRssBytes))),
    ]);
  }
  const checks: Check[] = [];
  const small = results[0];
  const large = results[results.length - 1];
  if (large) {
    checks.push({
      name: `bynder upload throughput / plain chunked copy, ${large.label} (median of ${large.throughputRatio.n} pairs, fast endpoint)`,
      value: spreadText(large.throughputRatio),
      target: `>= ${TARGETS.bynderUploadThroughput}`,
      pass: large.throughputRatio.median >= TARGETS.bynderUploadThroughput,
    });
  }
  if (small && large && small !== large) {
    const memoryRatio = max(large.pairs.map((p) => p.upload.memory.maxRssBytes)) / max(small.pairs.map((p) => p.upload.memory.maxRssBytes));
    checks.push({
      name: `bynder upload peak memory (maxRSS), ${large.label} / ${small.label}`,
      value: two(memoryRatio),
      target: `<= ${TARGETS.flatMemory}`,
      pass: memoryRatio <= TARGETS.flatMemory,
    });
  }
  const problems = results.flatMap((r) => r.problems);
  checks.push({
    name: 'bynder upload: bytes, chunks, chunk SHA-256 headers and finalise (size, count, SHA-256) = source',
    value: problems.length === 0 ? 'equal' : `${problems.length} DIFFERENT`,
    target: 'equal',
    pass: problems.length === 0,
  });
  const text = [
    'Bynder upload: HttpBynderClient startUpload + sendUpload (file-service, 5 MiB chunks, SHA-256 per chunk and of the file) of synthetic bytes -> in-memory Bynder endpoint; baseline: the same bytes piped into the same prepare, one POST per 5 MiB chunk, finalise (no hashing); both to the same endpoint on 127.0.0.1',
    table(rows),
    'median [min-max] over pairs; ratio = copy time / upload time, pair by pair; each run a fresh process; the client unpaced (the default 10 requests/s would cap 5 MiB chunks at 50 MiB/s)',
    ...problems.slice(0, 5).map((p) => `DIFFERENT: ${p}`),
  ].join('\n');
  return { text, checks };
}

/** API calls of the Bynder export's planning against the naive count. */
export function bynderExportCallsSection(result: BynderExportCallsResult): { text: string; checks: Check[] } {
  const rows: string[][] = [
    ['run', 'listed', 'versions', 'API calls', 'list', 'fewest list', 'asset', 'other', 'token', 'naive', 'ratio', 'time'],
  ];
  const checks: Check[] = [];
  result.runs.forEach((run, i) => {
    const callRatio = run.apiCalls / run.naiveCalls;
    rows.push([
      run.label,
      String(run.assetsYielded),
      `${run.versionsPlanned}/${run.expectedVersions}`,
      String(run.apiCalls),
      String(run.listCalls),
      String(run.fewestListCalls),
      String(run.assetCalls),
      String(run.apiCalls - run.listCalls - run.assetCalls),
      String(run.tokenCalls),
      String(run.naiveCalls),
      callRatio.toFixed(4),
      `${(run.durationMs / 1000).toFixed(2)} s`,
    ]);
    const target = i === 0 ? TARGETS.bynderFirstRunCalls : TARGETS.bynderUnchangedNightCalls;
    checks.push({
      name: `bynder export API calls / naive, ${run.label}`,
      value: `${run.apiCalls}/${run.naiveCalls} = ${callRatio.toFixed(4)}`,
      target: `<= ${target}`,
      pass: callRatio <= target,
    });
    checks.push({
      name: `bynder export versions planned, ${run.label}`,
      value: String(run.versionsPlanned),
      target: `= ${run.expectedVersions}`,
      pass: run.versionsPlanned === run.expectedVersions && run.deleted === 0,
    });
  });
  const text = [
    `Bynder export calls: change feed + versions planning over a portal of ${result.assets} assets (Bynder emulator), then an unchanged night from the first run's bookmark (calls counted by the emulator)`,
    table(rows),
    `naive = the list calls made + one versions call per asset (${result.assets}); fewest list = pages of ${result.pageSize} that hold the portal (the feed's keyset steps re-read each page's last second); download locations (one per exported version) are the worker's and not counted`,
  ].join('\n');
  return { text, checks };
}

/** Peak memory of a Bynder version's export transfer, large against small. */
export function bynderExportMemorySection(runs: BynderExportMemoryRun[]): { text: string; checks: Check[] } {
  const rows: string[][] = [['version', 'run', 'time', 'MiB/s', 'maxRSS', 'heap+ext', 'buffers', 'archived = source']];
  const labels = [...new Set(runs.map((r) => r.label))];
  for (const label of labels) {
    runs
      .filter((r) => r.label === label)
      .forEach((r, i) => {
        rows.push([
          label,
          String(i + 1),
          `${(r.durationMs / 1000).toFixed(2)} s`,
          (r.bytes / MIB / (r.durationMs / 1000)).toFixed(0),
          mib(r.memory.maxRssBytes),
          mib(r.memory.peakHeapAndExternalBytes),
          mib(r.memory.peakArrayBuffersBytes),
          r.checksumMatch ? 'yes' : 'NO',
        ]);
      });
  }
  const checks: Check[] = [];
  const smallLabel = labels[0];
  const largeLabel = labels[labels.length - 1];
  if (smallLabel !== undefined && largeLabel !== undefined && smallLabel !== largeLabel) {
    const peak = (label: string): number => max(runs.filter((r) => r.label === label).map((r) => r.memory.maxRssBytes));
    const memoryRatio = peak(largeLabel) / peak(smallLabel);
    checks.push({
      name: `bynder export peak memory (maxRSS), ${largeLabel} / ${smallLabel}`,
      value: two(memoryRatio),
      target: `<= ${TARGETS.flatMemory}`,
      pass: memoryRatio <= TARGETS.flatMemory,
    });
  }
  const allMatch = runs.length > 0 && runs.every((r) => r.checksumMatch);
  checks.push({
    name: 'bynder export: archived size and SHA-256 = source',
    value: allMatch ? 'equal' : 'DIFFERENT',
    target: 'equal',
    pass: allMatch,
  });
  const text = [
    'Bynder export memory: openBynderVersion (download location from the in-memory Bynder endpoint, storage GET from the fast source) -> streamToArchive -> in-memory S3, each run a fresh process',
    table(rows),
    'peak = the highest maxRSS over the runs of a size',
  ].join('\n');
  return { text, checks };
}
