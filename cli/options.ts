/**
 * Options every command accepts: which environment, output mode, and the overrides that point
 * the CLI at something other than the deployed environment (the emulator, a local S3 server,
 * a stack under another name). Flags win over variables, variables over cdk.json.
 */
import type { Command } from 'commander';
import { RESOURCES, type ResourceName } from './resources.js';

export interface GlobalOptions {
  env?: string | undefined;
  config?: string | undefined;
  json: boolean;
  apiUrl?: string | undefined;
  tokenUrl?: string | undefined;
  tenant?: string | undefined;
  region?: string | undefined;
  /** A profile of the AWS shared config and credentials files (like the AWS CLI's --profile). */
  profile?: string | undefined;
  /** One endpoint for every AWS service (like the AWS CLI's --endpoint-url): a local server. */
  endpointUrl?: string | undefined;
  stackName?: string | undefined;
  /** Show the shared code's log lines as they are written (JSON), instead of one short line per warning. */
  debug: boolean;
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

/** Variables that point the Bynder commands elsewhere than the environment's portal and secret (e.g. the emulator). */
export const BYNDER_ENV = {
  portalUrl: 'BYNDER_PORTAL_URL',
  clientId: 'BYNDER_CLIENT_ID',
  clientSecret: 'BYNDER_CLIENT_SECRET',
  permanentToken: 'BYNDER_PERMANENT_TOKEN',
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
  exportPlanner: 'exportPlanner',
};

export function addGlobalOptions(program: Command): Command {
  program
    .option('-e, --env <name>', `environment from cdk.json (context.environments); or ${ENV_VARS.environment}`)
    .option('--config <path>', "cdk.json to read environments from (default: the project's)")
    .option('--json', 'print one JSON document instead of text (for scripts)')
    .option('--api-url <url>', `iBinder API base URL, overriding the environment's; or ${ENV_VARS.apiUrl}`)
    .option('--token-url <url>', `iBinder token URL, overriding the environment's; or ${ENV_VARS.tokenUrl}`)
    .option('--tenant <id>', `iBinder organisation (tenant) id, overriding the environment's; or ${ENV_VARS.tenant}`)
    .option('-v, --debug', 'show the log lines of the pipeline code as written (JSON) instead of one short line per warning')
    .option('--region <region>', "AWS region (default: the environment's; or AWS_REGION)")
    .option('--profile <name>', 'AWS profile from your shared config and credentials files (default: AWS_PROFILE)')
    .option('--endpoint-url <url>', 'send every AWS request to this endpoint, e.g. a local server (default: AWS_ENDPOINT_URL[_<SERVICE>])')
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
    profile: text('profile'),
    endpointUrl: text('endpointUrl'),
    stackName: text('stackName'),
    debug: raw.debug === true,
    resources,
  };
}

/**
 * The global options as flags again, the way `globalOptionsOf` read them (output modes left
 * out): the front of every command line the CLI suggests, so that a pasted hint runs against
 * the same environment, stack, endpoints and resources as the command that printed it.
 */
export function globalOptionFlags(options: GlobalOptions): string[] {
  const flags: string[] = [];
  const add = (flag: string, value: string | undefined): void => {
    if (value !== undefined) flags.push(flag, value);
  };
  add('--env', options.env);
  add('--config', options.config);
  add('--profile', options.profile);
  add('--region', options.region);
  add('--endpoint-url', options.endpointUrl);
  add('--stack-name', options.stackName);
  add('--api-url', options.apiUrl);
  add('--token-url', options.tokenUrl);
  add('--tenant', options.tenant);
  for (const [name, spec] of Object.entries(RESOURCES) as [ResourceName, (typeof RESOURCES)[ResourceName]][]) {
    add(spec.flag, options.resources[name]);
  }
  return flags;
}
