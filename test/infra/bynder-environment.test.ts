/**
 * An environment with the Bynder connector: its block in cdk.json validated with the connector's
 * own schema, written into PIPELINE_CONFIG, its secret created or imported and readable by the
 * ingest and export functions only, its rate budget checked across instances, and cdk-nag clean.
 * Synthesized without bundling: only the template matters here.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bynderPeakRequestsPerSecond,
  bynderRequestsPerSecondPerInstance,
  DEFAULT_BYNDER_TOTAL_REQUESTS_PER_SECOND,
  loadEnvironmentConfig,
} from '../../infra/config.js';
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

/** dev runs 2 ingest + 2 worker instances and the planner: the portal's total of 12 requests/s is 2.4/s each. */
const BYNDER = {
  portalUrl: 'https://example.bynder.com',
  credentialsSecretName: 'ibinder-pipeline/dev/bynder-client',
  createCredentialsSecret: true,
  requestsPerSecond: 12,
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
  it("is written into PIPELINE_CONFIG of every function, with the schema defaults, one instance's share of the budget, and without the stack-only setting", () => {
    for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
      const variables = (propertiesOf(synth.template, logicalIdOf(fn.function)).Environment as { Variables: Record<string, unknown> })
        .Variables;
      const runtime = PipelineConfigSchema.parse(JSON.parse(String(variables.PIPELINE_CONFIG)));
      expect(runtime.bynder).toMatchObject({
        portalUrl: BYNDER.portalUrl,
        credentialsSecretName: BYNDER.credentialsSecretName,
        requestsPerSecond: 2.4,
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

  it("takes requestsPerSecond as the portal's total budget: the default 10/s is accepted and shared by every instance", () => {
    const { requestsPerSecond: _total, ...withDefaultBudget } = BYNDER;
    const config = loadEnvironmentConfig({ dev: withBynder(withDefaultBudget) }, 'dev');
    expect(config.bynder?.requestsPerSecond).toBe(DEFAULT_BYNDER_TOTAL_REQUESTS_PER_SECOND);
    // 2 ingest + 2 workers + the planner share 10/s: 2 each.
    expect(bynderRequestsPerSecondPerInstance({ ...config, bynder: config.bynder! })).toBe(2);
    const defaulted = synthesizePipeline('dev', { entry: withBynder(withDefaultBudget) });
    try {
      const variables = (
        propertiesOf(defaulted.template, logicalIdOf(defaulted.stack.ingestFunction.function)).Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(PipelineConfigSchema.parse(JSON.parse(String(variables.PIPELINE_CONFIG))).bynder?.requestsPerSecond).toBe(2);
    } finally {
      defaulted.dispose();
    }
  });

  it('rounds each share down to 2 decimals, so that all instances together never exceed the total', () => {
    const entry = {
      ...withBynder({ ...BYNDER, requestsPerSecond: 15 }),
      ingest: { ...(environmentEntry('dev').ingest as object), maxConcurrency: 10 },
    };
    const config = loadEnvironmentConfig({ dev: entry }, 'dev');
    // 10 ingest + 2 workers + the planner = 13 instances: 15 / 13 = 1.1538...
    expect(bynderRequestsPerSecondPerInstance({ ...config, bynder: config.bynder! })).toBe(1.15);
    expect(bynderPeakRequestsPerSecond({ ...config, bynder: config.bynder! })).toBeLessThanOrEqual(15);
  });

  it('refuses a total budget over 15 requests/s (4,500 in 5 minutes), at synth', () => {
    expect(configError(withBynder({ ...BYNDER, requestsPerSecond: 16 }))).toMatch(
      /bynder\.requestsPerSecond: 16 requests\/s is the portal's total budget over every instance, more than the 15 requests\/s Bynder allows .* at most 15/,
    );
    expect(() => loadEnvironmentConfig({ dev: withBynder({ ...BYNDER, requestsPerSecond: 15 }) }, 'dev')).not.toThrow();
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
