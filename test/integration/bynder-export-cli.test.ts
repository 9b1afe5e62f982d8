/**
 * `export --connector bynder` end to end, in-process through runCli, against the Bynder
 * emulator (its default seed, deleted assets listed), the local S3 server and the local
 * DynamoDB server: the first run copies every live asset version and reports the deleted
 * asset, the second (unchanged) run plans nothing; `--since` moves the feed's start.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedIo, type BufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';
import { type LocalStack, startLocalStack } from '../helpers/local-stack.js';

let stack: LocalStack;
let dir: string;
let cdkJson: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startLocalStack({ services: { bynder: { listDeletedAssets: true } } });
  dir = await mkdtemp(join(tmpdir(), 'cli-bynder-export-test-'));
  cdkJson = join(dir, 'cdk.json');
  const { emulator, bynder, s3, dynamodb } = stack.services;
  const local = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
    bynder: { portalUrl: bynder.url, credentialsSecretName: 'ibinder-pipeline/local/bynder-client', archivePortalName: 'demo-portal' },
  };
  await writeFile(cdkJson, JSON.stringify({ context: { environments: { local } } }));
  env = {
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
    BYNDER_CLIENT_ID: bynder.clientId,
    BYNDER_CLIENT_SECRET: bynder.clientSecret,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<BufferedIo & { code: number }> {
  const io = bufferedIo({ env, cwd: dir });
  const resources = [
    '--inbox-bucket',
    stack.services.inboxBucket,
    '--archive-bucket',
    stack.services.archiveBucket,
    '--ledger-table',
    stack.services.ledgerTable,
    '--export-ledger-table',
    stack.services.exportLedgerTable,
  ];
  const code = await runCli(['--env', 'local', '--config', cdkJson, ...resources, ...argv], io);
  return { ...io, code };
}

describe('export --connector bynder', () => {
  it('exports every live asset version with a summary, records the deleted asset, and plans nothing on an unchanged run', async () => {
    const first = await cli(['export', '--connector', 'bynder', '--json']);
    expect(first.stderrText()).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    // Seed: 2 + 1 + 3 + 1 live versions; the old logo is deleted.
    expect(JSON.parse(first.stdoutText())).toMatchObject({ connector: 'bynder', versionsExported: 7, deletedAssets: 1, failed: [] });

    const second = await cli(['export', '--connector', 'bynder']);
    expect(second.code).toBe(0);
    expect(second.stdoutText()).toContain('(Bynder) finished');
    expect(second.stdoutText()).toMatch(/versions exported\s+0 of 0 planned/);
  });

  it('--binder is refused with --connector bynder, and the connector name is checked', async () => {
    const withBinder = await cli(['export', '--connector', 'bynder', '--binder', 'B1']);
    expect(withBinder.code).toBe(2);
    expect(withBinder.stderrText()).toContain('--binder is for iBinder');
    const unknown = await cli(['export', '--connector', 'dropbox']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderrText()).toContain('ibinder and bynder');
  });
});
