/**
 * The operator CLI end to end, in-process through runCli: against the iBinder emulator, the
 * local S3 server and the local DynamoDB server, with the real ingest run in between (so that
 * `status` and `reingest` meet ledger entries and rejected objects the ingest itself wrote).
 * The environment comes from a cdk.json written for the test, exactly as an operator's would.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SEED_IDS } from '../../emulator/index.js';
import { runCli } from '../../cli/run.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { ExportRunStore } from '../../shared/export/run-store.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import { bufferedIo as captureIo, type BufferedIo as CapturedIo } from '../../cli/io.js';

const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;
const RIVERSIDE = DEFAULT_SEED_IDS.riversideHousing;

let stack: LocalStack;
let dir: string;
let cdkJson: string;
let baseEnv: NodeJS.ProcessEnv;
let resourceFlags: string[];

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
  cdkJson = join(dir, 'cdk.json');
  const environment = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: stack.services.emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
    routingRules: [
      {
        prefix: 'inbox/scanner/',
        target: { binderId: HARBOUR.binderId, folderPath: '02 Structural/Calculations', metadata: { discipline: 'STR' } },
      },
    ],
    export: { binders: [HARBOUR.binderId] },
  };
  await writeFile(cdkJson, JSON.stringify({ context: { environments: { local: environment, other: environment } } }));
  const { emulator, s3, dynamodb } = stack.services;
  baseEnv = {
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    // cdk.json requires https URLs; the variables point the CLI at the emulator, as an operator would.
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
  resourceFlags = [
    '--inbox-bucket',
    stack.services.inboxBucket,
    '--archive-bucket',
    stack.services.archiveBucket,
    '--ledger-table',
    stack.services.ledgerTable,
    '--export-ledger-table',
    stack.services.exportLedgerTable,
  ];
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs one command line against the local environment; returns the exit code and the output. */
async function cli(argv: string[], options: { env?: NodeJS.ProcessEnv; withEnv?: boolean } = {}): Promise<CapturedIo & { code: number }> {
  const io = captureIo({ env: options.env ?? baseEnv, cwd: dir });
  const prefix = options.withEnv === false ? [] : ['--env', 'local', '--config', cdkJson];
  const code = await runCli([...prefix, ...argv], io);
  return { ...io, code };
}

/** The words a POSIX shell makes of a command line, as a pasted hint would be split. */
function shellWords(commandLine: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\0' ${commandLine}`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);
}

function json<T = Record<string, unknown>>(run: CapturedIo): T {
  return JSON.parse(run.stdoutText()) as T;
}

