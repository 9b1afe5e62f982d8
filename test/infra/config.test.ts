import { describe, expect, it } from 'vitest';
import { PipelineConfigSchema } from '../../shared/config/runtime.js';
import {
  EnvironmentConfigSchema,
  IBINDER_API_BASE_URL,
  IBINDER_TOKEN_URL,
  isRetained,
  loadEnvironmentConfig,
  toPipelineConfig,
} from '../../infra/config.js';
import { EnvironmentConfigError } from '../../infra/errors.js';
import { environmentEntry, readCdkJson } from './stack-fixtures.js';

const minimalEntry = (): Record<string, unknown> => ({
  account: '123456789012',
  region: 'eu-north-1',
  tenantId: '5f0c2a7e-3b1d-4c8e-9a6f-2d4b7e1c0a93',
  credentialsSecret: { secretName: 'ibinder-pipeline/test/ibinder-client' },
});

const FOLDER_ID = '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60';
const OTHER_FOLDER_ID = '1c7a5d3f-02e4-4b8c-9f60-4d2e0b3c8f71';

/** The message of the EnvironmentConfigError that loading `entry` as `envName` throws. */
function errorFor(entry: unknown, envName = 'dev'): string {
  try {
    loadEnvironmentConfig({ [envName]: entry, other: minimalEntry() }, envName);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvironmentConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the entry to be refused');
}

describe('cdk.json environments', () => {
  const environments = readCdkJson().context.environments;

  it('defines at least dev and prod', () => {
    expect(Object.keys(environments)).toEqual(expect.arrayContaining(['dev', 'prod']));
  });

  it.each(Object.keys(environments))('%s parses and yields a valid PIPELINE_CONFIG', (envName) => {
    const config = loadEnvironmentConfig(environments, envName);
    const pipeline = toPipelineConfig(config, envName);
    expect(PipelineConfigSchema.parse(JSON.parse(JSON.stringify(pipeline)))).toEqual(pipeline);
    expect(pipeline.environment).toBe(envName);
  });

  it('keeps prod retained', () => {
    const prod = loadEnvironmentConfig(environments, 'prod');
    expect(prod.removalPolicy).toBe('retain');
    expect(isRetained(prod, 'prod')).toBe(true);
  });

  it('holds no credential, only secret names', () => {
    const text = JSON.stringify(environments);
    expect(text).not.toMatch(/clientSecret|client_secret|password/i);
  });
});

describe('loadEnvironmentConfig', () => {
  it('fills defaults for a minimal entry', () => {
    const config = loadEnvironmentConfig({ dev: minimalEntry() }, 'dev');
    expect(config.apiBaseUrl).toBe(IBINDER_API_BASE_URL);
    expect(config.tokenUrl).toBe(IBINDER_TOKEN_URL);
    expect(config.credentialsSecret.create).toBe(false);
    expect(config.disposition).toBe('delete');
    expect(config.removalPolicy).toBe('retain');
    expect(config.routingRules).toEqual([]);
    expect(config.ingest).toMatchObject({ batchSize: 10, maxConcurrency: 5, maxReceiveCount: 5 });
    expect(config.export).toMatchObject({ scheduleCron: 'cron(0 2 * * ? *)', archiveStorageClass: 'GLACIER_IR' });
    expect(config.export.binders).toBeUndefined();
    expect(config.alarms).toEqual({
      rejectionRatePercent: 20,
      rejectionRatePeriodMinutes: 60,
      rejectionRateMinFiles: 5,
      exportCompletionWindowHours: 26,
    });
  });

  it('names the environment and the missing field', () => {
    const { tenantId: _dropped, ...entry } = minimalEntry();
    const message = errorFor(entry);
    expect(message).toContain('Environment "dev" in cdk.json (context.environments.dev) is invalid');
    expect(message).toMatch(/tenantId: is missing; expected the iBinder organisation \(tenant\) id/);
  });

  it('says what an account id looks like', () => {
    const message = errorFor({ ...minimalEntry(), account: '12345' });
    expect(message).toMatch(/account: expected the 12-digit AWS account id as a string, e\.g\. "123456789012"/);
  });

  it('refuses an account given as a number (JSON would round or drop leading zeros)', () => {
    expect(errorFor({ ...minimalEntry(), account: 123456789012 })).toMatch(/account: expected the 12-digit/);
  });

  it('lists every wrong field at once, with nested paths', () => {
    const message = errorFor({
      ...minimalEntry(),
      region: 'Europe',
      ingest: { maxConcurrency: 1 },
      export: { scheduleCron: 'cron(0 2 * * * *)', scheduleTimeZone: 'Europe/Osloo' },
      logRetentionDays: 42,
    });
    expect(message).toMatch(/region: expected an AWS region/);
    expect(message).toMatch(/ingest\.maxConcurrency: expected a whole number from 2 to 1000/);
    expect(message).toMatch(/export\.scheduleCron: expected an EventBridge Scheduler cron expression/);
    expect(message).toMatch(/export\.scheduleTimeZone: expected an IANA time zone name/);
    expect(message).toMatch(/logRetentionDays: expected one of 1, 3, 5, 7, 14, 30/);
  });

  it('names unknown fields, so a typo does not silently fall back to a default', () => {
    expect(errorFor({ ...minimalEntry(), dispositon: 'tag' })).toMatch(/\(entry\): unknown field\(s\) "dispositon"/);
    expect(errorFor({ ...minimalEntry(), ingest: { batchsize: 5 } })).toMatch(/ingest: unknown field\(s\) "batchsize"/);
  });

  it('refuses a batch size above 10 without a batching window', () => {
    const message = errorFor({ ...minimalEntry(), ingest: { batchSize: 50, maxBatchingWindowSeconds: 0 } });
    expect(message).toMatch(/ingest\.batchSize: a batchSize above 10 needs maxBatchingWindowSeconds of at least 1/);
    expect(() =>
      loadEnvironmentConfig({ dev: { ...minimalEntry(), ingest: { batchSize: 50, maxBatchingWindowSeconds: 1 } } }, 'dev'),
    ).not.toThrow();
  });

  it('refuses a transition to an infrequent-access class before 30 days', () => {
    const message = errorFor({ ...minimalEntry(), export: { archiveStorageClass: 'STANDARD_IA', archiveTransitionDays: 7 } });
    expect(message).toMatch(/export\.archiveTransitionDays: S3 needs at least 30 days/);
  });

  it('checks the target shape of routing rules and the default target', () => {
    const message = errorFor({
      ...minimalEntry(),
      defaultTarget: { binderId: 'Binder001' },
      routingRules: [{ prefix: 'inbox/x/', target: { binderId: 'Binder001', folderId: FOLDER_ID, folderPath: 'A/B' } }],
    });
    expect(message).toMatch(/defaultTarget: give exactly one of folderId or folderPath/);
    expect(message).toMatch(/routingRules\.0\.target: give exactly one of folderId or folderPath/);
  });

  it('accepts an alarm e-mail and refuses a malformed one', () => {
    expect(loadEnvironmentConfig({ dev: { ...minimalEntry(), alarms: { email: 'ops@example.com' } } }, 'dev').alarms.email).toBe(
      'ops@example.com',
    );
    expect(errorFor({ ...minimalEntry(), alarms: { email: 'ops' } })).toMatch(/alarms\.email: expected an e-mail address/);
  });

  it('refuses plain-http API endpoints', () => {
    expect(errorFor({ ...minimalEntry(), apiBaseUrl: 'http://api.ibinder.com/api' })).toMatch(/apiBaseUrl: expected an https URL/);
  });

  it('lists the known environments for an unknown name', () => {
    expect(() => loadEnvironmentConfig({ dev: minimalEntry(), prod: minimalEntry() }, 'qa')).toThrow(
      'Unknown environment "qa": cdk.json context.environments defines dev, prod.',
    );
  });

  it('explains how to choose an environment when none is given', () => {
    for (const missing of [undefined, '']) {
      expect(() => loadEnvironmentConfig({ dev: minimalEntry() }, missing)).toThrow(
        /No environment chosen: pass one with -c env=<name>, e\.g\. `npx cdk synth -c env=dev`\. Environments in cdk\.json: dev\./,
      );
    }
  });

  it('explains a missing environments object', () => {
    expect(() => loadEnvironmentConfig(undefined, 'dev')).toThrow(/cdk\.json has no "context\.environments" object/);
  });

  it('does not take an inherited property for an environment', () => {
    expect(() => loadEnvironmentConfig({ dev: minimalEntry() }, 'toString')).toThrow(/Unknown environment "toString"/);
  });

  it('refuses removalPolicy destroy for prod, and allows it elsewhere', () => {
    const destroy = { ...minimalEntry(), removalPolicy: 'destroy' };
    expect(errorFor(destroy, 'prod')).toMatch(/removalPolicy: "destroy" is refused for the production environment "prod"; use "retain"/);
    expect(errorFor(destroy, 'production')).toMatch(/removalPolicy: "destroy" is refused/);
    expect(loadEnvironmentConfig({ dev: destroy }, 'dev').removalPolicy).toBe('destroy');
  });

  it('describes every top-level field for the operator documentation', () => {
    for (const [field, schema] of Object.entries(EnvironmentConfigSchema.shape)) {
      expect(schema.description, `${field} has no description`).toBeTruthy();
    }
  });
});

describe('toPipelineConfig', () => {
  it('copies the runtime settings and derives the ones tied to function timeouts', () => {
    const entry = environmentEntry('prod');
    const config = loadEnvironmentConfig({ prod: entry }, 'prod');
    const pipeline = toPipelineConfig(config, 'prod');
    expect(pipeline).toMatchObject({
      environment: 'prod',
      tenantId: config.tenantId,
      apiBaseUrl: config.apiBaseUrl,
      tokenUrl: config.tokenUrl,
      credentialsSecretName: config.credentialsSecret.secretName,
      inboxPrefix: 'inbox/',
      rejectedPrefix: 'rejected/',
      routingRules: config.routingRules,
      disposition: config.disposition,
      untaggedGraceSeconds: config.ingest.untaggedGraceSeconds,
      recordConcurrency: config.ingest.recordConcurrency,
    });
    // A claim must outlive the longest invocation that can hold one (ingest or export worker).
    expect(pipeline.claimLeaseSeconds).toBeGreaterThan(config.ingest.functionTimeoutSeconds);
    expect(pipeline.claimLeaseSeconds).toBeGreaterThan(config.export.workerTimeoutSeconds);
    expect(pipeline.minRemainingTimeMs).toBeLessThan(config.ingest.functionTimeoutSeconds * 1000);
  });

  it('keeps a short ingest timeout usable', () => {
    const config = loadEnvironmentConfig({ dev: { ...minimalEntry(), ingest: { functionTimeoutSeconds: 30 } } }, 'dev');
    expect(toPipelineConfig(config, 'dev').minRemainingTimeMs).toBe(10_000);
  });

  it('passes export binders and the default target only when configured', () => {
    const bare = toPipelineConfig(loadEnvironmentConfig({ dev: minimalEntry() }, 'dev'), 'dev');
    expect(bare.exportBinders).toBeUndefined();
    expect(bare.defaultTarget).toBeUndefined();

    const configured = toPipelineConfig(
      loadEnvironmentConfig(
        {
          dev: {
            ...minimalEntry(),
            defaultTarget: { binderId: 'Binder001', folderPath: 'Inbox' },
            export: { binders: ['Binder001', 'Binder002'] },
          },
        },
        'dev',
      ),
      'dev',
    );
    expect(configured.exportBinders).toEqual(['Binder001', 'Binder002']);
    expect(configured.defaultTarget).toEqual({ binderId: 'Binder001', folderPath: 'Inbox', metadata: {} });
  });
});

describe('loadEnvironmentConfig: identity and routing', () => {
  it("refuses malformed regions, naming the field, and accepts every partition's form", () => {
    for (const region of ['eu-north-99x', 'eu-north', 'xx-north-1', 'eu-norht-1', 'EU-NORTH-1', 'eu-north-0', 'us-gov-1']) {
      expect(errorFor({ ...minimalEntry(), region }), region).toMatch(/ {2}- region: expected an AWS region/);
    }
    for (const region of [
      'eu-north-1',
      'us-gov-west-1',
      'ap-southeast-2',
      'ca-central-1',
      'cn-northwest-1',
      'il-central-1',
      'mx-central-1',
      'me-south-1',
      'af-south-1',
      'sa-east-1',
    ]) {
      expect(loadEnvironmentConfig({ dev: { ...minimalEntry(), region } }, 'dev').region).toBe(region);
    }
  });

  it('refuses a tenant id that is not a GUID', () => {
    expect(errorFor({ ...minimalEntry(), tenantId: 'org-1' })).toMatch(
      / {2}- tenantId: expected the iBinder organisation \(tenant\) id: a GUID/,
    );
  });

  it('refuses malformed binder and folder ids in targets, allowlists and the export, naming each field', () => {
    const message = errorFor({
      ...minimalEntry(),
      defaultTarget: { binderId: 'PRJ-1', folderId: 'f-1' },
      routingRules: [
        { prefix: 'inbox/x/', target: { binderId: 'Binder001', folderPath: 'A' }, allow: [{ binderId: 'Binder001', folderIds: ['nope'] }] },
      ],
      export: { binders: ['b1'] },
    });
    expect(message).toMatch(/ {2}- defaultTarget\.binderId: expected a binder id: 9 characters/);
    expect(message).toMatch(/ {2}- defaultTarget\.folderId: expected a folder id: a GUID/);
    expect(message).toMatch(/ {2}- routingRules\.0\.allow\.0\.folderIds\.0: expected a folder id: a GUID/);
    expect(message).toMatch(/ {2}- export\.binders\.0: expected a binder id/);
  });

  it('refuses a routing prefix outside inbox/ (it could never match) and duplicate prefixes, naming the rule', () => {
    const target = { binderId: 'Binder001', folderPath: 'A' };
    const message = errorFor({
      ...minimalEntry(),
      routingRules: [
        { prefix: 'scanner/', target },
        { prefix: 'inbox/erp/', target },
        { prefix: 'inbox/erp/', target },
      ],
    });
    expect(message).toMatch(/ {2}- routingRules\.0\.prefix: "scanner\/" is not under inbox\/, so it can never match.*"inbox\/scanner\/"/);
    expect(message).toMatch(/ {2}- routingRules\.2\.prefix: "inbox\/erp\/" is also the prefix of routingRules\.1/);
    expect(message).not.toMatch(/routingRules\.1\.prefix/);
  });

  it('treats prefixes that differ only in Unicode normalization as duplicates', () => {
    const target = { binderId: 'Binder001', folderPath: 'A' };
    const message = errorFor({
      ...minimalEntry(),
      routingRules: [
        { prefix: 'inbox/Årsta/'.normalize('NFC'), target },
        { prefix: 'inbox/Årsta/'.normalize('NFD'), target },
      ],
    });
    expect(message).toMatch(/routingRules\.1\.prefix: .* is also the prefix of routingRules\.0/);
  });

  it("requires a rule's own target to be inside its allowlist, by binder, folder path or folder id", () => {
    const message = errorFor({
      ...minimalEntry(),
      routingRules: [
        { prefix: 'inbox/a/', target: { binderId: 'Binder001', folderPath: 'A' }, allow: [{ binderId: 'Binder002' }] },
        {
          prefix: 'inbox/b/',
          target: { binderId: 'Binder001', folderPath: 'Finance/Other' },
          allow: [{ binderId: 'Binder001', folderPaths: ['Finance/Invoices'] }],
        },
        {
          prefix: 'inbox/c/',
          target: { binderId: 'Binder001', folderId: FOLDER_ID },
          allow: [{ binderId: 'Binder001', folderIds: [OTHER_FOLDER_ID] }],
        },
      ],
    });
    expect(message).toMatch(/ {2}- routingRules\.0\.allow: the rule's own target \(binder Binder001\) is not in it/);
    expect(message).toMatch(
      / {2}- routingRules\.1\.allow: the rule's own target \(binder Binder001, folder "Finance\/Other"\) is not inside the folderPaths/,
    );
    expect(message).toMatch(
      / {2}- routingRules\.2\.allow: the rule's own target \(binder Binder001, folder id 0b6f4c2e-.*\) is not among the folderIds/,
    );

    const inside = loadEnvironmentConfig(
      {
        dev: {
          ...minimalEntry(),
          routingRules: [
            {
              prefix: 'inbox/b/',
              target: { binderId: 'Binder001', folderPath: 'Finance/Invoices/2026' },
              allow: [{ binderId: 'Binder001', folderPaths: ['Finance/Invoices'] }],
            },
            {
              prefix: 'inbox/c/',
              target: { binderId: 'Binder001', folderId: FOLDER_ID.toUpperCase() },
              allow: [{ binderId: 'Binder001', folderIds: [FOLDER_ID] }],
            },
            { prefix: 'inbox/d/', target: { binderId: 'Binder001', folderPath: 'Anything' } },
          ],
        },
      },
      'dev',
    );
    expect(inside.routingRules).toHaveLength(3);
  });

  it('requires the default target to be inside unlistedPrefixes, and refuses one that "none" would make useless', () => {
    const defaultTarget = { binderId: 'Binder001', folderPath: 'Inbox/Unsorted' };
    expect(errorFor({ ...minimalEntry(), defaultTarget, unlistedPrefixes: 'none' })).toMatch(
      / {2}- defaultTarget: unlistedPrefixes is "none"/,
    );
    expect(
      errorFor({ ...minimalEntry(), defaultTarget, unlistedPrefixes: { allow: [{ binderId: 'Binder001', folderPaths: ['Outbox'] }] } }),
    ).toMatch(/ {2}- defaultTarget: the default target \(binder Binder001, folder "Inbox\/Unsorted"\) is not inside the folderPaths/);
    const config = loadEnvironmentConfig(
      { dev: { ...minimalEntry(), defaultTarget, unlistedPrefixes: { allow: [{ binderId: 'Binder001', folderPaths: ['Inbox'] }] } } },
      'dev',
    );
    expect(toPipelineConfig(config, 'dev').unlistedPrefixes).toEqual({ allow: [{ binderId: 'Binder001', folderPaths: ['Inbox'] }] });
  });

  it('refuses a malformed unlistedPrefixes and an empty allow list', () => {
    expect(errorFor({ ...minimalEntry(), unlistedPrefixes: 'some' })).toMatch(
      / {2}- unlistedPrefixes: expected "none", "any" or \{"allow"/,
    );
    expect(
      errorFor({
        ...minimalEntry(),
        routingRules: [{ prefix: 'inbox/a/', target: { binderId: 'Binder001', folderPath: 'A' }, allow: [] }],
      }),
    ).toMatch(/routingRules\.0\.allow: expected at least one/);
  });

  it('makes a production environment say what unlisted prefixes may reach; elsewhere it defaults to "any"', () => {
    expect(errorFor(minimalEntry(), 'prod')).toMatch(/ {2}- unlistedPrefixes: is missing; the production environment "prod" must say/);
    expect(
      toPipelineConfig(loadEnvironmentConfig({ prod: { ...minimalEntry(), unlistedPrefixes: 'none' } }, 'prod'), 'prod').unlistedPrefixes,
    ).toBe('none');
    expect(toPipelineConfig(loadEnvironmentConfig({ dev: minimalEntry() }, 'dev'), 'dev').unlistedPrefixes).toBe('any');
  });

  it("keeps cdk.json's prod closed to unlisted prefixes, with an allowlist on every rule", () => {
    const prod = loadEnvironmentConfig(readCdkJson().context.environments, 'prod');
    expect(prod.unlistedPrefixes).toBe('none');
    expect(prod.routingRules.every((rule) => rule.allow !== undefined)).toBe(true);
  });

  it('keeps routing prefixes and allowed folder paths in NFC', () => {
    const config = loadEnvironmentConfig(
      {
        dev: {
          ...minimalEntry(),
          routingRules: [
            {
              prefix: 'inbox/Årsta/'.normalize('NFD'),
              target: { binderId: 'Binder001', folderPath: 'Årsta/Ritningar'.normalize('NFD') },
              allow: [{ binderId: 'Binder001', folderPaths: ['Årsta'.normalize('NFD')] }],
            },
          ],
        },
      },
      'dev',
    );
    const [rule] = config.routingRules;
    expect(rule?.prefix).toBe('inbox/Årsta/'.normalize('NFC'));
    expect(rule?.target.folderPath).toBe('Årsta/Ritningar'.normalize('NFC'));
    expect(rule?.allow?.[0]?.folderPaths).toEqual(['Årsta'.normalize('NFC')]);
  });
});
