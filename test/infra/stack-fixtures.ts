/**
 * Builds the pipeline app the way `cdk synth` does (context from cdk.json plus `env`), and reads
 * the synthesized template in terms the assertions can compare: IAM statements per role, with
 * CloudFormation references rendered as `<LogicalId.Attr>` strings.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { createPipelineApp, type PipelineApp } from '../../infra/pipeline-app.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

export interface CdkJson {
  app: string;
  context: Record<string, unknown> & { environments: Record<string, Record<string, unknown>> };
}

export function readCdkJson(): CdkJson {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as CdkJson;
}

/** A deep copy of one environment entry of cdk.json, to change in a test. */
export function environmentEntry(envName: string): Record<string, unknown> {
  const entry = readCdkJson().context.environments[envName];
  if (!entry) throw new Error(`cdk.json has no environment "${envName}"`);
  return structuredClone(entry);
}

export interface SynthesizeOptions {
  /** Replaces the environment's entry in cdk.json. */
  entry?: Record<string, unknown>;
  /** Extra context, e.g. `{ nag: 'true' }`. */
  context?: Record<string, unknown>;
  /** Run esbuild for the functions (slow); otherwise the CDK skips bundling. @default false */
  bundle?: boolean;
}

export interface SynthesizedPipeline extends PipelineApp {
  template: Template;
  /** The cloud assembly directory (assets live here when bundled). */
  outdir: string;
  dispose(): void;
}

/** Context that tells the CDK to bundle no stack's assets. */
const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export function buildPipelineApp(envName: string, options: SynthesizeOptions = {}, outdir?: string): PipelineApp {
  const cdkJson = readCdkJson();
  const environments = options.entry ? { ...cdkJson.context.environments, [envName]: options.entry } : cdkJson.context.environments;
  return createPipelineApp({
    ...(outdir !== undefined ? { outdir } : {}),
    context: {
      ...cdkJson.context,
      environments,
      env: envName,
      ...(options.bundle ? {} : SKIP_BUNDLING),
      ...options.context,
    },
  });
}

export function synthesizePipeline(envName: string, options: SynthesizeOptions = {}): SynthesizedPipeline {
  const outdir = mkdtempSync(join(tmpdir(), 'pipeline-cdk-out-'));
  const built = buildPipelineApp(envName, options, outdir);
  const template = Template.fromStack(built.stack);
  return { ...built, template, outdir, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** The logical id of a CloudFormation element, or of a construct's default resource. */
export function logicalIdOf(construct: IConstruct): string {
  const cfn = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!cfn || !CfnElement.isCfnElement(cfn)) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(cfn).getLogicalId(cfn);
}

/** `{Ref: X}` -> `<X>`, `{Fn::GetAtt: [X, Arn]}` -> `<X.Arn>`, joins concatenated, strings as they are. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const getAtt = o['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.map(String).join('.')}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return (join[1] as unknown[]).map(render).join(join[0]);
    }
  }
  return JSON.stringify(value);
}

export interface Statement {
  effect: string;
  actions: string[];
  resources: string[];
  condition?: Record<string, unknown>;
}

function toList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

function normalize(raw: Record<string, unknown>): Statement {
  return {
    effect: String(raw.Effect),
    actions: toList(raw.Action).map(String).sort(),
    resources: toList(raw.Resource).map(render),
    ...(raw.Condition ? { condition: raw.Condition as Record<string, unknown> } : {}),
  };
}

/** Every statement of every AWS::IAM::Policy in the template. */
export function allPolicyStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    toList((policy as { Properties: { PolicyDocument: { Statement: unknown } } }).Properties.PolicyDocument.Statement).map((s) =>
      normalize(s as Record<string, unknown>),
    ),
  );
}

/** The statements of the identity policies attached to one role. */
export function statementsOfRole(template: Template, role: iam.Role): Statement[] {
  const roleId = logicalIdOf(role);
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => toList((policy as { Properties: { Roles?: unknown } }).Properties.Roles).some((r) => render(r) === `<${roleId}>`))
    .flatMap((policy) =>
      toList((policy as { Properties: { PolicyDocument: { Statement: unknown } } }).Properties.PolicyDocument.Statement).map((s) =>
        normalize(s as Record<string, unknown>),
      ),
    );
}

/** The actions a role is allowed on one rendered resource, sorted. */
export function actionsOn(statements: Statement[], resource: string): string[] {
  return statements
    .filter((s) => s.effect === 'Allow' && s.resources.includes(resource))
    .flatMap((s) => s.actions)
    .sort();
}

/** The Properties of the one resource with this logical id. */
export function propertiesOf(template: Template, logicalId: string): Record<string, unknown> {
  const resource = template.toJSON().Resources?.[logicalId] as { Properties?: Record<string, unknown> } | undefined;
  if (!resource) throw new Error(`no resource ${logicalId} in the template`);
  return resource.Properties ?? {};
}