describe('discovery: binders, folders, schema', () => {
  it("binders lists the tenant's binders as a table, and as JSON with --json", async () => {
    const human = await cli(['binders']);
    expect(human.code).toBe(0);
    expect(human.stdoutText()).toMatch(/^ID\s+NAME/m);
    expect(human.stdoutText()).toContain(`${HARBOUR.binderId}  Harbour Office Building`);
    // The emulator's URLs come from the variables, which the person is told about.
    expect(human.stderrText()).toContain('note: IBINDER_API_URL overrides the API URL of environment "local"');

    const machine = await cli(['binders', '--json']);
    expect(machine.stderrText()).toBe('');
    expect(machine.code).toBe(0);
    expect(
      json<{ binders: { id: string }[] }>(machine)
        .binders.map((b) => b.id)
        .sort(),
    ).toEqual([HARBOUR.binderId, RIVERSIDE.binderId]);
  });

  it('folders shows every folder with its id and the exact ibinder:folder-path value, and flags paths a tag cannot hold', async () => {
    const run = await cli(['folders', RIVERSIDE.binderId, '--json']);
    expect(run.code).toBe(0);
    const { folders } = json<{ folders: { id: string; path: string; depth: number; pathUsableAsTag: boolean; pathNote?: string }[] }>(run);
    expect(folders.find((f) => f.path === '02 Site/Inspections/2024')).toMatchObject({
      id: RIVERSIDE.folders.siteInspections2024,
      depth: 2,
      pathUsableAsTag: true,
    });
    expect(folders.find((f) => f.id === RIVERSIDE.folders.handoverManuals)).toMatchObject({
      path: 'Handover/O&M manuals',
      pathUsableAsTag: false,
    });
    expect(folders.find((f) => f.id === RIVERSIDE.folders.handoverManuals)?.pathNote).toContain('"&"');
    expect(folders).toHaveLength(Object.keys(RIVERSIDE.folders).length);

    const human = await cli(['folders', HARBOUR.binderId, '--depth', '0']);
    expect(human.code).toBe(0);
    expect(human.stdoutText()).toContain(`01 Architecture  ${HARBOUR.folders.architecture}`);
    expect(human.stdoutText()).not.toContain('Floor plans');
  });

  it('schema shows the elements, the required one and the allowed values with ids and labels', async () => {
    const run = await cli(['schema', HARBOUR.binderId]);
    expect(run.code).toBe(0);
    expect(run.stdoutText()).toMatch(/ibinder:meta:discipline\s+Discipline \(List\)\s+REQUIRED/);
    expect(run.stdoutText()).toMatch(/STR\s+Structural/);

    const machine = json<{ required: string[]; elements: { id: string; tagKey: string }[] }>(
      await cli(['schema', HARBOUR.binderId, '--json']),
    );
    expect(machine.required).toEqual(['discipline']);
    expect(machine.elements.map((e) => e.tagKey)).toContain('ibinder:meta:status');
  });

  it('an unknown binder is a usage error that lists the binder ids the tenant can see', async () => {
    for (const command of ['folders', 'schema']) {
      const run = await cli([command, 'NOSUCHBND']);
      expect(run.code).toBe(2);
      expect(run.stdoutText()).toBe('');
      expect(run.stderrText()).toContain('unknown binder "NOSUCHBND"');
      expect(run.stderrText()).toContain(`${HARBOUR.binderId} (Harbour Office Building)`);
      expect(run.stderrText()).toContain(RIVERSIDE.binderId);
    }
  });
});

