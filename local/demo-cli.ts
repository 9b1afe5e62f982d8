/**
 * The demo's operator part: what a person does with a rejected file, through the real CLI
 * (`runCli`, in-process, against the same local services and both emulators): check why it was
 * rejected, check that the fixed tags would pass, reingest it with the fix, and read its ledger
 * entry.
 */
import { runCli } from '../cli/run.js';
import { bufferedIo } from '../cli/io.js';
import type { LocalServices } from './services.js';

export interface CliStep {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
}

/** The variables an operator would set to point the CLI at the local services. */
function localCliEnv(services: LocalServices): NodeJS.ProcessEnv {
  const { emulator, bynder, s3, dynamodb } = services;
  return {
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    IBINDER_ORG_ID: emulator.tenantId,
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
    BYNDER_PORTAL_URL: bynder.url,
    BYNDER_CLIENT_ID: bynder.clientId,
    BYNDER_CLIENT_SECRET: bynder.clientSecret,
    AWS_REGION: services.region,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Runs one CLI command line against the local services and returns what it printed. */
export async function runLocalCli(services: LocalServices, argv: string[]): Promise<CliStep> {
  const io = bufferedIo({ env: localCliEnv(services) });
  const resourceFlags = ['--inbox-bucket', services.inboxBucket, '--ledger-table', services.ledgerTable];
  const code = await runCli([...resourceFlags, ...argv], io);
  return { argv, code, stdout: io.stdoutText(), stderr: io.stderrText() };
}
