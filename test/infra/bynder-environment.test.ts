/**
 * An environment with the Bynder connector: its block in cdk.json validated with the connector's
 * own schema, written into PIPELINE_CONFIG, its secret created or imported and readable by the
 * ingest and export functions only, its rate budget checked across instances, and cdk-nag clean.
 * Synthesized without bundling: only the template matters here.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bynderPeakRequestsPerSecond, loadEnvironmentConfig } from '../../infra/config.js';
import { PipelineConfigSchema } from '../../shared/config/runtime.js';
import {
  allPolicyStatements,
  buildPipelineApp,
  environmentEntry,
  logicalIdOf,
  propertiesOf,
  statementsOfRole,
  synthesizePipeline,
  type SynthesizedPipeline,
} from './stack-fixtures.js';

/** dev runs 2 ingest + 2 worker instances and the planner: 5 x 3 requests/s = 15/s, Bynder's 4,500 per 5 minutes. */
const BYNDER = {
  portalUrl: 'https://example.bynder.com',
  credentialsSecretName: 'ibinder-pipeline/dev/bynder-client',
  createCredentialsSecret: true,
  requestsPerSecond: 3,
  defaultBrand: 'Marketing',
};

const withBynder = (bynder: Record<string, unknown>): Record<string, unknown> => ({ ...environmentEntry('dev'), bynder });

function configError(entry: Record<string, unknown>): string {
  try {
    buildPipelineApp('dev', { entry });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the environment to be refused');
}

let synth: SynthesizedPipeline;
beforeAll(() => {
  synth = synthesizePipeline('dev', { entry: withBynder(BYNDER) });
});
afterAll(() => synth.dispose());

const secretArnPattern = (name: string) => `secret:${name}-??????`;

describe('Bynder in the environment config', () => {
  it('is written into PIPELINE_CONFIG of every function, with the schema defaults and without the stack-only setting', () => {
    for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
      const variables = (propertiesOf(synth.template, logicalIdOf(fn.function)).Environment as { Variables: Record<string, unknown> })
        .Variables;
      const runtime = PipelineConfigSchema.parse(JSON.parse(String(variables.PIPELINE_CONFIG)));
      expect(runtime.bynder).toMatchObject({
        portalUrl: BYNDER.portalUrl,
        credentialsSecretName: BYNDER.credentialsSecretName,
        requestsPerSecond: 3,
        maxConcurrentRecords: 4,
        defaultBrand: 'Marketing',
      });
      expect(runtime.bynder).not.toHaveProperty('createCredentialsSecret');
    }
  });

  it('an environment without it has no Bynder secret, output or config', () => {
    const plain = synthesizePipeline('dev');
    try {
      expect(plain.stack.connectorCredentials.secrets.has('bynder')).toBe(false);
      expect(plain.template.findOutputs('BynderCredentialsSecretName')).toEqual({});
      const variables = (
        propertiesOf(plain.template, logicalIdOf(plain.stack.ingestFunction.function)).Environment as { Variables: Record<string, unknown> }
      ).Variables;
      expect(JSON.parse(String(variables.PIPELINE_CONFIG))).not.toHaveProperty('bynder');
    } finally {
      plain.dispose();
    }
  });

  it('refuses a block the connector schema refuses, naming the field', () => {
    expect(configError(withBynder({ ...BYNDER, portalUrl: 'not a url' }))).toMatch(/bynder\.portalUrl/);
    expect(configError(withBynder({ ...BYNDER, unknownSetting: 1 }))).toMatch(/bynder: unknown field\(s\) "unknownSetting"/);
    expect(configError(withBynder({ ...BYNDER, createCredentialsSecret: 'yes' }))).toMatch(/bynder\.createCredentialsSecret/);
  });

  it('refuses a per-instance budget that all instances together would push past 4,500 requests in 5 minutes', () => {
    // The schema's default of 10 requests/s: 5 instances x 10 = 50/s.
    const { requestsPerSecond: _default, ...withDefaultBudget } = BYNDER;
    expect(configError(withBynder(withDefaultBudget))).toMatch(
      /bynder\.requestsPerSecond: 10 per instance x 5 instances .* is 50 requests\/s, more than the 15 requests\/s Bynder allows .* at most 3\b/,
    );
    const entry = { ...withBynder(BYNDER), ingest: { ...(environmentEntry('dev').ingest as object), maxConcurrency: 10 } };
    expect(configError(entry)).toMatch(/x 13 instances/);
    const config = loadEnvironmentConfig({ dev: withBynder(BYNDER) }, 'dev');
    expect(bynderPeakRequestsPerSecond({ ...config, bynder: config.bynder! })).toBe(15);
  });

  it('refuses the iBinder secret as the Bynder secret', () => {
    const ibinderSecret = (environmentEntry('dev').credentialsSecret as { secretName: string }).secretName;
    expect(configError(withBynder({ ...BYNDER, credentialsSecretName: ibinderSecret }))).toMatch(
      /bynder\.credentialsSecretName: .* is the iBinder secret too/,
    );
  });
});

describe('the Bynder credentials secret', () => {
  it('is created with the placeholder when asked, and named in an output', () => {
    const bynder = synth.stack.connectorCredentials.secretOf('bynder');
    const secret = propertiesOf(synth.template, logicalIdOf(bynder.secret));
    expect(secret).toMatchObject({ Name: BYNDER.credentialsSecretName, SecretString: '{"clientId":"","clientSecret":""}' });
    expect(synth.template.findOutputs('BynderCredentialsSecretName').BynderCredentialsSecretName?.Value).toBe(BYNDER.credentialsSecretName);
  });

  it('is imported by name by default: nothing created', () => {
    const { createCredentialsSecret: _create, ...imported } = BYNDER;
    const importing = synthesizePipeline('dev', { entry: withBynder(imported) });
    try {
      const names = Object.values(importing.template.findResources('AWS::SecretsManager::Secret')).map(
        (r) => (r as { Properties: { Name: string } }).Properties.Name,
      );
      expect(names).not.toContain(BYNDER.credentialsSecretName);
      const ingestStatements = statementsOfRole(importing.template, importing.stack.ingestFunction.role);
      expect(ingestStatements.flatMap((s) => s.resources).some((r) => r.includes(secretArnPattern(BYNDER.credentialsSecretName)))).toBe(
        true,
      );
    } finally {
      importing.dispose();
    }
  });

  it('is readable by the ingest, planner and worker functions, and no other role', () => {
    const bynderArn = `<${logicalIdOf(synth.stack.connectorCredentials.secretOf('bynder').secret)}>`;
    const readsBynder = (statements: ReturnType<typeof allPolicyStatements>) =>
      statements.some((s) => s.resources.includes(bynderArn) && s.actions.includes('secretsmanager:GetSecretValue'));
    for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
      expect(readsBynder(statementsOfRole(synth.template, fn.role)), fn.node.id).toBe(true);
    }
    const readers = allPolicyStatements(synth.template).filter((s) => s.resources.includes(bynderArn));
    expect(readers).toHaveLength(3);
  });
});

describe('cdk-nag', () => {
  it('an environment with Bynder has no unacknowledged AwsSolutions finding', () => {
    const { stack } = buildPipelineApp('dev', { entry: withBynder(BYNDER) });
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});
