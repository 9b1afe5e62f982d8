/**
 * cdk-nag's AwsSolutions pack over every environment in cdk.json: no finding left that is not
 * fixed or acknowledged in code with its reason. cdk-nag 3 reports through CDK's policy
 * validation (a report, and a failed synth with `-c nag=true`), not through annotations.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildPipelineApp, readCdkJson, synthesizePipeline } from './stack-fixtures.js';

interface Finding {
  rule: string;
  severity: string;
  paths: string[];
}

function findingsOf(stack: Stack): Finding[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  return report.violations.map((v) => ({
    rule: v.ruleName,
    severity: String(v.severity),
    paths: v.violatingResources.map((r) => (r as { constructPath?: string }).constructPath ?? String(r.resourceLogicalId)),
  }));
}

describe('cdk-nag AwsSolutions', () => {
  it('is live: a bucket without logging or TLS enforcement is reported', () => {
    const stack = new Stack(new App(), 'Probe');
    new s3.Bucket(stack, 'Naked');
    const rules = findingsOf(stack).map((f) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });

  it.each(Object.keys(readCdkJson().context.environments))(
    '%s: no unacknowledged finding, and no CDK error or warning (deprecated or ignored settings)',
    (envName) => {
      const { stack } = buildPipelineApp(envName);
      expect(findingsOf(stack)).toEqual([]);
      const annotations = Annotations.fromStack(stack);
      expect(annotations.findError('*', Match.anyValue())).toEqual([]);
      expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    },
  );

  it('runs during synth with -c nag=true and lets the clean stack through', () => {
    const synth = synthesizePipeline('dev', { context: { nag: 'true' } });
    try {
      expect(() => synth.app.synth({ force: true })).not.toThrow();
    } finally {
      synth.dispose();
    }
  });

  it('fails the synth with -c nag=true when a finding is not acknowledged', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'pipeline-nag-'));
    try {
      const { app, stack } = buildPipelineApp('dev', { context: { nag: 'true' } }, outdir);
      new s3.Bucket(stack, 'Unlogged', { enforceSSL: true });
      expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
