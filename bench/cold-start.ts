/**
 * Cold start: how long each function's bundle takes to import, against a bundle that holds
 * only the same AWS SDK clients. The SDK is the floor a function cannot go below (it is bundled
 * on purpose), so the ratio says what the pipeline's own code and its other packages add.
 *
 * The bundles are built with esbuild and `PIPELINE_BUNDLING`, the very options the stack's
 * `PipelineFunction` bundles with (only the target is this machine's Node.js, which runs them).
 * Which SDK clients a function holds is read from its own bundle's metafile, so the SDK-only
 * bundle follows the code. Two more bundles hold zod's full build alone and `zod/mini` alone
 * (what the functions validate with): their import times, and each package's share of a
 * function bundle's bytes, say how much of the difference each accounts for. (The iBinder
 * client speaks HTTP through Node's own `node:http`, so no HTTP package is bundled.)
 *
 * Timing: every import runs in a fresh `node` process (nothing cached), which measures
 * `await import(bundle)` with `performance.now()` around it and prints the milliseconds. The
 * bundles take turns within each round (a different order each round, so no bundle always runs
 * right after another), over `rounds` rounds; the median and the range are reported, and the
 * ratio is the median of the per-round ratios against the SDK-only bundle of the same round,
 * so a machine that slows down for a while slows both sides of a pair.
 *
 * Within a round every bundle is imported `samplesPerRound` times (the bundles taking turns,
 * A B C … A B C …) and its fastest import counts: an import is pure CPU work, so a slower one
 * only measures another process that took the core for a while. With one import a side on a
 * shared 2-core machine, a single such pause decided a round, and the median of 7 rounds of
 * one unchanged bundle moved between 1.13 and 1.48. Both sides are treated alike.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { PIPELINE_BUNDLING } from '../infra/constructs/pipeline-function.js';
import { median, spread, type Spread } from './statistics.js';

const run = promisify(execFile);
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The functions the stack deploys, by their entry files. */
export const FUNCTION_ENTRIES = {
  ingest: 'functions/ingest/handler.ts',
  'export-planner': 'functions/export-planner/handler.ts',
  'export-worker': 'functions/export-worker/handler.ts',
} as const;
export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The class each SDK package's bundle exports in the SDK-only bundle. */
export const SDK_CLIENT_CLASSES: Record<string, string> = {
  '@aws-sdk/client-s3': 'S3Client',
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/lib-dynamodb': 'DynamoDBDocumentClient',
  '@aws-sdk/client-sqs': 'SQSClient',
  '@aws-sdk/client-secrets-manager': 'SecretsManagerClient',
  '@aws-sdk/client-cloudformation': 'CloudFormationClient',
};

export interface PackageShare {
  /** Bytes of the package's modules in the bundle (esbuild's metafile, after minification). */
  bytes: number;
  /** Median import time of a bundle holding the package alone (ms). */
  importMs?: number;
}

export interface ColdStartFunctionResult {
  name: FunctionName;
  bundleBytes: number;
  sdkClients: string[];
  importMs: Spread;
  sdkOnlyImportMs: Spread;
  /** Median of the per-round ratios function / SDK-only. */
  ratio: Spread;
  /** Bytes of each package family in the function's bundle. */
  packages: Record<string, PackageShare>;
}

export interface ColdStartResult {
  rounds: number;
  samplesPerRound: number;
  nodeVersion: string;
  functions: ColdStartFunctionResult[];
  /** Import time of a bundle of `zod` (full build) alone and of a `zod/mini` schema alone. */
  alone: Record<string, Spread>;
}

export interface ColdStartOptions {
  rounds: number;
  /** Imports of each bundle per round, the fastest counted (see the module's comment). Default 3. */
  samplesPerRound?: number;
  /** Where the bundles are written (removed afterwards). */
  outDir: string;
  progress?: (line: string) => void;
}

/** esbuild options equal to the stack's bundling, for this machine's Node.js. */
export function pipelineBuildOptions(): BuildOptions {
  return {
    bundle: true,
    format: PIPELINE_BUNDLING.format,
    platform: PIPELINE_BUNDLING.platform,
    mainFields: [...PIPELINE_BUNDLING.mainFields],
    banner: { js: PIPELINE_BUNDLING.banner },
    minify: PIPELINE_BUNDLING.minify,
    keepNames: PIPELINE_BUNDLING.keepNames,
    sourcemap: PIPELINE_BUNDLING.sourcemap,
    sourcesContent: PIPELINE_BUNDLING.sourcesContent,
    target: `node${process.versions.node.split('.')[0]}`,
    metafile: true,
    logLevel: 'error',
  };
}

/** The package a metafile input belongs to (`@scope/name` or `name`), or undefined for the project's own code. */
export function packageOf(inputPath: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(inputPath.replace(/\\/g, '/'));
  return match?.[1];
}

/** Sorts a bundle's bytes into the families the issue names: undici, zod, the SDK, Powertools, the rest. */
export function familyOf(pkg: string | undefined): string {
  if (pkg === undefined) return 'project code';
  if (pkg === 'undici') return 'undici';
  if (pkg === 'zod') return 'zod';
  if (
    pkg.startsWith('@aws-sdk/') ||
    pkg.startsWith('@smithy/') ||
    pkg.startsWith('@aws-crypto/') ||
    pkg === 'tslib' ||
    pkg === 'fast-xml-parser' ||
    pkg === 'strnum' ||
    pkg === 'bowser'
  )
    return 'AWS SDK';
  if (pkg.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  return 'other packages';
}

function bytesByFamily(metafile: Metafile, outfile: string): Record<string, number> {
  const output = Object.entries(metafile.outputs).find(
    ([path]) => path.endsWith(relative(PROJECT_ROOT, outfile)) || outfile.endsWith(path),
  );
  const families: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(output?.[1].inputs ?? {})) {
    const family = familyOf(packageOf(input));
    families[family] = (families[family] ?? 0) + bytesInOutput;
  }
  return families;
}