describe('check', () => {
  let localFile: string;
  beforeAll(async () => {
    localFile = join(dir, 'S-CALC-002 Piles.pdf');
    await writeFile(localFile, '%PDF-1.4 pile calculation\n');
  });

  it('accepts a local file whose tags are right, naming the resolved folder and the metadata ids', async () => {
    const run = await cli([
      'check',
      localFile,
      '--tag',
      `ibinder:binder=${HARBOUR.binderId}`,
      '--tag',
      'ibinder:folder-path=01 Architecture/Drawings',
      '--tag',
      'ibinder:meta:discipline=Architecture',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdoutText()).toContain('ACCEPTED');
    expect(run.stdoutText()).toContain(`01 Architecture/Drawings (id ${HARBOUR.folders.architectureDrawings})`);
    expect(run.stdoutText()).toContain('discipline=ARC');
  });

  it('rejects with every problem and its fix, in both output modes, with exit code 1', async () => {
    const args = [
      'check',
      localFile,
      '--tag',
      `ibinder:binder=${HARBOUR.binderId}`,
      '--tag',
      'ibinder:folder-path=01 Architecture/Drawingz',
      '--tag',
      'ibinder:meta:status=Maybe',
      '--tag',
      'IBinder:version=A',
    ];
    const human = await cli(args);
    expect(human.code).toBe(1);
    const text = human.stdoutText();
    expect(text).toContain('REJECTED');
    expect(text).toContain('there is no folder "Drawingz" in "01 Architecture"');
    expect(text).toContain('"Maybe" is not an allowed value of "Status"');
    expect(text).toContain('"Discipline" (discipline) is required');
    expect(text).toContain('tag keys are case-sensitive');
    expect(text.match(/fix: /g)).toHaveLength(4);

    const machine = await cli([...args, '--json']);
    expect(machine.code).toBe(1);
    const result = json<{ accepted: boolean; problems: { field: string; fix: string }[] }>(machine);
    expect(result.accepted).toBe(false);
    expect(result.problems.map((p) => p.field).sort()).toEqual(
      ['IBinder:version', 'ibinder:folder-path', 'ibinder:meta:discipline', 'ibinder:meta:status'].sort(),
    );
    expect(result.problems.every((p) => p.fix.length > 0)).toBe(true);
  });

  it("applies the environment's routing rule to the key a local file would get", async () => {
    const run = await cli(['check', localFile, '--key', 'inbox/scanner/piles.pdf', '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({
      accepted: true,
      target: {
        binderId: HARBOUR.binderId,
        folderId: HARBOUR.folders.structuralCalculations,
        source: { kind: 'rule', prefix: 'inbox/scanner/' },
      },
      metadata: [{ metadataElementId: 'discipline', value: 'STR' }],
    });
    const untagged = await cli(['check', localFile, '--key', 'inbox/elsewhere/piles.pdf']);
    expect(untagged.code).toBe(1);
    expect(untagged.stdoutText()).toContain('no routing rule or default target of this environment covers');
  });

  it('an unknown binder in the tags is a rejection that lists the binders', async () => {
    const run = await cli(['check', localFile, '--tag', 'ibinder:binder=NOSUCHBND', '--tag', 'ibinder:folder-path=Anything']);
    expect(run.code).toBe(1);
    expect(run.stdoutText()).toContain('binder "NOSUCHBND" does not exist');
    expect(run.stdoutText()).toContain(`binders this tenant can see: ${HARBOUR.binderId} (Harbour Office Building)`);
  });

  it('checks an S3 object with its own tags, and a tag change without writing it', async () => {
    const key = 'inbox/check/A-102 First floor.pdf';
    await stack.putInboxObject(key, 'first floor', {
      'ibinder:binder': HARBOUR.binderId,
      'ibinder:folder': HARBOUR.folders.floorPlans,
      'ibinder:meta:discipline': 'HVAC ',
    });
    const url = `s3://${stack.services.inboxBucket}/${key}`;
    const accepted = await cli(['check', url, '--json']);
    expect(accepted.code).toBe(0);
    expect(json(accepted)).toMatchObject({
      accepted: true,
      fileName: 'A-102 First floor.pdf',
      target: { folderId: HARBOUR.folders.floorPlans },
    });

    const changed = await cli(['check', url, '--tag', 'ibinder:meta:discipline=', '--json']);
    expect(changed.code).toBe(1);
    expect(json<{ problems: { field: string }[] }>(changed).problems.map((p) => p.field)).toEqual(['ibinder:meta:discipline']);
    const tags = await stack.services.s3.client.send(new GetObjectTaggingCommand({ Bucket: stack.services.inboxBucket, Key: key }));
    expect(tags.TagSet?.find((t) => t.Key === 'ibinder:meta:discipline')?.Value).toBe('HVAC ');
  });

  it('says what is wrong with a bad S3 URL, a missing object and a missing file (exit code 2)', async () => {
    const badUrl = await cli(['check', 's3://Not_A_Bucket/key.pdf']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderrText()).toContain('does not start with a valid bucket name');
    expect(badUrl.stderrText()).toContain('hint: give the object as s3://');

    const noKey = await cli(['check', `s3://${stack.services.inboxBucket}/`]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderrText()).toContain('names no object key');

    const missing = await cli(['check', `s3://${stack.services.inboxBucket}/inbox/nothing-here.pdf`]);
    expect(missing.code).toBe(2);
    expect(missing.stderrText()).toContain('no object at');

    const noFile = await cli(['check', './no-such-file.pdf', '--json']);
    expect(noFile.code).toBe(2);
    expect(JSON.parse(noFile.stderrText())).toMatchObject({ error: { type: 'UsageError', exitCode: 2 } });
  });
});

describe('status and reingest, after the real ingest ran', () => {
  it('status shows a committed object with its document and version ids', async () => {
    const key = 'inbox/status/Contract signed.pdf';
    const { versionId } = await stack.putInboxObject(key, 'signed contract', {
      'ibinder:binder': HARBOUR.binderId,
      'ibinder:folder-path': 'Contracts/Signed',
      'ibinder:meta:discipline': 'ARC',
    });
    await stack.drainIngest();

    const run = await cli(['status', `${stack.services.inboxBucket}/${key}`, ...resourceFlags, '--json']);
    expect(run.code).toBe(0);
    const { entries } = json<{ entries: Array<Record<string, unknown>> }>(run);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      state: 'committed',
      objectVersionId: versionId,
      connector: 'ibinder',
      target: { binderId: HARBOUR.binderId, folderId: HARBOUR.folders.contractsSigned },
    });
    const documentId = (entries[0]?.versionIds as Record<string, string> | undefined)?.documentId ?? '';
    expect(stack.services.emulator.state.getDocument(documentId)?.fileName).toBe('Contract signed.pdf');

    const human = await cli(['status', `s3://${stack.services.inboxBucket}/${key}`, '--version-id', versionId ?? 'null', ...resourceFlags]);
    expect(human.code).toBe(0);
    expect(human.stdoutText()).toContain(`documentId ${documentId}`);
    expect(human.stdoutText()).toContain('state     committed');
  });

  it('status shows an upload in progress: the lease holder, until when, and the stored upload', async () => {
    const ref = { bucket: stack.services.inboxBucket, key: 'inbox/in-progress/big.dwg', versionId: 'v-in-progress' };
    const ledger = new IngestLedger({
      client: stack.services.dynamodb.documentClient,
      tableName: stack.services.ledgerTable,
      leaseSeconds: 900,
    });
    const claim = await ledger.claim(ref, 'message-1');
    if (claim.outcome !== 'claimed') throw new Error(`expected to claim ${ref.key}, got ${claim.outcome}`);
    await ledger.markTransferred(ref, claim.lease, {
      uploadId: 'upload-123',
      plan: {
        connector: 'ibinder',
        fileName: 'big.dwg',
        target: { binderId: HARBOUR.binderId, folderId: HARBOUR.folders.contractsSigned },
        metadata: [],
      },
    });

    const run = await cli(['status', `${ref.bucket}/${ref.key}`, ...resourceFlags]);
    expect(run.code).toBe(0);
    expect(run.stdoutText()).toContain('claimed (being ingested) by message message-1, attempt 1');
    expect(run.stdoutText()).toContain('live: another consumer waits for it');
    expect(run.stdoutText()).toContain('upload-123, bytes transferred: a retry only commits');
  });

  it('status of an unknown object says the ledger has no entry (exit code 1); a bad location is a usage error', async () => {
    const none = await cli(['status', `${stack.services.inboxBucket}/inbox/never-seen.pdf`, ...resourceFlags]);
    expect(none.code).toBe(1);
    expect(none.stdoutText()).toContain('has no entry');
    const bad = await cli(['status', 'just-a-key.pdf', ...resourceFlags]);
    expect(bad.code).toBe(2);
    expect(bad.stderrText()).toContain('names no object key');
  });

  it('status shows a rejection with its reasons; reingest refuses until the tags are fixed, then sends it through again', async () => {
    const key = 'inbox/fix-me/Sections.pdf';
    const { bucket } = { bucket: stack.services.inboxBucket };
    await stack.putInboxObject(key, 'sections drawing', {
      'ibinder:binder': HARBOUR.binderId,
      'ibinder:folder-path': '01 Architecture/Drawings',
    });
    await stack.drainIngest();

    const rejected = await cli(['status', `${bucket}/${key}`, ...resourceFlags]);
    expect(rejected.code).toBe(0);
    expect(rejected.stdoutText()).toContain('state     rejected');
    expect(rejected.stdoutText()).toContain('"Discipline" (discipline) is required');
    expect(rejected.stdoutText()).toContain(`After fixing: ibinder-pipeline --env local --config ${cdkJson} `);
    expect(rejected.stdoutText()).toContain(`reingest s3://${bucket}/rejected/fix-me/Sections.pdf`);

    const refused = await cli(['reingest', 'rejected/fix-me/Sections.pdf', ...resourceFlags]);
    expect(refused.code).toBe(1);
    expect(refused.stdoutText()).toContain('Not reingested');
    await expect(stack.services.s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toThrow();

    const done = await cli(['reingest', 'fix-me/Sections.pdf', '--tag', 'ibinder:meta:discipline=ARC', ...resourceFlags, '--json']);
    expect(done.code).toBe(0);
    expect(json(done)).toMatchObject({ reingested: true, inboxKey: key, rejectedKey: 'rejected/fix-me/Sections.pdf' });
    const listed = await stack.services.s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'rejected/fix-me/' }));
    expect(listed.Contents ?? []).toEqual([]);
    const copiedTags = await stack.services.s3.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    expect(copiedTags.TagSet).toEqual(expect.arrayContaining([{ Key: 'ibinder:meta:discipline', Value: 'ARC' }]));

    await stack.drainIngest();
    const after = json<{ entries: Array<{ state: string }> }>(await cli(['status', `${bucket}/${key}`, ...resourceFlags, '--json']));
    expect(after.entries.map((e) => e.state).sort()).toEqual(['committed', 'rejected']);
  });

  it('hints are pasteable: a key with spaces and a quote is shell-quoted, and the pasted command runs', async () => {
    const key = "inbox/fix me/O'Brien ground floor.pdf";
    const bucket = stack.services.inboxBucket;
    await stack.putInboxObject(key, 'plan', { 'ibinder:binder': HARBOUR.binderId, 'ibinder:folder-path': '01 Architecture/Drawings' });
    await stack.drainIngest();

    const status = await cli(['status', `${bucket}/${key}`, ...resourceFlags]);
    const reingestHint = /After fixing: (.+)$/m.exec(status.stdoutText())?.[1] ?? '';
    expect(reingestHint).toContain(`reingest 's3://${bucket}/rejected/fix me/O'\\''Brien ground floor.pdf'`);

    // The hint as a shell reads it, plus the fix and --dry-run: checks and changes nothing.
    const words = shellWords(reingestHint);
    expect(words[0]).toBe('ibinder-pipeline');
    const dryRun = await cli([...words.slice(1), '--tag', 'ibinder:meta:discipline=ARC', '--dry-run'], { withEnv: false });
    expect(dryRun.stderrText()).not.toContain('error');
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdoutText()).toContain('Dry run: nothing was changed');
    expect(dryRun.stdoutText()).toContain(
      `copy s3://${bucket}/rejected/fix me/O'Brien ground floor.pdf to s3://${bucket}/${key} (the check accepts it)`,
    );
    await expect(stack.services.s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).rejects.toThrow();
    const stillRejected = await stack.services.s3.client.send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: `rejected/fix me/O'Brien ground floor.pdf` }),
    );
    expect(stillRejected.TagSet?.some((t) => t.Key === 'ibinder:meta:discipline')).toBe(false);

    const done = await cli([...words.slice(1), '--tag', 'ibinder:meta:discipline=ARC']);
    expect(done.code).toBe(0);
    const statusHint = /Follow it with: (.+)$/m.exec(done.stdoutText())?.[1] ?? '';
    expect(statusHint).toContain(`status '${bucket}/inbox/fix me/O'\\''Brien ground floor.pdf'`);
    const followed = await cli([...shellWords(statusHint).slice(1), '--json'], { withEnv: false });
    expect(json<{ object: { key: string } }>(followed).object.key).toBe(key);
  });

  it('an object not processed yet gets the pasteable check command', async () => {
    const key = 'inbox/waiting room/Plan B.pdf';
    await stack.putInboxObject(key, 'plan', { 'ibinder:binder': HARBOUR.binderId });
    const status = await cli(['status', `${stack.services.inboxBucket}/${key}`, ...resourceFlags]);
    expect(status.code).toBe(1);
    const hint = /see what the ingest would say: (.+)$/m.exec(status.stdoutText())?.[1] ?? '';
    expect(hint).toMatch(/ check 's3:\/\/[^']+\/inbox\/waiting room\/Plan B\.pdf'$/);
    const checked = await cli([...shellWords(hint).slice(1), '--json'], { withEnv: false });
    expect(json<{ inboxKey: string }>(checked).inboxKey).toBe(key);
    // Leave the inbox as the other tests expect it.
    await stack.drainIngest();
  });

  it('reingest of a key with no rejected object says so', async () => {
    const run = await cli(['reingest', 'rejected/nothing/here.pdf', ...resourceFlags]);
    expect(run.code).toBe(2);
    expect(run.stderrText()).toContain(`there is no rejected object at s3://${stack.services.inboxBucket}/rejected/nothing/here.pdf`);
  });
});

