/**
 * The lint rule that keeps functions/ and cli/ off a connector's internals (biome.jsonc,
 * `noRestrictedImports`). Run against probe files in a scratch copy of the configuration, so
 * that the test shows the rule bites: an internal import from a handler is an error, the
 * connector's index.js is allowed, and shared/ code (the connector's own) is not restricted.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');

const INTERNAL = "import { connectorClient } from '../../shared/connectors/ibinder/client.js';\n";
const PUBLIC = "import { connector } from '../../shared/connectors/ibinder/index.js';\n";
/** Today's iBinder connector lives in shared/ibinder/ (with its destination and export source beside it). */
const IBINDER_INTERNAL = "import { FolderResolver } from '../../shared/ibinder/folder-resolver.js';\n";
const IBINDER_DESTINATION = "import { IBinderDestination } from '../../shared/destination/ibinder-destination.js';\n";
const IBINDER_PUBLIC = "import { FolderResolver } from '../../shared/ibinder/index.js';\n";

/** Lints one probe file in the scratch tree; the diagnostics as biome's JSON reporter gives them. */
async function lint(root: string, relativePath: string, source: string): Promise<string[]> {
  const file = path.join(root, relativePath);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${source}export const probe = 1;\n`);
  const result = await run(biome, ['lint', '--reporter=json', relativePath], { cwd: root }).catch((err: { stdout?: string }) => ({
    stdout: err.stdout ?? '',
  }));
  const report = JSON.parse(result.stdout) as { diagnostics: { category: string }[] };
  return report.diagnostics.map((d) => d.category);
}

describe('lint: the connector boundary', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'lint-boundary-'));
    // The repository's own configuration, without the git integration (the scratch tree is no repository).
    const config = (await readFile(path.join(repoRoot, 'biome.jsonc'), 'utf8'))
      .replace(/"\$schema":[^\n]*\n/, '')
      .replace(/"vcs":[^\n]*\n/, '');
    await writeFile(path.join(root, 'biome.jsonc'), config);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a connector internal imported by a handler or a CLI command', async () => {
    expect(await lint(root, 'functions/ingest/probe.ts', INTERNAL)).toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'cli/commands/probe.ts', INTERNAL)).toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'functions/ingest/ibinder-probe.ts', IBINDER_INTERNAL)).toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'cli/commands/destination-probe.ts', IBINDER_DESTINATION)).toContain('lint/style/noRestrictedImports');
  });

  it("allows the connector's index.js, and shared code's own imports", async () => {
    expect(await lint(root, 'functions/ingest/public-probe.ts', PUBLIC)).not.toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'functions/ingest/ibinder-public-probe.ts', IBINDER_PUBLIC)).not.toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'shared/ingest/probe.ts', INTERNAL)).not.toContain('lint/style/noRestrictedImports');
  });
});
