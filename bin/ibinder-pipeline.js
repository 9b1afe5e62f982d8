#!/usr/bin/env node
// Launcher of the operator CLI. It runs the compiled CLI in dist/ (built by `npm ci` through the
// `prepare` script, or by `npm run build`), which starts in a fraction of a second. Without it
// (an install that skipped the build), or with IBINDER_PIPELINE_FROM_SOURCE=1 (a developer
// trying a change without rebuilding), it registers tsx and runs the TypeScript sources, which
// compiles them at every start.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli.js', import.meta.url);
const fromSource = process.env.IBINDER_PIPELINE_FROM_SOURCE === '1' || !existsSync(compiled);

if (fromSource) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  await import(compiled.href);
}
