/**
 * The command tree: one program, global options, one module per command (cli/commands/).
 * Built afresh for every run, because commander keeps parsed state on the Command objects.
 */
import { createRequire } from 'node:module';
import { Command } from 'commander';
import type { ActionFactory, CommandRegistration } from './command.js';
import { registerBindersCommand } from './commands/binders.js';
import { registerBrandsCommand } from './commands/brands.js';
import { registerCheckCommand } from './commands/check.js';
import { registerExportCommand } from './commands/export.js';
import { registerFoldersCommand } from './commands/folders.js';
import { registerMetapropertiesCommand } from './commands/metaproperties.js';
import { registerRedriveCommand } from './commands/redrive.js';
import { registerReingestCommand } from './commands/reingest.js';
import { registerSchemaCommand } from './commands/schema.js';
import { registerStatusCommand } from './commands/status.js';
import type { CliIo } from './io.js';
import { addGlobalOptions } from './options.js';

import { PROGRAM_NAME } from './suggested-command.js';

export { PROGRAM_NAME };

const COMMANDS: readonly CommandRegistration[] = [
  registerBindersCommand,
  registerFoldersCommand,
  registerSchemaCommand,
  registerBrandsCommand,
  registerMetapropertiesCommand,
  registerCheckCommand,
  registerStatusCommand,
  registerRedriveCommand,
  registerReingestCommand,
  registerExportCommand,
];

const HELP_FOOTER = `
Environment:
  Choose one with --env <name> (an entry of cdk.json's context.environments): its tenant, iBinder
  URLs, credentials secret, region and routing rules. AWS resource names come from the stack's
  outputs (stack IbinderPipeline-<env>) unless given as flags.
  IBINDER_CLIENT_ID / IBINDER_CLIENT_SECRET   iBinder credentials instead of the environment's secret
  IBINDER_ORG_ID, IBINDER_API_URL, IBINDER_TOKEN_URL   override tenant and URLs (e.g. the emulator)
  BYNDER_CLIENT_ID / BYNDER_CLIENT_SECRET (or BYNDER_PERMANENT_TOKEN)   Bynder credentials instead of
    the environment's Bynder secret; BYNDER_PORTAL_URL overrides its portal URL (e.g. the emulator)
  AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL[_<SERVICE>]   AWS credentials, region, local endpoints
    (or --profile, --region, --endpoint-url, which win over the variables, as with the AWS CLI)

Output:
  Results on stdout (--json: one JSON document); notes, warnings and progress on stderr.
  Warnings of the pipeline code are one line each; --debug (-v) shows its log lines as written.
  Hints print commands ready to paste (keys with spaces are quoted).

Exit codes:
  0 done (check: accepted)   1 failed (check: rejected)   2 usage or configuration error
  3 a service (AWS, iBinder, Bynder) failed
`;

export function buildProgram(io: CliIo, action: ActionFactory): Command {
  const program = new Command(PROGRAM_NAME);
  program
    .description('Operate the S3 -> iBinder ingest and iBinder -> S3 export pipeline of one environment')
    .version(packageVersion(), '-V, --version')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
    })
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', HELP_FOOTER);
  addGlobalOptions(program);
  for (const register of COMMANDS) register(program, action);
  return program;
}

function packageVersion(): string {
  const pkg: unknown = createRequire(import.meta.url)('../package.json');
  const version = (pkg as { version?: unknown } | null)?.version;
  return typeof version === 'string' ? version : '0.0.0';
}
