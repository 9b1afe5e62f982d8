/**
 * The CLI's Bynder commands end to end, in-process through runCli, against the Bynder emulator
 * (its default seed), the local S3 server and the real ingest: `brands` and `metaproperties` in
 * both output modes, `check` of `bynder:` files (brand, new asset or version, metaproperty ids,
 * every problem with its fix and the allowed options, the environment's Bynder routing rule),
 * `reingest` of a file the Bynder connector rejected, and the configuration errors (no `bynder`
 * block, no credentials, the environment's secret read as the deployed functions read it).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferedIo, type BufferedIo } from '../../cli/io.js';
import { runCli } from '../../cli/run.js';
import type { CliDependencies } from '../../cli/context.js';
import { DEFAULT_BYNDER_SEED_IDS } from '../../emulator/bynder/index.js';
import { localBynderConfig } from '../../local/local-bynder-config.js';
import { IngestLedger } from '../../shared/ledger/ingest-ledger.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

const B = DEFAULT_BYNDER_SEED_IDS.brands;
const M = DEFAULT_BYNDER_SEED_IDS.metaproperties;
const O = DEFAULT_BYNDER_SEED_IDS.options;
const A = DEFAULT_BYNDER_SEED_IDS.assets;
const BYNDER_SECRET = 'ibinder-pipeline/local/bynder-client';

let stack: LocalStack;
let dir: string;
let cdkJson: string;
let file: string;
let baseEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startLocalStack();
  dir = await mkdtemp(join(tmpdir(), 'cli-bynder-test-'));
  cdkJson = join(dir, 'cdk.json');
  file = join(dir, 'facade.jpg');
  await writeFile(file, 'demo image bytes');
  const { emulator, bynder, s3 } = stack.services;
  const ibinderOnly = {
    account: '123456789012',
    region: stack.services.region,
    tenantId: emulator.tenantId,
    credentialsSecret: { secretName: 'ibinder-pipeline/local/ibinder-client' },
  };
  const withBynder = {
    ...ibinderOnly,
    bynder: {
      portalUrl: bynder.url,
      credentialsSecretName: BYNDER_SECRET,
      routingRules: [{ prefix: 'inbox/northwind/', brand: 'Northwind Construction', metadata: { region: 'DACH' } }],
    },
  };
  await writeFile(cdkJson, JSON.stringify({ context: { environments: { local: withBynder, plain: ibinderOnly } } }));
  baseEnv = {
    IBINDER_CLIENT_ID: emulator.clientId,
    IBINDER_CLIENT_SECRET: emulator.clientSecret,
    IBINDER_API_URL: emulator.apiBaseUrl,
    IBINDER_TOKEN_URL: emulator.tokenUrl,
    BYNDER_CLIENT_ID: bynder.clientId,
    BYNDER_CLIENT_SECRET: bynder.clientSecret,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: stack.services.dynamodb.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function cli(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; environment?: string | null; deps?: CliDependencies } = {},
): Promise<BufferedIo & { code: number }> {
  const io = bufferedIo({ env: options.env ?? baseEnv, cwd: dir });
  const environment = options.environment === undefined ? 'local' : options.environment;
  const prefix = environment === null ? [] : ['--env', environment, '--config', cdkJson];
  const resources = ['--inbox-bucket', stack.services.inboxBucket, '--ledger-table', stack.services.ledgerTable];
  const code = await runCli([...prefix, ...resources, ...argv], io, options.deps);
  return { ...io, code };
}

function json<T = Record<string, unknown>>(run: BufferedIo): T {
  return JSON.parse(run.stdoutText()) as T;
}

describe('brands and metaproperties', () => {
  it("brands lists the portal's brands with their ids as a table, and as JSON with --json", async () => {
    const human = await cli(['brands']);
    expect(human.code).toBe(0);
    expect(human.stdoutText()).toMatch(/^ID\s+NAME\s+SUB-BRANDS/m);
    expect(human.stdoutText()).toContain(`${B.harbour}  Harbour Living`);
    expect(human.stdoutText()).toContain('Harbour Living Interiors');

    const machine = await cli(['brands', '--json']);
    expect(machine.code).toBe(0);
    expect(machine.stderrText()).toBe('');
    const { brands } = json<{ brands: { id: string; name: string; subBrands: { id: string }[] }[] }>(machine);
    expect(brands.map((b) => b.id).sort()).toEqual([B.harbour, B.northwind, B.riverside].sort());
    expect(brands.find((b) => b.id === B.harbour)?.subBrands.map((s) => s.id)).toEqual([B.harbourInteriors]);
  });

  it('metaproperties shows id, name, label, selection, required and options (names in the table, ids with --json)', async () => {
    const human = await cli(['metaproperties']);
    expect(human.code).toBe(0);
    const text = human.stdoutText();
    expect(text).toMatch(/^ID\s+NAME\s+LABEL\s+SELECT\s+REQUIRED\s+OPTIONS/m);
    expect(text).toMatch(new RegExp(`^${M.region}\\s+region\\s+Sales region\\s+single-select\\s+yes\\s+nordics, benelux, dach, uk$`, 'm'));
    expect(text).toMatch(new RegExp(`^${M.colours}\\s+colours\\s+Colours\\s+multi-select\\s+no\\s+red, green, blue$`, 'm'));
    expect(text).toMatch(/projectcode .*and 112 more/);
    expect(text).toContain('1 required (region)');

    const all = await cli(['metaproperties', '--all-options']);
    expect(all.stdoutText()).toContain('p_120');

    const machine = await cli(['metaproperties', '--json']);
    expect(machine.code).toBe(0);
    const { metaproperties, required } = json<{
      required: string[];
      metaproperties: { id: string; selection: string; required: boolean; tagKey: string; options: { id: string; name: string }[] }[];
    }>(machine);
    expect(required).toEqual(['region']);
    const region = metaproperties.find((m) => m.id === M.region);
    expect(region).toMatchObject({ selection: 'single-select', required: true, tagKey: 'bynder:meta:region' });
    expect(region?.options.find((o) => o.name === 'nordics')?.id).toBe(O.nordics);
    expect(metaproperties.find((m) => m.id === M.projectCode)?.options).toHaveLength(120);
    expect(metaproperties.find((m) => m.id === M.campaign)?.selection).toBe('free text');
  });

  it('an environment without a bynder block is a usage error that says what to add to cdk.json', async () => {
    const run = await cli(['brands'], { environment: 'plain' });
    expect(run.code).toBe(2);
    expect(run.stderrText()).toContain('environment "plain" does not configure Bynder');
    expect(run.stderrText()).toContain('"bynder": {"portalUrl"');
    expect(run.stderrText()).toContain('context.environments.plain');
  });

  it('without an environment, BYNDER_PORTAL_URL and the credential variables are enough; without either, the error names them', async () => {
    const env: NodeJS.ProcessEnv = { ...baseEnv, BYNDER_PORTAL_URL: stack.services.bynder.url };
    const run = await cli(['brands', '--json'], { environment: null, env });
    expect(run.code).toBe(0);
    expect(json<{ brands: unknown[] }>(run).brands).toHaveLength(3);

    const none = await cli(['metaproperties'], { environment: null });
    expect(none.code).toBe(2);
    expect(none.stderrText()).toContain('BYNDER_PORTAL_URL');

    const { BYNDER_CLIENT_ID: _id, BYNDER_CLIENT_SECRET: _secret, ...noCredentials } = env;
    const missing = await cli(['brands'], { environment: null, env: noCredentials });
    expect(missing.code).toBe(2);
    expect(missing.stderrText()).toContain('BYNDER_CLIENT_ID and BYNDER_CLIENT_SECRET');
  });

  it("reads the environment's Bynder secret as the deployed functions do when no credential variables are set", async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand, { SecretId: BYNDER_SECRET }).resolves({
      SecretString: JSON.stringify({ clientId: stack.services.bynder.clientId, clientSecret: stack.services.bynder.clientSecret }),
    });
    const { BYNDER_CLIENT_ID: _id, BYNDER_CLIENT_SECRET: _secret, ...env } = baseEnv;
    try {
      const run = await cli(['brands', '--json'], { env, deps: { secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }) } });
      expect(run.stderrText()).toBe('');
      expect(run.code).toBe(0);
      expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);

      secrets
        .on(GetSecretValueCommand, { SecretId: BYNDER_SECRET })
        .resolves({ SecretString: '{"clientId":"wrong","clientSecret":"not-it"}' });
      const wrong = await cli(['brands'], { env, deps: { secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }) } });
      expect(wrong.code).toBe(2);
      expect(wrong.stderrText()).toContain('Bynder refused the credentials');
      expect(wrong.stderrText()).not.toContain('not-it');
    } finally {
      secrets.restore();
    }
  });
});

describe('check for bynder: tags', () => {
  const tags = (entries: Record<string, string>): string[] => Object.entries(entries).flatMap(([k, v]) => ['--tag', `${k}=${v}`]);

  it('accepts a new asset: the brand, the name, the metaproperties mapped to ids, in both output modes', async () => {
    const argv = [
      'check',
      file,
      ...tags({
        'bynder:brand': 'Harbour Living',
        'bynder:meta:region': 'Nordics',
        'bynder:meta:colours': 'Red+Blue',
        'bynder:tags': 'a+b',
      }),
    ];
    const machine = await cli(['--json', ...argv]);
    expect(machine.code).toBe(0);
    const result = json<Record<string, unknown>>(machine);
    expect(result).toMatchObject({
      connector: 'bynder',
      accepted: true,
      problems: [],
      brand: { id: B.harbour, name: 'Harbour Living', source: { kind: 'tags' } },
      asset: { name: 'facade.jpg', tags: ['a', 'b'] },
      fileName: 'facade.jpg',
    });
    expect(result.newVersionOf).toBeUndefined();
    expect(result.metaproperties).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: M.region, name: 'region', optionIds: [O.nordics], options: ['nordics'] }),
        expect.objectContaining({ id: M.colours, name: 'colours', optionIds: [O.red, O.blue], options: ['red', 'blue'] }),
      ]),
    );

    const human = await cli(argv);
    expect(human.code).toBe(0);
    expect(human.stdoutText()).toContain(`ACCEPTED  ${file} would be ingested into Bynder`);
    expect(human.stdoutText()).toContain(`brand     Harbour Living (id ${B.harbour}) (from the object's bynder:brand tag)`);
    expect(human.stdoutText()).toContain('asset     new asset "facade.jpg"');
    expect(human.stdoutText()).toContain(`colours (${M.colours}) = red (${O.red}) + blue (${O.blue})`);
  });

  it('rejects with every problem, its fix and the allowed options (exit code 1), in both output modes', async () => {
    const argv = [
      'check',
      file,
      ...tags({ 'bynder:brand': 'Harbour Living', 'bynder:meta:region': 'Scandinavia', 'bynder:meta:colours': 'Purple' }),
    ];
    const machine = await cli(['--json', ...argv]);
    expect(machine.code).toBe(1);
    const result = json<{
      accepted: boolean;
      problems: { field: string; message: string; fix: string }[];
      allowedOptions: { metaproperty: { id: string }; selection: string; required: boolean; options: { id: string; name: string }[] }[];
    }>(machine);
    expect(result.accepted).toBe(false);
    expect(result.problems.map((p) => p.field).sort()).toEqual(['bynder:meta:colours', 'bynder:meta:region']);
    expect(result.problems.find((p) => p.field === 'bynder:meta:region')?.fix).toContain(O.nordics);
    const region = result.allowedOptions.find((a) => a.metaproperty.id === M.region);
    expect(region).toMatchObject({ selection: 'single-select', required: true });
    expect(region?.options.map((o) => o.id)).toEqual([O.nordics, O.benelux, O.dach, O.uk]);
    expect(result.allowedOptions.find((a) => a.metaproperty.id === M.colours)?.selection).toBe('multi-select');

    const human = await cli(argv);
    expect(human.code).toBe(1);
    const text = human.stdoutText();
    expect(text).toContain('would be rejected by the Bynder connector: 2 problem(s)');
    expect(text).toMatch(/1\. bynder:meta:region: .*"Scandinavia" is not an option/);
    expect(text).toContain('allowed options of region (single-select, required): nordics, benelux, dach, uk');
    expect(text).toContain('allowed options of colours (multi-select): red, green, blue');
  });

  it('an unknown brand is a rejection whose fix lists the brands; a missing required metaproperty is reported with it', async () => {
    const run = await cli(['--json', 'check', file, ...tags({ 'bynder:brand': 'Southwind' })]);
    expect(run.code).toBe(1);
    const { problems } = json<{ problems: { field: string; fix: string }[] }>(run);
    expect(problems.find((p) => p.field === 'bynder:brand')?.fix).toContain(B.northwind);
    expect(problems.find((p) => p.field === 'bynder:meta:region')).toBeDefined();
  });

  it('a bynder:asset tag makes a new version of that asset, which needs no metaproperty', async () => {
    const machine = await cli(['--json', 'check', file, '--tag', `bynder:asset=${A.lobbyRender}`]);
    expect(machine.code).toBe(0);
    expect(json(machine)).toMatchObject({
      accepted: true,
      brand: { id: B.harbour },
      newVersionOf: { id: A.lobbyRender, name: 'Lobby render' },
      metaproperties: [],
    });
    const human = await cli(['check', file, '--tag', `bynder:asset=${A.lobbyRender}`]);
    expect(human.stdoutText()).toContain(`asset     new version of asset ${A.lobbyRender} "Lobby render"`);
    expect(human.stdoutText()).toContain("(from the object's bynder:asset tag)");
  });

  it("applies the environment's Bynder routing rule to an untagged S3 object (brand and metadata from the rule)", async () => {
    const key = 'inbox/northwind/site-photo.jpg';
    await stack.putInboxObject(key, 'photo bytes');
    const machine = await cli(['--json', 'check', `s3://${stack.services.inboxBucket}/${key}`]);
    expect(machine.code).toBe(0);
    const result = json<{ brand: { id: string; source: unknown }; metaproperties: { id: string; optionIds: string[] }[]; notes: string[] }>(
      machine,
    );
    expect(result.brand).toEqual({ id: B.northwind, name: 'Northwind Construction', source: { kind: 'rule', prefix: 'inbox/northwind/' } });
    expect(result.metaproperties).toEqual([expect.objectContaining({ id: M.region, optionIds: [O.dach] })]);
    expect(result.notes.join(' ')).toContain('Bynder routing rule for prefix "inbox/northwind/"');

    const human = await cli(['check', `s3://${stack.services.inboxBucket}/${key}`]);
    expect(human.stdoutText()).toContain('(from Bynder routing rule for prefix "inbox/northwind/")');
  });

  it('a file for Bynder asks for no iBinder credentials', async () => {
    const { IBINDER_CLIENT_ID: _id, IBINDER_CLIENT_SECRET: _secret, ...env } = baseEnv;
    const run = await cli(['check', file, '--tag', `bynder:asset=${A.lobbyRender}`], { env });
    expect(run.stderrText()).not.toContain('iBinder credentials');
    expect(run.code).toBe(0);
  });
});

describe('reingest of a file the Bynder connector rejected', () => {
  it('refuses until the fix is given, then copies it back with the fixed tag, and the ingest saves it in Bynder', async () => {
    const deps = stack.createIngestDeps({ config: { bynder: localBynderConfig(stack.services) } });
    const key = 'inbox/marketing/autumn-brochure.pdf';
    await stack.putInboxObject(key, '%PDF-1.7 autumn brochure', {
      'bynder:brand': 'Riverside Estates',
      'bynder:meta:region': 'Scandinavia',
    });
    await stack.drainIngest({ deps });
    const rejectedKey = 'rejected/marketing/autumn-brochure.pdf';
    await stack.services.s3.client.send(new HeadObjectCommand({ Bucket: stack.services.inboxBucket, Key: rejectedKey }));

    const refused = await cli(['reingest', rejectedKey]);
    expect(refused.code).toBe(1);
    expect(refused.stdoutText()).toContain('would be rejected by the Bynder connector');
    expect(refused.stdoutText()).toContain('allowed options of region');

    const done = await cli(['--json', 'reingest', rejectedKey, '--tag', 'bynder:meta:region=UK']);
    expect(done.code).toBe(0);
    expect(json(done)).toMatchObject({ reingested: true, check: { connector: 'bynder', accepted: true } });

    await stack.drainIngest({ deps });
    const ledger = new IngestLedger({
      client: stack.services.dynamodb.documentClient,
      tableName: stack.services.ledgerTable,
      leaseSeconds: 60,
    });
    // The ingest deleted the inbox object once it was in Bynder: its version id is the last notification's.
    const latest = stack.notifications.lastFor(key);
    const versionId = (JSON.parse(latest?.body ?? '{}') as { Records?: { s3?: { object?: { versionId?: string } } }[] }).Records?.[0]?.s3
      ?.object?.versionId;
    expect(versionId).toBeDefined();
    const entry = await ledger.get({ bucket: stack.services.inboxBucket, key, versionId });
    expect(entry).toMatchObject({ state: 'committed', connector: 'bynder' });
    const mediaId = entry?.state === 'committed' ? entry.versionIds.mediaId : undefined;
    const asset = stack.services.bynder.state.liveAsset(mediaId ?? '');
    expect(asset?.brandId).toBe(B.riverside);
    expect(asset?.metadata.get(M.region)).toEqual([O.uk]);
  });
});
