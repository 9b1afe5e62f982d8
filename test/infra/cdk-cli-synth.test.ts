/**
 * The real CLI path: `npx cdk synth -c env=dev` as an operator runs it, with no AWS credentials
 * and no Docker (esbuild bundles locally), into a temporary output directory.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/paths.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The current environment without any AWS credentials, profile or config, offline-friendly. */
function credentialFreeEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')));
  return {
    ...env,
    AWS_CONFIG_FILE: join(tmpdir(), 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function cdk(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['cdk', ...args],
      { cwd: PROJECT_ROOT, env: credentialFreeEnv(), timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npx cdk synth', () => {
  let outdir: string;
  let dev: CliResult;
  let unknown: CliResult;

  beforeAll(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'pipeline-cli-synth-'));
    [dev, unknown] = await Promise.all([
      cdk(['synth', '-c', 'env=dev', '--quiet', '--no-notices', '-o', join(outdir, 'dev')]),
      cdk(['synth', '-c', 'env=nope', '--quiet', '--no-notices', '-o', join(outdir, 'unknown')]),
    ]);
  }, 180_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes dev without credentials or Docker', () => {
    expect(dev.stderr).not.toMatch(/docker/i);
    expect(dev.code, dev.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'dev', 'IbinderPipeline-dev.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(3);
  });

  it('writes the three bundled functions as assets', () => {
    const assembly = join(outdir, 'dev');
    const bundles = readdirSync(assembly).filter((d) => d.startsWith('asset.') && existsSync(join(assembly, d, 'index.mjs')));
    expect(bundles).toHaveLength(3);
  });

  it('fails with the list of environments for an unknown one', () => {
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/Unknown environment "nope": cdk\.json context\.environments defines dev, prod, staging/);
  });
});
