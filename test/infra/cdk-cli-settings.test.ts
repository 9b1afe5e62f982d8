/**
 * The CDK CLI settings of cdk.json: the machines that synth and deploy have no internet, so the
 * CLI neither fetches notices nor sends telemetry; and an environment that still asks for
 * active X-Ray tracing is told why it is gone.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnvironmentConfig } from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

interface CdkJson {
  notices?: unknown;
  context: { 'cli-telemetry'?: unknown; environments: Record<string, Record<string, unknown>> };
}

const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as CdkJson;

/** The environment without CDK_* switches, so that only cdk.json can turn telemetry off. */
function envWithoutCdkSwitches(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CDK_') && !name.startsWith('AWS_')));
  return { ...env, AWS_CONFIG_FILE: join(tmpdir(), 'no-aws-config'), AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-aws-credentials') };
}

describe('cdk.json CLI settings', () => {
  it('turns notices off (a top-level setting the CLI reads as settings.notices)', () => {
    expect(cdkJson.notices).toBe(false);
  });

  it('turns telemetry off where the CLI looks (the context key cli-telemetry), as `cdk cli-telemetry --status` reports', async () => {
    expect(cdkJson.context['cli-telemetry']).toBe(false);
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        'npx',
        ['cdk', 'cli-telemetry', '--status'],
        { cwd: PROJECT_ROOT, env: envWithoutCdkSwitches(), timeout: 60_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`cdk cli-telemetry --status failed: ${stderr}`)) : resolve(`${stdout}${stderr}`),
      );
    });
    expect(output).toContain('CLI Telemetry is disabled');
  }, 90_000);
});

describe('xrayTracing', () => {
  it('is off in every environment of cdk.json', () => {
    for (const [name, environment] of Object.entries(cdkJson.context.environments)) {
      expect(loadEnvironmentConfig(cdkJson.context.environments, name).xrayTracing, name).toBe(false);
      expect(environment.xrayTracing ?? false, name).toBe(false);
    }
  });

  it('refuses true with the reason and what to do', () => {
    const environments = { dev: { ...cdkJson.context.environments.dev, xrayTracing: true } };
    expect(() => loadEnvironmentConfig(environments, 'dev')).toThrow(
      /xrayTracing[\s\S]*no Tracer[\s\S]*remove "xrayTracing" or set it to false/,
    );
  });
});
