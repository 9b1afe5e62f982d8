/**
 * The environment a command runs against: one entry of cdk.json's `context.environments`, the
 * same entry `cdk deploy -c env=<name>` deploys, validated by the stack's own schema and turned
 * into the functions' runtime config by the stack's own `toPipelineConfig`. So `check` applies
 * exactly the routing rules and default target the deployed ingest applies.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadEnvironmentConfig, toPipelineConfig, type EnvironmentConfig } from '../infra/config.js';
import { EnvironmentConfigError } from '../infra/errors.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { UsageError } from './errors.js';

/** cdk.json of this project, used when `--config` does not name another. */
export const DEFAULT_CDK_JSON = join(PROJECT_ROOT, 'cdk.json');

export interface SelectedEnvironment {
  name: string;
  /** The validated cdk.json entry (account, region, tenant, URLs, secret, rules...). */
  config: EnvironmentConfig;
  /** What the deployed functions read from PIPELINE_CONFIG. */
  pipeline: PipelineConfig;
  /** The file it was read from. */
  source: string;
}

/** Reads `context.environments` from a cdk.json; errors name the file and what to do. */
export async function readEnvironments(cdkJsonPath: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(cdkJsonPath, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${cdkJsonPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      'run the command from the project, or pass --config <path to cdk.json>',
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `${cdkJsonPath} is not valid JSON: ${(err as Error).message}`,
      'fix the file, or pass --config <path to cdk.json>',
    );
  }
  const environments = (json as { context?: { environments?: unknown } } | null)?.context?.environments;
  if (typeof environments !== 'object' || environments === null || Array.isArray(environments)) {
    throw new UsageError(
      `${cdkJsonPath} has no "context.environments" object`,
      'add one entry per environment under context.environments (see README: adding an environment), or pass --config <path to cdk.json>',
    );
  }
  return environments as Record<string, unknown>;
}

/** Picks and validates one environment; an unknown name lists the known ones. */
export function selectEnvironment(environments: Record<string, unknown>, name: string, source: string): SelectedEnvironment {
  const known = Object.keys(environments).sort();
  if (!Object.hasOwn(environments, name)) {
    throw new UsageError(
      `unknown environment "${name}": ${source} defines ${known.length > 0 ? known.join(', ') : 'no environments'}`,
      known.length > 0
        ? `pass --env with one of: ${known.join(', ')} (or add an entry for "${name}" under context.environments)`
        : `add an entry for "${name}" under context.environments in ${source}`,
    );
  }
  let config: EnvironmentConfig;
  try {
    config = loadEnvironmentConfig(environments, name);
  } catch (err) {
    if (err instanceof EnvironmentConfigError) {
      throw new UsageError(err.message, `fix the entry in ${source}; the stack cannot deploy it either`, { cause: err });
    }
    throw err;
  }
  return { name, config, pipeline: toPipelineConfig(config, name), source };
}

export async function loadEnvironment(name: string, cdkJsonPath: string | undefined, cwd: string): Promise<SelectedEnvironment> {
  const source = cdkJsonPath !== undefined ? resolve(cwd, cdkJsonPath) : DEFAULT_CDK_JSON;
  return selectEnvironment(await readEnvironments(source), name, source);
}