describe('export', () => {
  it('runs an export of one binder in-process and prints a summary; a second run exports nothing', async () => {
    const first = await cli(['export', '--binder', RIVERSIDE.binderId, ...resourceFlags]);
    expect(first.stderrText()).toMatch(new RegExp(`^Export run \\S+: exporting binder\\(s\\) ${RIVERSIDE.binderId} `, 'm'));
    expect(first.code).toBe(0);
    const text = first.stdoutText();
    expect(text).toMatch(/Export run \S+ finished in/);
    const exported = Number(/versions exported\s+(\d+)/.exec(text)?.[1]);
    expect(exported).toBeGreaterThan(0);
    const manifestKey = /manifest\s+s3:\/\/[^/]+\/(\S+)/.exec(text)?.[1] ?? '';
    const manifest = await stack.services.s3.client.send(new GetObjectCommand({ Bucket: stack.services.archiveBucket, Key: manifestKey }));
    expect(await manifest.Body?.transformToString()).toContain('"type":"run"');
    const archived = await stack.services.s3.client.send(
      new ListObjectsV2Command({
        Bucket: stack.services.archiveBucket,
        Prefix: `${stack.services.emulator.tenantId}/${RIVERSIDE.binderId}/`,
      }),
    );
    expect((archived.Contents ?? []).filter((o) => !o.Key?.endsWith('.metadata.json'))).toHaveLength(exported);

    const second = await cli(['export', '--binder', RIVERSIDE.binderId, ...resourceFlags, '--json']);
    expect(second.code).toBe(0);
    expect(json(second)).toMatchObject({ versionsExported: 0, failed: [] });
    expect(second.stderrText()).toBe('');
  });

  it('draws the progress bar on stderr at a terminal, and never with --json', async () => {
    const flags = ['--env', 'local', '--config', cdkJson, 'export', '--binder', HARBOUR.binderId, ...resourceFlags];
    const terminal = captureIo({ env: baseEnv, cwd: dir, tty: true });
    expect(await runCli(flags, terminal)).toBe(0);
    expect(terminal.stderrText()).toMatch(
      /exporting \[[^\]]*\] (\d+)\/\1 versions \| [\d.]+ (B|KiB|MiB) \| [\d.]+ (B|KiB|MiB)\/s \| [\d.]+ s left/,
    );
    // Time left is estimated from the start: never cli-progress's "INF".
    expect(terminal.stderrText()).not.toContain('INF');
    expect(terminal.stdoutText()).toMatch(/Export run \S+ finished/);
    expect(terminal.stdoutText()).not.toContain('exporting [');

    const scripted = captureIo({ env: baseEnv, cwd: dir, tty: true });
    expect(await runCli([...flags, '--json'], scripted)).toBe(0);
    expect(scripted.stderrText()).not.toContain('exporting [');
    expect(JSON.parse(scripted.stdoutText())).toMatchObject({ versionsExported: 0 });
  });

  it('--dry-run says which run it would be, and starts nothing', async () => {
    const run = await cli(['export', '--dry-run', '--binder', HARBOUR.binderId, ...resourceFlags]);
    expect(run.code).toBe(0);
    expect(run.stdoutText()).toContain(
      `Dry run: nothing was started. Without --dry-run this would export binder(s) ${HARBOUR.binderId} in this process`,
    );
    const runId = /as run (\S+), into s3:\/\/(\S+),/.exec(run.stdoutText())?.[1] ?? '';
    expect(runId).not.toBe('');
    const runs = new ExportRunStore(stack.services.dynamodb.documentClient, stack.services.exportLedgerTable);
    expect(await runs.get(runId)).toBeUndefined();
  });

  it('Ctrl-C while planning prints the run id and the command that resumes it', async () => {
    stack.services.emulator.faults.add({ route: 'POST /documents', latencyMs: 1_000, times: 1 });
    const io = captureIo({ env: baseEnv, cwd: dir });
    const running = runCli(['--env', 'local', '--config', cdkJson, 'export', '--binder', RIVERSIDE.binderId, ...resourceFlags], io);
    await vi.waitFor(() => expect(io.stderrText()).toContain('Export run '), { timeout: 10_000, interval: 20 });
    expect(await io.interrupt()).toBe(true);
    // In a real process the handler ends it (exit code 130); in-process the run goes on to its end.
    await running;
    const runId = /^Export run (\S+): exporting/m.exec(io.stderrText())?.[1];
    expect(io.stderrText()).toContain(`Interrupted: export run ${runId} stopped while planning.`);
    expect(io.stderrText()).toContain(`Resume it with: ibinder-pipeline --env local --config ${cdkJson} `);
    expect(io.stderrText()).toMatch(new RegExp(`Resume it with: .* export --run-id ${runId}$`, 'm'));
  });

  it('--endpoint-url sends every AWS call to one endpoint, and an endpoint that does not answer is named', async () => {
    const run = await cli([
      '--endpoint-url',
      'http://127.0.0.1:9',
      'status',
      `${stack.services.inboxBucket}/inbox/x.pdf`,
      ...resourceFlags,
    ]);
    expect(run.code).toBe(3);
    expect(run.stderrText()).toContain('error: could not reach Amazon DynamoDB at http://127.0.0.1:9 (Query: ECONNREFUSED');
    expect(run.stderrText()).toContain('is the local server running? check --endpoint-url');
  });

  it('refuses an unknown binder and a bad --since before anything runs', async () => {
    const unknown = await cli(['export', '--binder', 'NOSUCHBND', ...resourceFlags]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderrText()).toContain(`use one of the binders this tenant can see: ${HARBOUR.binderId}`);
    const since = await cli(['export', '--since', 'yesterday', ...resourceFlags]);
    expect(since.code).toBe(2);
    expect(since.stderrText()).toContain('expected an ISO 8601 date');
  });
});

