/**
 * Allowlists end to end on the local stack: the environment comes from a cdk.json entry (a rule
 * allowing one folder subtree, nothing for prefixes without a rule), the CLI's `check` judges an
 * S3 object, and the real ingest then rejects the same object with the same problems, before any
 * byte reaches iBinder. A target inside the subtree, given by folder id, passes the check.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run.js';
import { bufferedIo } from '../../cli/io.js';
import { loadEnvironmentConfig, toPipelineConfig } from '../../infra/config.js';
import type { PipelineConfig } from '../../shared/config/runtime.js';
import type { Problem } from '../../shared/ledger/types.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import {
  documentsNamed,
  HARBOUR,
  ledgerEntry,
  purgeQueue,
  readRejection,
  resetEmulator,
  RIVERSIDE,
  ROUTE,
  sampleBytes,
} from '../helpers/ingest-scenarios.js';

const RULE_PREFIX = 'inbox/it-allow/structural/';
/** The emulator's drive-listing routes. */
const TOP_FOLDERS = 'GET /documents/drives/{domain}/{id}';
const SUB_FOLDERS = 'GET /documents/drives/{domain}/{id}/{folderId}';

let stack: LocalStack;
let dir: string;
let cdkJson: string;
let routing: Pick<PipelineConfig, 'routingRules' | 'unlistedPrefixes'>;

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(join(tmpdir(), 'allowlist-test-'));
  cdkJson = join(dir, 'cdk.json');
  const environment = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: stack.services.emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
    routingRules: [
      {
        prefix: RULE_PREFIX,
        target: { binderId: HARBOUR.binderId, folderPath: '02 Structural/Calculations', metadata: { discipline: 'STR' } },
        allow: [{ binderId: HARBOUR.binderId, folderPaths: ['02 Structural'] }],
      },
    ],
    unlistedPrefixes: 'none',
  };
  const environments = { local: environment };
  await writeFile(cdkJson, JSON.stringify({ context: { environments } }));
  // The ingest runs with the very PIPELINE_CONFIG the stack would write for this entry.
  const pipeline = toPipelineConfig(loadEnvironmentConfig(environments, 'local'), 'local');
  routing = { routingRules: pipeline.routingRules, unlistedPrefixes: pipeline.unlistedPrefixes };
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await purgeQueue(stack);
  resetEmulator(stack);
});

/** `check --json` on an S3 object of the inbox, with the environment of the test's cdk.json. */
async function check(
  key: string,
): Promise<{ code: number; result: { accepted: boolean; problems: Problem[]; target?: Record<string, unknown> } }> {
  const { emulator, s3 } = stack.services;
  const io = bufferedIo({
    env: {
      IBINDER_CLIENT_ID: emulator.clientId,
      IBINDER_CLIENT_SECRET: emulator.clientSecret,
      IBINDER_API_URL: emulator.apiBaseUrl,
      IBINDER_TOKEN_URL: emulator.tokenUrl,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    cwd: dir,
  });
  const code = await runCli(['--env', 'local', '--config', cdkJson, 'check', `s3://${stack.services.inboxBucket}/${key}`, '--json'], io);
  return { code, result: JSON.parse(io.stdoutText()) as { accepted: boolean; problems: Problem[] } };
}

/** Drains the ingest queue with the environment's routing and returns the rejection report's problems. */
async function ingestAndReadProblems(key: string): Promise<Problem[]> {
  const drain = await stack.drainIngest({ deps: stack.createIngestDeps({ config: routing }) });
  expect(drain.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
  const { report } = await readRejection(stack, key);
  if (!report) throw new Error(`no rejection report for ${key}`);
  return report.problems;
}

describe('allowlists: check and ingest give the same verdict', () => {
  it("refuses a folder outside the rule's subtree, in check and in the rejection report alike, before any upload", async () => {
    const key = `${RULE_PREFIX}P-301 Piles.pdf`;
    const { versionId } = await stack.putInboxObject(key, sampleBytes('outside the subtree'), {
      'ibinder:binder': HARBOUR.binderId,
      'ibinder:folder': HARBOUR.folders.architectureDrawings,
      'ibinder:meta:discipline': 'ARC',
    });

    const checked = await check(key);
    expect(checked.code).toBe(1);
    expect(checked.result.accepted).toBe(false);
    expect(checked.result.problems).toEqual([
      expect.objectContaining({
        code: 'not-allowed',
        field: 'ibinder:folder',
        message:
          `files under prefix "${RULE_PREFIX}" (routing rule) may not go to binder ${HARBOUR.binderId}, ` +
          `folder "01 Architecture/Drawings" (id ${HARBOUR.folders.architectureDrawings}); the rule allows binder ${HARBOUR.binderId}, folder "02 Structural" and below`,
      }),
    ]);

    const reported = await ingestAndReadProblems(key);
    expect(reported).toEqual(checked.result.problems);
    // The ledger keeps the reasons, and reads them back (status, redeliveries).
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({
      state: 'rejected',
      reasons: [{ code: 'not-allowed', field: 'ibinder:folder' }],
    });
    expect(stack.services.emulator.calls.count(ROUTE.presign)).toBe(0);
    // The folder id was looked for in the binder's listings (the subtree check needs its ancestry).
    expect(stack.services.emulator.calls.count(TOP_FOLDERS)).toBeGreaterThan(0);
    expect(documentsNamed(stack, 'P-301 Piles.pdf')).toEqual([]);
  });

  it('refuses any target for a key without a rule when the environment allows unlisted prefixes nothing', async () => {
    const key = 'inbox/it-allow/elsewhere/Site photo.jpg';
    await stack.putInboxObject(key, sampleBytes('no rule'), {
      'ibinder:binder': RIVERSIDE.binderId,
      'ibinder:folder-path': '02 Site',
      'ibinder:meta:discipline': 'ARC',
    });

    const checked = await check(key);
    expect(checked.code).toBe(1);
    expect(checked.result.problems.map((p) => `${p.code}:${p.field}`)).toEqual(['not-allowed:ibinder:binder']);
    expect(checked.result.problems[0]?.message).toContain(`no routing rule covers "${key}"`);
    expect(checked.result.target).toMatchObject({ binderId: RIVERSIDE.binderId, folderPath: '02 Site', source: { kind: 'tags' } });

    expect(await ingestAndReadProblems(key)).toEqual(checked.result.problems);
    // Refused before any lookup: no folder of any binder was listed, by the check or by the ingest.
    expect(stack.services.emulator.calls.count(TOP_FOLDERS) + stack.services.emulator.calls.count(SUB_FOLDERS)).toBe(0);
  });

  it('accepts a folder given by id inside the allowed subtree', async () => {
    const key = `${RULE_PREFIX}S-201 Beam.pdf`;
    await stack.putInboxObject(key, sampleBytes('inside the subtree'), {
      'ibinder:binder': HARBOUR.binderId,
      'ibinder:folder': HARBOUR.folders.structuralDrawings,
    });
    const checked = await check(key);
    expect(checked.result.problems).toEqual([]);
    expect(checked.code).toBe(0);
    expect(checked.result.target).toMatchObject({ folderId: HARBOUR.folders.structuralDrawings, folderPath: '02 Structural/Drawings' });
    await purgeQueue(stack);
  });
});
