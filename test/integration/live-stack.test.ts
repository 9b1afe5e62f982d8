/**
 * `npm run local`: the local stack as a long-running service. What a person does with it is
 * what is tested: paste the printed `export` lines into a shell, upload with tags through the
 * S3 API as the AWS CLI would, see the file committed in iBinder, and run operator CLI commands
 * (`status`, `redrive`) against it through the variables and the printed resource flags only.
 */
import { execFileSync, spawn } from 'node:child_process';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';
import { DEFAULT_SEED_IDS } from '../../emulator/seed.js';
import { startLiveStack, type LiveStack } from '../../local/live-stack.js';
import { DEFAULT_LIVE_PORTS, livePortsFrom, LivePortError } from '../../local/live-ports.js';

const FREE_PORTS = { emulator: 0, s3: 0, dynamodb: 0, sqs: 0 };
const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;

/** Pastes the lines into a POSIX shell and returns the variables they set, as the shell sees them. */
function pasteIntoShell(lines: readonly string[]): Record<string, string> {
  const out = execFileSync('sh', ['-c', `${lines.join('\n')}\nenv`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const vars: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the live local stack (npm run local)', () => {
  let stack: LiveStack;
  let env: Record<string, string>;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await startLiveStack({ ports: FREE_PORTS, log: (line) => lines.push(line) });
    env = pasteIntoShell(stack.shellExports());
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const cli = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const io = bufferedIo({ env });
    const code = await runCli([...stack.cliResourceFlags(), ...argv], io);
    return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
  };

  it('prints export lines that set every variable the AWS tools and the operator CLI read, pointing at its own servers', () => {
    expect(stack.shellExports().every((l) => l.startsWith('export '))).toBe(true);
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL_S3: stack.services.s3.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: stack.services.dynamodb.endpoint,
      AWS_ENDPOINT_URL_SQS: stack.sqs.endpoint,
      IBINDER_API_URL: stack.services.emulator.apiBaseUrl,
      IBINDER_CLIENT_SECRET: stack.services.emulator.clientSecret,
    });
    for (const url of [env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL_DYNAMODB, env.AWS_ENDPOINT_URL_SQS])
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const alias = pasteIntoShell([stack.cliAlias(), 'LOCAL_ALIAS=$(alias ibinder-pipeline-local)', 'export LOCAL_ALIAS']).LOCAL_ALIAS;
    expect(alias).toContain(`--dlq-url ${stack.queueUrls.ingestDlq}`);
  });

  it('ingests a tagged file put through the S3 API, and the CLI reads its ledger entry; redrive moves a dead letter back over the SQS endpoint', async () => {
    const s3 = new S3Client({
      region: env.AWS_REGION,
      endpoint: env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    });
    const key = 'inbox/live/A-110 Roof plan.pdf';
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.services.inboxBucket,
        Key: key,
        Body: '%PDF-1.4 roof plan',
        Tagging: `ibinder:binder=${HARBOUR.binderId}&ibinder:folder-path=${encodeURIComponent('01 Architecture/Drawings')}&ibinder:meta:discipline=ARC`,
      }),
    );
    s3.destroy();
    const document = await waitFor('the document in the emulator', () =>
      stack.services.emulator.state.listDocuments().find((d) => d.fileName === 'A-110 Roof plan.pdf'),
    );
    expect(stack.services.emulator.state.listVersions(document.id)).toHaveLength(1);

    const status = await cli(['--json', 'status', `${stack.services.inboxBucket}/${key}`]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('committed');
    expect(status.stdout).toContain(document.id);

    // The same event, now in the dead-letter queue (as after an outage), moved back by redrive.
    const sqs = new SQSClient({
      region: env.AWS_REGION,
      endpoint: env.AWS_ENDPOINT_URL_SQS,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    await sqs.send(
      new SendMessageCommand({ QueueUrl: stack.queueUrls.ingestDlq, MessageBody: stack.notifications.lastFor(key)?.body ?? '' }),
    );
    const redrive = await cli(['redrive', '--yes']);
    expect(redrive.code).toBe(0);
    const depth = async (url: string): Promise<string | undefined> =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes?.ApproximateNumberOfMessages;
    expect(await depth(stack.queueUrls.ingestDlq)).toBe('0');
    await waitFor('the redriven message to be consumed', () => (stack.queues.ingest.isEmpty() ? true : undefined));
    sqs.destroy();
    // The ledger made the redelivery a no-op: still one version.
    expect(stack.services.emulator.state.listVersions(document.id)).toHaveLength(1);
    expect(lines.some((l) => l.startsWith('ingest-local: 1 message(s), all acknowledged'))).toBe(true);
  });
});

describe('npm run local ports', () => {
  it('default to fixed ports, are changed by a flag or a variable (flag first), and refuse what is not a port', () => {
    expect(livePortsFrom({}, {})).toEqual(DEFAULT_LIVE_PORTS);
    expect(livePortsFrom({ s3: '5001' }, { LOCAL_S3_PORT: '6001', LOCAL_SQS_PORT: '6002' })).toEqual({
      ...DEFAULT_LIVE_PORTS,
      s3: 5001,
      sqs: 6002,
    });
    expect(() => livePortsFrom({ dynamodb: '70000' }, {})).toThrow(LivePortError);
    expect(() => livePortsFrom({}, { IBINDER_EMULATOR_PORT: 'abc' })).toThrow(/emulator port must be an integer.*IBINDER_EMULATOR_PORT/);
  });
});

describe('npm run local as a process', () => {
  it('prints export lines that paste into a shell, runs until SIGINT and then stops cleanly (exit 0)', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'local/run-local.ts', '--emulator-port', '0', '--s3-port', '0', '--dynamodb-port', '0', '--sqs-port', '0'],
      {
        cwd: process.cwd(),
        env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the ready line', () => (stdout.includes('Stop with Ctrl-C.') ? true : undefined), 60_000);
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`);
    }
    const exportLines = stdout.split('\n').filter((l) => l.startsWith('export '));
    const vars = pasteIntoShell(exportLines);
    expect(vars.AWS_ENDPOINT_URL_SQS).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const listed = await fetch(`${vars.AWS_ENDPOINT_URL_SQS}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
    });
    expect(((await listed.json()) as { QueueUrls: string[] }).QueueUrls).toHaveLength(4);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('SIGINT: stopping the local stack.');
    await expect(fetch(`${vars.AWS_ENDPOINT_URL_S3}/`)).rejects.toThrow();
  }, 90_000);
});
