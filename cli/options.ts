/**
 * Options every command accepts: which environment, output mode, and the overrides that point
 * the CLI at something other than the deployed environment (the emulator, a local S3 server,
 * a stack under another name). Flags win over variables, variables over cdk.json.
 */
import type { Command } from 'commander';
import { RESOURCES, type ResourceName } from './stack-outputs.js';

export interface GlobalOptions {
  env?: string | undefined;
  config?: string | undefined;
  json: boolean;
  apiUrl?: string | undefined;
  tokenUrl?: string | undefined;
  tenant?: string | undefined;
  region?: string | undefined;
  stackName?: string | undefined;
  /** Explicit resource names, keyed like RESOURCES. */
  resources: Partial<Record<ResourceName, string>>;
}

/** Variables read in place of flags. */
export const ENV_VARS = {
  environment: 'IBINDER_PIPELINE_ENV',
  apiUrl: 'IBINDER_API_URL',
  tokenUrl: 'IBINDER_TOKEN_URL',
  tenant: 'IBINDER_ORG_ID',
} as const;

const RESOURCE_OPTION_KEYS: Record<ResourceName, string> = {
  inboxBucket: 'inboxBucket',
  archiveBucket: 'archiveBucket',
  ledgerTable: 'ledgerTable',
  exportLedgerTable: 'exportLedgerTable',
  ingestQueueUrl: 'queueUrl',
  ingestDlqUrl: 'dlqUrl',
  exportQueueUrl: 'exportQueueUrl',
  exportDlqUrl: 'exportDlqUrl',
};

export function addGlobalOptions(program: Command): Command {
  program
    .option('-e, --env <name>', `environment from cdk.json (context.environments); or ${ENV_VARS.environment}`)
    .option('--config <path>', 'cdk.json to read environments from (default: the project\'s)')
    .option('--json', 'print one JSON document instead of text (for scripts)')
    .option('--api-url <url>', `iBinder API base URL, overriding the environment's; or ${ENV_VARS.apiUrl}`)
    .option('--token-url <url>', `iBinder token URL, overriding the environment's; or ${ENV_VARS.tokenUrl}`)
    .option('--tenant <id>', `iBinder organisation (tenant) id, overriding the environment's; or ${ENV_VARS.tenant}`)
    .option('--region <region>', "AWS region (default: the environment's)")
    .option('--stack-name <name>', 'CloudFormation stack to read resource names from (default: IbinderPipeline-<env>)');
  for (const [name, spec] of Object.entries(RESOURCES) as [ResourceName, (typeof RESOURCES)[ResourceName]][]) {
    const placeholder = name.endsWith('Url') ? '<url>' : '<name>';
    program.option(`${spec.flag} ${placeholder}`, `the ${spec.what} (default: stack output ${spec.output})`);
  }
  return program;
}

/** The global options as commander parsed them, typed. */
export function globalOptionsOf(command: Command): GlobalOptions {
  const raw = command.optsWithGlobals<Record<string, unknown>>();
  const text = (key: string): string | undefined => {
    const value = raw[key];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const resources: Partial<Record<ResourceName, string>> = {};
  for (const [name, key] of Object.entries(RESOURCE_OPTION_KEYS) as [ResourceName, string][]) {
    const value = text(key);
    if (value !== undefined) resources[name] = value;
  }
  return {
    env: text('env'),
    config: text('config'),
    json: raw.json === true,
    apiUrl: text('apiUrl'),
    tokenUrl: text('tokenUrl'),
    tenant: text('tenant'),
    region: text('region'),
    stackName: text('stackName'),
    resources,
  };
}
