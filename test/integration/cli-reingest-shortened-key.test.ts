/**
 * `reingest` of an object rejected under a key the ingest shortened to fit S3's 1,024-byte
 * limit: the CLI takes the original inbox key from the rejection report and copies the object
 * back under it, so that the key the producer uploaded (and its routing) is what the ingest sees
 * again. Real ingest, real CLI, local S3 and DynamoDB, the emulator.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';
import { isShortenedRejectedKey, rejectedKeyFor, reportKeyFor } from '../../functions/ingest/rejection.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { sampleBytes, validTags } from '../helpers/ingest-scenarios.js';

let stack: LocalStack;
let dir: string;
let cdkJson: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(join(tmpdir(), 'cli-reingest-'));
  cdkJson = join(dir, 'cdk.json');
  const environment = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: stack.services.emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
  };
  await writeFile(cdkJson, JSON.stringify({ context: { environments: { local: environment } } }));
  const { emulator, s3, dynamodb } = stack.services;
  env = {
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
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

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = bufferedIo({ env, cwd: dir });
  const code = await runCli(['--env', 'local', '--config', cdkJson, ...argv, '--inbox-bucket', stack.services.inboxBucket, '--json'], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('reingest of a rejected object under a shortened key', () => {
  it('copies it back under the original inbox key from the report', async () => {
    // A valid inbox key of about 1,020 bytes: rejected/<rest>.error.json would pass S3's limit.
    const folder = `inbox/cli-reingest/long-key/${'Prosjektering '.repeat(30).trim()}`;
    const key = `${folder}/${'ø'.repeat(Math.floor((1020 - folder.length - '/.pdf'.length) / 2))}.pdf`;
    await stack.putInboxObject(key, sampleBytes('long key, reingested'), validTags({ 'ibinder:meta:discipline': 'PLUMBING' }));
    await stack.drainIngest();
    const copyKey = rejectedKeyFor(key, stack.config.inboxPrefix, stack.config.rejectedPrefix);
    expect(isShortenedRejectedKey(copyKey)).toBe(true);
    const rejected = await stack.services.s3.client.send(new HeadObjectCommand({ Bucket: stack.services.inboxBucket, Key: copyKey }));
    expect(rejected.ContentLength).toBe(4096);

    const run = await cli(['reingest', copyKey, '--skip-check']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      reingested: true,
      rejectedKey: copyKey,
      reportKey: reportKeyFor(copyKey),
      inboxKey: key,
    });
    const back = await stack.services.s3.client.send(new HeadObjectCommand({ Bucket: stack.services.inboxBucket, Key: key }));
    expect(back.ContentLength).toBe(4096);
  });
});
