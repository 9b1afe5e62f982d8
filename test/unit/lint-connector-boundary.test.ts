/**
 * The lint rule that keeps functions/ and cli/ off a connector's internals (biome.jsonc,
 * `noRestrictedImports`). Run against probe files in a scratch copy of the configuration, so
 * that the test shows the rule bites: an internal import from a handler is an error (a system's
 * runtime-client.js included), the neutral modules and a connector's index.js are allowed, and
 * shared/ code (the connector's own) is not restricted.
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

const INTERNAL = "import { FolderResolver } from '../../shared/connectors/ibinder/folder-resolver.js';\n";
const CLIENT_INTERNAL = "import { HttpIBinderClient } from '../../shared/connectors/ibinder/client/client.js';\n";
const BYNDER_INTERNAL = "import { connectorClient } from '../../shared/connectors/bynder/client/client.js';\n";
const PUBLIC = "import { createIBinderConnector } from '../../shared/connectors/ibinder/index.js';\n";
const RUNTIME_CLIENT = "import { createRuntimeIBinderClient } from '../../shared/connectors/ibinder/runtime-client.js';\n";
const BYNDER_RUNTIME_CLIENT = "import { runtimeBynderConnectorFactory } from '../../shared/connectors/bynder/runtime-client.js';\n";
const BYNDER_PUBLIC = "import { createBynderConnector } from '../../shared/connectors/bynder/index.js';\n";
const NEUTRAL = "import type { IngestConnector } from '../../shared/connectors/types.js';\n";
const RUNTIME = "import { createRuntimeConnectors } from '../../shared/connectors/runtime.js';\n";
const EXPORT_ARCHIVING = "import { versionArchivingFor } from '../../shared/connectors/export-archiving.js';\n";
const REGISTRY = "import { chooseConnector } from '../../shared/connectors/registry.js';\n";

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
    expect(await lint(root, 'functions/ingest/client-probe.ts', CLIENT_INTERNAL)).toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'cli/commands/bynder-probe.ts', BYNDER_INTERNAL)).toContain('lint/style/noRestrictedImports');
    // A system's runtime entry point is reached through the neutral runtime.js, so a handler names no system.
    expect(await lint(root, 'functions/ingest/runtime-probe.ts', RUNTIME_CLIENT)).toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'functions/export-planner/runtime-probe.ts', BYNDER_RUNTIME_CLIENT)).toContain(
      'lint/style/noRestrictedImports',
    );
  });

  it("allows the neutral interfaces, the registry, the runtime and export entry points, a connector's index.js, and shared code's own imports", async () => {
    for (const source of [PUBLIC, BYNDER_PUBLIC, NEUTRAL, REGISTRY, RUNTIME, EXPORT_ARCHIVING]) {
      expect(await lint(root, 'functions/ingest/public-probe.ts', source)).not.toContain('lint/style/noRestrictedImports');
      expect(await lint(root, 'cli/commands/public-probe.ts', source)).not.toContain('lint/style/noRestrictedImports');
    }
    expect(await lint(root, 'shared/ingest/probe.ts', INTERNAL)).not.toContain('lint/style/noRestrictedImports');
    expect(await lint(root, 'shared/connectors/runtime-probe.ts', RUNTIME_CLIENT)).not.toContain('lint/style/noRestrictedImports');
  });
});
