/**
 * How the environment's config shapes the stack: prod keeps its data and imports its secret,
 * staging retains without being prod, and settings that cannot work are refused at synth time.
 * Bundling is skipped here: nothing in this file looks at the function code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../../infra/config.js';
import { EnvironmentConfigError } from '../../infra/errors.js';
import {
  actionsOn,
  buildPipelineApp,
  environmentEntry,
  logicalIdOf,
  propertiesOf,
  readCdkJson,
  statementsOfRole,
  synthesizePipeline,
  type SynthesizedPipeline,
} from './stack-fixtures.js';

type Resources = Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

function resourcesOfType(synth: SynthesizedPipeline, type: string): Resources {
  return Object.fromEntries(Object.entries(synth.template.toJSON().Resources as Resources).filter(([, r]) => r.Type === type));
}

describe('prod', () => {
  let prod: SynthesizedPipeline;
  let config: EnvironmentConfig;
  beforeAll(() => {
    config = loadEnvironmentConfig(readCdkJson().context.environments, 'prod');
    prod = synthesizePipeline('prod');
  });
  afterAll(() => prod.dispose());

  it('retains every bucket, table and log group, also on replacement', () => {
    for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(resourcesOfType(prod, type));
      expect(resources.length).toBeGreaterThan(0);
      for (const r of resources) {
        expect(r.DeletionPolicy).toBe('Retain');
        expect(r.UpdateReplacePolicy).toBe('Retain');
      }
    }
    const archive = (prod.template.toJSON().Resources as Resources)[logicalIdOf(prod.stack.archiveBucket)];
    expect(archive?.DeletionPolicy).toBe('Retain');
  });

  it('protects the tables from deletion and the stack from termination', () => {
    for (const table of [prod.stack.ledger.table, prod.stack.exportLedger.table]) {
      expect(propertiesOf(prod.template, logicalIdOf(table)).DeletionProtectionEnabled).toBe(true);
    }
    expect(prod.stack.terminationProtection).toBe(true);
  });

  it('imports the existing secret by name and grants read on exactly that secret', () => {
    prod.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const secretArn = `arn:aws:secretsmanager:${config.region}:${config.account}:secret:${config.credentialsSecret.secretName}-??????`;
    for (const fn of [prod.stack.ingestFunction, prod.stack.plannerFunction, prod.stack.workerFunction]) {
      const statements = statementsOfRole(prod.template, fn.role);
      expect(actionsOn(statements, secretArn)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
      // Rendered resources that mention secretsmanager at all are exactly that one ARN.
      const secretResources = statements.filter((s) => s.actions.some((a) => a.startsWith('secretsmanager:'))).flatMap((s) => s.resources);
      expect(new Set(secretResources)).toEqual(new Set([secretArn]));
    }
    expect((prod.template.toJSON().Outputs as Record<string, { Value: unknown }>).CredentialsSecretName?.Value).toBe(
      config.credentialsSecret.secretName,
    );
  });

  it('is a separate stack from dev', () => {
    expect(prod.stack.stackName).toBe('IbinderPipeline-prod');
  });
});

describe('staging (retain, not prod)', () => {
  let staging: SynthesizedPipeline;
  beforeAll(() => {
    staging = synthesizePipeline('staging');
  });
  afterAll(() => staging.dispose());

  it('retains the archive bucket because its removalPolicy is retain', () => {
    const archive = (staging.template.toJSON().Resources as Resources)[logicalIdOf(staging.stack.archiveBucket)];
    expect(archive?.DeletionPolicy).toBe('Retain');
    expect(staging.stack.terminationProtection).toBe(false);
  });

  it('without X-Ray tracing, no function has tracing rights', () => {
    for (const fn of [staging.stack.ingestFunction, staging.stack.plannerFunction, staging.stack.workerFunction]) {
      const tracing = propertiesOf(staging.template, logicalIdOf(fn.function)).TracingConfig as { Mode: string } | undefined;
      expect(tracing?.Mode ?? 'PassThrough').toBe('PassThrough');
      expect(
        statementsOfRole(staging.template, fn.role)
          .flatMap((s) => s.actions)
          .filter((a) => a.startsWith('xray:')),
      ).toEqual([]);
      expect(statementsOfRole(staging.template, fn.role).flatMap((s) => s.resources)).not.toContain('*');
    }
  });
});

describe('config-driven variations', () => {
  it('dev (destroy) lets CloudFormation delete its buckets and tables', () => {
    const dev = synthesizePipeline('dev');
    try {
      for (const type of ['AWS::S3::Bucket', 'AWS::DynamoDB::Table']) {
        for (const r of Object.values(resourcesOfType(dev, type))) expect(r.DeletionPolicy).toBe('Delete');
      }
      expect(dev.stack.terminationProtection).toBe(false);
    } finally {
      dev.dispose();
    }
  });

  it('transitions the archive to the configured storage class', () => {
    const entry = environmentEntry('staging');
    entry.export = { ...(entry.export as object), archiveStorageClass: 'DEEP_ARCHIVE', archiveTransitionDays: 90 };
    const synth = synthesizePipeline('staging', { entry });
    try {
      const rules = (propertiesOf(synth.template, logicalIdOf(synth.stack.archiveBucket)).LifecycleConfiguration as { Rules: unknown[] })
        .Rules;
      expect(rules).toContainEqual(
        expect.objectContaining({
          Transitions: [{ StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 90 }],
          NoncurrentVersionTransitions: [{ StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 90 }],
        }),
      );
    } finally {
      synth.dispose();
    }
  });

  it('creates the secret when asked, with the placeholder only', () => {
    const entry = environmentEntry('prod');
    entry.credentialsSecret = { secretName: 'ibinder-pipeline/prod/ibinder-client', create: true };
    const synth = synthesizePipeline('prod', { entry });
    try {
      synth.template.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: 'ibinder-pipeline/prod/ibinder-client',
        SecretString: '{"clientId":"","clientSecret":""}',
      });
      const secret = (synth.template.toJSON().Resources as Resources)[logicalIdOf(synth.stack.credentials.secret)];
      expect(secret?.DeletionPolicy).toBe('Retain');
    } finally {
      synth.dispose();
    }
  });
});

describe('refused at synth time', () => {
  it('prod with removalPolicy destroy', () => {
    const entry = { ...environmentEntry('prod'), removalPolicy: 'destroy' };
    expect(() => buildPipelineApp('prod', { entry })).toThrow(EnvironmentConfigError);
    expect(() => buildPipelineApp('prod', { entry })).toThrow(/removalPolicy: "destroy" is refused for the production environment "prod"/);
  });

  it('an unknown environment, listing the known ones', () => {
    expect(() => buildPipelineApp('qa')).toThrow(/Unknown environment "qa": cdk\.json context\.environments defines dev, prod/);
  });

  it('an environment name that cannot be part of resource names', () => {
    const environments = readCdkJson().context.environments;
    expect(() => buildPipelineApp('Dev_1', { entry: environments.dev })).toThrow(
      /Environment name "Dev_1" cannot be used in resource names/,
    );
  });

  it("routing rules that would overflow Lambda's 4 KB of variables", () => {
    const entry = environmentEntry('dev');
    entry.routingRules = Array.from({ length: 40 }, (_, n) => ({
      prefix: `inbox/producer-${n}/`,
      target: { binderId: 'dVx7kQ2mP', folderPath: `Incoming/Producer ${n}`, metadata: { GLOBAL_Category: 'Delivered file' } },
    }));
    expect(() => buildPipelineApp('dev', { entry })).toThrow(
      /Environment "dev": the runtime configuration is \d+ bytes, more than the 3500 bytes .* Shorten or merge routingRules/,
    );
  });
});
