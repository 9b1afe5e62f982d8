/**
 * Where the CDK app finds the project: the functions are bundled from source, so the stack
 * needs absolute paths that do not depend on the directory `cdk` was started from.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (holds package.json and package-lock.json). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The lock file esbuild bundling resolves dependencies against. */
export const DEPS_LOCK_FILE = join(PROJECT_ROOT, 'package-lock.json');

/** Entry file of one function under functions/<name>/handler.ts. */
export function functionEntry(name: 'ingest' | 'export-planner' | 'export-worker'): string {
  return join(PROJECT_ROOT, 'functions', name, 'handler.ts');
}
