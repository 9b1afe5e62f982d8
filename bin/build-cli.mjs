#!/usr/bin/env node
/**
 * Compiles the operator CLI (cli/main.ts and what it imports from the project) into dist/, so
 * that `npx ibinder-pipeline` starts without compiling TypeScript at run time. `npm ci` runs it
 * (the `prepare` script); `npm run build` runs it by hand.
 *
 * Why these settings:
 * - packages stay external: node_modules is there at run time, and bundling aws-cdk-lib would
 *   only make the file large;
 * - code splitting: the CLI imports the environment loader and the stack lazily (they pull in
 *   aws-cdk-lib); without separate chunks their package imports would be hoisted into the
 *   entry and load on every start, `--help` included;
 * - chunks sit directly in dist/, one level below the project root, as the sources do: code
 *   that finds the project with `new URL('..', import.meta.url)` (the project root, cdk.json,
 *   package.json) keeps working unchanged.
 * Without esbuild (an install without dev dependencies) it says so and leaves the launcher to
 * fall back to running the sources.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = fileURLToPath(new URL('../dist', import.meta.url));

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('build-cli: esbuild is not installed (dev dependencies omitted); the CLI will run from its TypeScript sources\n');
  process.exit(0);
}

await rm(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { cli: 'cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'cli-[name]-[hash]',
  logLevel: 'warning',
});