describe('environment, credentials and resource names', () => {
  it('an unknown environment lists the known ones', async () => {
    const io = captureIo({ env: baseEnv, cwd: dir });
    const code = await runCli(['--env', 'prdo', '--config', cdkJson, 'binders'], io);
    expect(code).toBe(2);
    expect(io.stderrText()).toContain('unknown environment "prdo"');
    expect(io.stderrText()).toContain('pass --env with one of: local, other');
  });

  it('missing credentials name the variables (no environment) or the secret (with one)', async () => {
    const { IBINDER_CLIENT_ID: _id, IBINDER_CLIENT_SECRET: _secret, ...withoutCredentials } = baseEnv;
    const noEnv = await cli(['binders'], { env: { ...withoutCredentials, IBINDER_ORG_ID: 'x' }, withEnv: false });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderrText()).toContain('set IBINDER_CLIENT_ID and IBINDER_CLIENT_SECRET');

    const halfSet = await cli(['binders'], { env: { ...withoutCredentials, IBINDER_CLIENT_ID: 'someone' } });
    expect(halfSet.code).toBe(2);
    expect(halfSet.stderrText()).toContain('IBINDER_CLIENT_SECRET is not set');

    // With an environment, the secret is read from Secrets Manager; here there is none to reach.
    const secretEnv = { ...withoutCredentials, AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9' };
    const noSecret = await cli(['binders'], { env: secretEnv });
    expect(noSecret.code).toBe(3);
    expect(noSecret.stderrText()).toContain('no iBinder credentials for environment "local"');
    expect(noSecret.stderrText()).toContain('ibinder-pipeline/local/ibinder-client');
    // The service that could not be reached, where, and which call: not a bare "connect ECONNREFUSED".
    expect(noSecret.stderrText()).toContain('could not reach AWS Secrets Manager at http://127.0.0.1:9 (GetSecretValue: ECONNREFUSED');
    expect(noSecret.stderrText()).toContain('AWS_ENDPOINT_URL_SECRETS_MANAGER');
    expect(noSecret.stderrText()).not.toMatch(/error: Error:/);
  });

  it("a secret that cannot be read is explained in the operator's terms, not the deployed function's", async () => {
    const { IBINDER_CLIENT_ID: _id, IBINDER_CLIENT_SECRET: _secret, ...withoutCredentials } = baseEnv;
    const secretsManager = new SecretsManagerClient({ region: 'eu-west-1' });
    mockClient(secretsManager)
      .on(GetSecretValueCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform secretsmanager:GetSecretValue'), {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        }),
      );
    const io = captureIo({ env: withoutCredentials, cwd: dir });
    expect(await runCli(['--env', 'local', '--config', cdkJson, 'binders'], io, { secretsManager })).toBe(2);
    expect(io.stderrText()).toContain('could not read Secrets Manager secret "ibinder-pipeline/local/ibinder-client"');
    expect(io.stderrText()).toContain('AccessDeniedException');
    expect(io.stderrText()).toContain('make sure your AWS credentials may read secret');
    expect(io.stderrText()).not.toMatch(/function's role|Lambda/);
  });

  it('wrong credentials are a configuration error that never echoes the secret', async () => {
    // Another client id: the process-wide token cache holds a token for the right one.
    const run = await cli(['binders'], {
      env: { ...baseEnv, IBINDER_CLIENT_ID: 'not-a-client', IBINDER_CLIENT_SECRET: 'wrong-secret-value' },
    });
    expect(run.code).toBe(2);
    expect(run.stderrText()).toContain('iBinder refused the credentials');
    expect(run.stderrText()).not.toContain('wrong-secret-value');
  });

  it('without an environment, a resource name must be given as a flag', async () => {
    const run = await cli(['status', `${stack.services.inboxBucket}/inbox/a.pdf`], { withEnv: false });
    expect(run.code).toBe(2);
    expect(run.stderrText()).toContain('the ingest ledger table is not known');
    expect(run.stderrText()).toContain('pass --ledger-table <value>');
  });

  it("reads resource names from the environment's stack outputs when no flag gives them", async () => {
    const cloudFormation = new CloudFormationClient({ region: 'us-east-1' });
    const mock = mockClient(cloudFormation);
    mock.on(DescribeStacksCommand, { StackName: 'IbinderPipeline-local' }).resolves({
      Stacks: [
        {
          StackName: 'IbinderPipeline-local',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [{ OutputKey: 'LedgerTableName', OutputValue: stack.services.ledgerTable }],
        },
      ],
    });
    const io = captureIo({ env: baseEnv, cwd: dir });
    const code = await runCli(['--env', 'local', '--config', cdkJson, 'status', `${stack.services.inboxBucket}/inbox/never.pdf`], io, {
      cloudFormation,
    });
    expect(io.stderrText()).toBe('');
    expect(code).toBe(1);
    expect(io.stdoutText()).toContain(`the ingest ledger (${stack.services.ledgerTable}) has no entry`);

    mock
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id IbinderPipeline-other does not exist'), { name: 'ValidationError' }));
    const missing = captureIo({ env: baseEnv, cwd: dir });
    expect(
      await runCli(['--env', 'other', '--config', cdkJson, 'status', `${stack.services.inboxBucket}/inbox/x.pdf`], missing, {
        cloudFormation,
      }),
    ).toBe(2);
    expect(missing.stderrText()).toContain('stack IbinderPipeline-other in us-east-1 does not exist');
    expect(missing.stderrText()).toContain('npx cdk deploy -c env=other');
  });
});