function sdkPackagesOf(metafile: Metafile): string[] {
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const pkg = packageOf(input);
    if (pkg !== undefined && pkg in SDK_CLIENT_CLASSES) packages.add(pkg);
  }
  return [...packages].sort();
}

async function bundle(input: { entry: string } | { source: string }, outfile: string): Promise<Metafile> {
  const where =
    'entry' in input
      ? { entryPoints: [input.entry] }
      : // Resolved from the project, so the packages are the project's own.
        { stdin: { contents: input.source, resolveDir: PROJECT_ROOT, sourcefile: 'bench-entry.mjs', loader: 'js' as const } };
  const result = await build({ ...pipelineBuildOptions(), ...where, outfile, absWorkingDir: PROJECT_ROOT });
  if (!result.metafile) throw new Error(`esbuild wrote no metafile for ${outfile}`);
  return result.metafile;
}

/** Builds a bundle of `source` (module text that imports packages of the project) into `<outDir>/<name>/index.mjs`. */
async function bundleSource(outDir: string, name: string, source: string): Promise<string> {
  const outfile = join(outDir, name, 'index.mjs');
  await bundle({ source }, outfile);
  return outfile;
}

/** Milliseconds of `await import(bundle)` in a fresh process. */
export async function timeImport(bundlePath: string): Promise<number> {
  const probe = 'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe, pathToFileURL(bundlePath).href], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-north-1' },
    timeout: 60_000,
  });
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`importing ${bundlePath} printed '${stdout.trim().slice(0, 200)}' instead of a duration`);
  return ms;
}

/** The order of `items` in round `round`: rotated, and reversed every other round. */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = round % Math.max(1, items.length);
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return round % 2 === 1 ? rotated.reverse() : rotated;
}

export async function runColdStartBench(options: ColdStartOptions): Promise<ColdStartResult> {
  const { outDir } = options;
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  try {
    const built: {
      name: FunctionName;
      path: string;
      sdkPath: string;
      sdkClients: string[];
      bytes: number;
      packages: Record<string, number>;
    }[] = [];
    for (const [name, entry] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
      options.progress?.(`cold start: bundling ${name} and its SDK-only twin`);
      const path = join(outDir, name, 'index.mjs');
      const metafile = await bundle({ entry: join(PROJECT_ROOT, entry) }, path);
      const sdkClients = sdkPackagesOf(metafile);
      const sdkSource = sdkClients.map((pkg) => `export { ${SDK_CLIENT_CLASSES[pkg]} } from '${pkg}';`).join('\n');
      const sdkPath = await bundleSource(outDir, `${name}-sdk-only`, `${sdkSource}\n`);
      const packages = bytesByFamily(metafile, path);
      built.push({ name, path, sdkPath, sdkClients, bytes: Object.values(packages).reduce((a, b) => a + b, 0), packages });
    }
    const alonePaths = {
      zod: await bundleSource(outDir, 'zod-alone', "export * from 'zod';\n"),
      // `export *` would keep every locale; a schema with the English messages is what a function holds.
      'zod/mini': await bundleSource(
        outDir,
        'zod-mini-alone',
        "import * as z from 'zod/mini';\nimport en from 'zod/v4/locales/en.js';\nz.config(en());\nexport const probe = z.object({ id: z.string(), size: z.optional(z.int()) });\n",
      ),
    };

    const targets = [
      ...built.flatMap((b) => [
        { id: b.name, path: b.path },
        { id: `${b.name}:sdk`, path: b.sdkPath },
      ]),
      ...Object.entries(alonePaths).map(([id, path]) => ({ id: `alone:${id}`, path })),
    ];
    const times = new Map<string, number[]>(targets.map((t) => [t.id, []]));
    // One untimed import of each first: the first process after a build pays for the page cache.
    for (const target of targets) await timeImport(target.path);
    const samplesPerRound = Math.max(1, options.samplesPerRound ?? 3);
    for (let round = 0; round < options.rounds; round++) {
      options.progress?.(`cold start: round ${round + 1} of ${options.rounds}`);
      const fastest = new Map<string, number>();
      for (let sample = 0; sample < samplesPerRound; sample++) {
        for (const target of roundOrder(targets, round)) {
          const ms = await timeImport(target.path);
          fastest.set(target.id, Math.min(ms, fastest.get(target.id) ?? Number.POSITIVE_INFINITY));
        }
      }
      for (const [id, ms] of fastest) times.get(id)?.push(ms);
    }

    const functions = built.map((b): ColdStartFunctionResult => {
      const own = times.get(b.name) ?? [];
      const sdk = times.get(`${b.name}:sdk`) ?? [];
      const packages: Record<string, PackageShare> = {};
      for (const [family, bytes] of Object.entries(b.packages)) {
        const alone = times.get(`alone:${family}`);
        packages[family] = { bytes, ...(alone ? { importMs: median(alone) } : {}) };
      }
      return {
        name: b.name,
        bundleBytes: b.bytes,
        sdkClients: b.sdkClients,
        importMs: spread(own),
        sdkOnlyImportMs: spread(sdk),
        ratio: spread(own.map((ms, i) => ms / (sdk[i] ?? Number.NaN))),
        packages,
      };
    });
    const alone = Object.fromEntries(Object.keys(alonePaths).map((id) => [id, spread(times.get(`alone:${id}`) ?? [])]));
    return { rounds: options.rounds, samplesPerRound, nodeVersion: process.versions.node, functions, alone };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
