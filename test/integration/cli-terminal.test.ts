/**
 * The CLI as an operator meets it: its own process, at a pseudo-terminal (util-linux `script`
 * gives the command a real tty, as tmux or an ssh session would), against the local stack.
 * Ctrl-C is typed into the terminal (the tty turns it into SIGINT), not sent by pid.
 * The launcher runs the TypeScript sources here (IBINDER_PIPELINE_FROM_SOURCE), so the test
 * does not depend on, or race with, a build of dist/.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS } from '../../emulator/index.js';
import { shellCommand } from '../../cli/shell-quote.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;
const SHOW_CURSOR = '\x1b[?25h';
const HIDE_CURSOR = '\x1b[?25l';

let stack: LocalStack;
let dir: string;
let env: NodeJS.ProcessEnv;
let globalFlags: string[];

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(join(tmpdir(), 'cli-terminal-'));
  const cdkJson = join(dir, 'cdk.json');
  const environment = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: stack.services.emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
    export: { binders: [HARBOUR.binderId] },
  };
  await writeFile(cdkJson, JSON.stringify({ context: { environments: { local: environment } } }));
  const { emulator, s3, dynamodb } = stack.services;
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'xterm',
    IBINDER_PIPELINE_FROM_SOURCE: '1',
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
  globalFlags = [
    '--env',
    'local',
    '--config',
    cdkJson,
    '--archive-bucket',
    stack.services.archiveBucket,
    '--export-ledger-table',
    stack.services.exportLedgerTable,
  ];
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The words a POSIX shell makes of a command line, as a pasted hint would be split. */
function shellWords(commandLine: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\0' ${commandLine}`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with pipes (no terminal): stdout and stderr apart. */
function runPiped(args: string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/ibinder-pipeline.js', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs the CLI at a pseudo-terminal; `typeWhen` types keys once the screen shows a text.
 * Resolves with everything the terminal showed and the CLI's exit code (script -e).
 */
function runInTerminal(args: string[], typeWhen: { seen: string; keys: string }): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const command = shellCommand([process.execPath, 'bin/ibinder-pipeline.js', ...args]);
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let typed = false;
    const onOutput = (chunk: Buffer): void => {
      screen += chunk.toString();
      if (!typed && screen.includes(typeWhen.seen)) {
        typed = true;
        child.stdin.write(typeWhen.keys);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe('the CLI at a terminal', () => {
  it('Ctrl-C during export stops the bar, shows the cursor again, and prints the run id with the command that goes on', async () => {
    // Slow storage, so that the run is still copying when Ctrl-C arrives.
    stack.services.emulator.faults.add({ route: 'storage', latencyMs: 1_500, times: Infinity });
    try {
      const { code, screen } = await runInTerminal([...globalFlags, 'export', '--binder', HARBOUR.binderId], {
        seen: 'exporting [',
        keys: '\x03',
      });
      const runId = /^Export run (\S+): exporting binder\(s\)/m.exec(screen)?.[1];
      expect(runId, screen).toBeDefined();
      expect(code).toBe(130);
      expect(screen).toContain(`Interrupted: export run ${runId} stopped after `);
      expect(screen).toMatch(/Go on now with: ibinder-pipeline --env local --config \S+ .*export --binder \S+/);
      expect(screen).toContain(`manifest (what it did export) with: ibinder-pipeline --env local`);
      expect(screen).toContain(`export --run-id ${runId}`);
      // The bar hid the cursor; the interrupt showed it again, after the last hide.
      expect(screen.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(screen.lastIndexOf(HIDE_CURSOR));
      expect(screen).not.toContain('INF');

      // The printed commands work when pasted, at once: the versions in flight were handed back.
      stack.services.emulator.faults.clear();
      const goOn = shellWords(/Go on now with: ([^\r\n]+)/.exec(screen)?.[1] ?? '');
      expect(goOn[0]).toBe('ibinder-pipeline');
      const next = await runPiped(goOn.slice(1));
      expect(next.stderr).not.toContain('error');
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(next.stdout).toMatch(/Export run \S+ finished in/);
      const manifest = shellWords(/manifest \(what it did export\) with: ([^\r\n]+)/.exec(screen)?.[1] ?? '');
      const written = await runPiped(manifest.slice(1));
      expect(written.code).toBe(0);
      expect(written.stdout).toContain(`manifests/`);
      expect(written.stdout).toContain(`${runId}.jsonl`);
    } finally {
      stack.services.emulator.faults.clear();
    }
  });
});

describe('the CLI with pipes', () => {
  it('--json keeps stdout one JSON document while a retried iBinder call warns in one human line on stderr', async () => {
    stack.services.emulator.faults.add({ route: 'GET /binders', status: 503, times: 1, retryAfterSeconds: 0 });
    const { code, stdout, stderr } = await runPiped([...globalFlags, '--json', 'binders']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ binders: expect.arrayContaining([expect.objectContaining({ id: HARBOUR.binderId })]) });
    const lines = stderr.split('\n').filter((line) => line !== '' && !line.startsWith('note:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warning: iBinder call failed transiently; retrying \(method=GET, path=\/binders, attempt=1, .*status=503/);
  });

  it('--debug shows the raw log lines (JSON) on stderr instead', async () => {
    stack.services.emulator.faults.add({ route: 'GET /binders', status: 503, times: 1, retryAfterSeconds: 0 });
    const { code, stdout, stderr } = await runPiped([...globalFlags, '--json', '--debug', 'binders']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toHaveProperty('binders');
    const records = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'iBinder call failed transiently; retrying', status: 503 }),
    );
    expect(stderr).not.toContain('warning: iBinder call failed');
  });
});
