/**
 * What a function's bundle initialises lazily. In a one-file esbuild bundle an `import()` (or a
 * `require()`) of a module makes esbuild wrap that module in a lazy initialiser, and with it
 * every module it imports, also those the rest of the bundle loads at once: the bundle then
 * initialises them at import all the same, but V8 parses their code twice and esbuild keeps a
 * package's whole index (all of the Secrets Manager client, for example). Such an `import()` in
 * the export planner's and worker's graph (shared/connectors/bynder/index.ts, for the CLI) cost
 * them about a tenth of their import time (README, "Benchmarks", cold start).
 *
 * So no module of the project, of zod or of Powertools may be reachable from an `import()` or a
 * `require()` in a function's bundle; the AWS SDK's own lazy modules (credential providers and
 * the like) are its business, and the SDK-only bundle the bench compares with has them too.
 * Built with the stack's own options (bench/cold-start.ts `pipelineBuildOptions`).
 */
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { FUNCTION_ENTRIES, packageOf, pipelineBuildOptions } from '../../bench/cold-start.js';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The bundle's metafile (nothing written); its input paths are relative to the project's root. */
async function metafileOf(entry: string): Promise<Metafile> {
  const result = await build({
    ...pipelineBuildOptions(),
    entryPoints: [entry],
    outfile: 'probe/index.mjs',
    absWorkingDir: PROJECT_ROOT,
    write: false,
  });
  if (!result.metafile) throw new Error(`esbuild wrote no metafile for ${entry}`);
  return result.metafile;
}

/** Every input esbuild initialises lazily: the targets of `import()` and `require()`, and everything they import. */
function lazilyInitialised(metafile: Metafile): Set<string> {
  const lazy = new Set<string>();
  const pending = Object.values(metafile.inputs).flatMap((input) =>
    input.imports.filter((i) => !i.external && (i.kind === 'dynamic-import' || i.kind === 'require-call')).map((i) => i.path),
  );
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    if (lazy.has(path)) continue;
    lazy.add(path);
    for (const i of metafile.inputs[path]?.imports ?? []) if (!i.external) pending.push(i.path);
  }
  return lazy;
}

/** The inputs the pipeline loads at every cold start anyway: its own code, zod, Powertools. */
function isPipelineCode(path: string): boolean {
  const pkg = packageOf(path);
  return pkg === undefined || pkg === 'zod' || pkg.startsWith('@aws-lambda-powertools/');
}

describe('function bundles: nothing of the pipeline is initialised lazily', () => {
  it.each(Object.entries(FUNCTION_ENTRIES))(
    '%s: no project, zod or Powertools module is reachable from an import() or require()',
    async (_name, entry) => {
      const metafile = await metafileOf(entry);
      expect([...lazilyInitialised(metafile)].filter(isPipelineCode)).toEqual([]);
    },
    30_000,
  );

  it('the check sees such a module: the Bynder connector index.ts (the CLI loads its HTTP client with import())', async () => {
    const lazy = [...lazilyInitialised(await metafileOf('shared/connectors/bynder/index.ts'))];
    expect(lazy).toContain('shared/connectors/bynder/client/client.ts');
    expect(lazy).toContain('shared/validation/zod.ts');
    expect(lazy.filter(isPipelineCode).length).toBeGreaterThan(10);
  }, 30_000);
});
