/**
 * The installed entry point: `bin/ibinder-pipeline.js` as npm's `bin` runs it, in its own
 * process. `npm ci` compiles the CLI into dist/ (the `prepare` script) and the launcher runs
 * that; without it the launcher runs the TypeScript sources through tsx. Both paths are run
 * here. How fast each starts is measured by the start-up benchmark, not asserted.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectFullHelp(stdout: string): void {
  expect(stdout).toContain('Usage: ibinder-pipeline');
  for (const command of ['binders', 'folders', 'schema', 'check', 'status', 'redrive', 'reingest', 'export']) {
    expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  }
}

describe('bin/ibinder-pipeline.js', () => {
  beforeAll(async () => {
    // The build `npm ci` runs; rebuilt here so the compiled CLI matches the sources under test.
    await promisify(execFile)(process.execPath, ['bin/build-cli.mjs'], { cwd: ROOT });
  });

  it('the build writes the compiled CLI, and it answers --help with every command and exits 0', async () => {
    expect(existsSync(`${ROOT}/dist/cli.js`)).toBe(true);
    const { code, stdout, stderr } = await run(['dist/cli.js', '--help']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expectFullHelp(stdout);
  });

  it('the launcher prints the help with every command and exits 0', async () => {
    const { code, stdout, stderr } = await run(['bin/ibinder-pipeline.js', '--help']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expectFullHelp(stdout);
  });

  it('the launcher runs the TypeScript sources when told to (a change tried without rebuilding)', async () => {
    const { code, stdout, stderr } = await run(['bin/ibinder-pipeline.js', '--help'], { IBINDER_PIPELINE_FROM_SOURCE: '1' });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expectFullHelp(stdout);
  });
});
