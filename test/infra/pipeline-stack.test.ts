/**
 * The dev stack as `cdk synth -c env=dev` builds it, functions bundled by esbuild. Each
 * secure default and each least-privilege grant is asserted on the template.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, PipelineConfigSchema } from '../../shared/config/runtime.js';
import { loadEnvironmentConfig, toPipelineConfig, type EnvironmentConfig } from '../../infra/config.js';
import { ESM_REQUIRE_BANNER } from '../../infra/constructs/pipeline-function.js';
import { METRICS_NAMESPACE, SERVICE_NAMES, inboxBucketName } from '../../infra/pipeline-stack.js';
import {
  actionsOn,
  allPolicyStatements,
  logicalIdOf,
  propertiesOf,
  readCdkJson,
  render,
  statementsOfRole,
  synthesizePipeline,
  type Statement,
  type SynthesizedPipeline,
} from './stack-fixtures.js';

const run = promisify(execFile);

let synth: SynthesizedPipeline;
let config: EnvironmentConfig;

beforeAll(() => {
  config = loadEnvironmentConfig(readCdkJson().context.environments, 'dev');
  synth = synthesizePipeline('dev', { bundle: true });
});
afterAll(() => synth.dispose());

const ids = () => ({
  inbox: logicalIdOf(synth.stack.inboxBucket),
  archive: logicalIdOf(synth.stack.archiveBucket),
  logs: logicalIdOf(synth.stack.accessLogBucket),
  ingestQueue: logicalIdOf(synth.stack.ingestQueue.queue),
  ingestDlq: logicalIdOf(synth.stack.ingestQueue.deadLetterQueue),
  exportQueue: logicalIdOf(synth.stack.exportQueue.queue),
  exportDlq: logicalIdOf(synth.stack.exportQueue.deadLetterQueue),
  plannerDlq: logicalIdOf(synth.stack.plannerDeadLetterQueue),
  ledger: logicalIdOf(synth.stack.ledger.table),
  exportLedger: logicalIdOf(synth.stack.exportLedger.table),
  secret: logicalIdOf(synth.stack.credentials.secret),
  ingestFn: logicalIdOf(synth.stack.ingestFunction.function),
  plannerFn: logicalIdOf(synth.stack.plannerFunction.function),
  workerFn: logicalIdOf(synth.stack.workerFunction.function),
});

function environmentOf(functionId: string): Record<string, unknown> {
  return (propertiesOf(synth.template, functionId).Environment as { Variables: Record<string, unknown> }).Variables;
}

describe('stack', () => {
  it('is named after the environment and deploys to its account and region', () => {
    expect(synth.stack.stackName).toBe('IbinderPipeline-dev');
    expect(synth.stack.account).toBe(config.account);
    expect(synth.stack.region).toBe(config.region);
  });

  it('tags every taggable resource with the environment', () => {
    const resources = Object.values(synth.template.toJSON().Resources as Record<string, { Properties?: { Tags?: unknown } }>);
    const tagged = resources.filter((r) => Array.isArray(r.Properties?.Tags));
    expect(tagged.length).toBeGreaterThan(10);
    for (const r of tagged) expect(r.Properties?.Tags).toContainEqual({ Key: 'environment', Value: 'dev' });
  });

  it('uses no custom-resource Lambda functions (bucket notifications, log retention, auto-delete)', () => {
    synth.template.resourceCountIs('AWS::Lambda::Function', 3);
    expect(Object.keys(synth.template.findResources('Custom::S3BucketNotifications'))).toEqual([]);
  });

  it('outputs what operators need', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const i = ids();
    expect(render(outputs.InboxBucketName?.Value)).toBe(`<${i.inbox}>`);
    expect(render(outputs.ArchiveBucketName?.Value)).toBe(`<${i.archive}>`);
    expect(render(outputs.IngestQueueUrl?.Value)).toBe(`<${i.ingestQueue}>`);
    expect(render(outputs.IngestDeadLetterQueueUrl?.Value)).toBe(`<${i.ingestDlq}>`);
    expect(render(outputs.ExportQueueUrl?.Value)).toBe(`<${i.exportQueue}>`);
    expect(render(outputs.ExportDeadLetterQueueUrl?.Value)).toBe(`<${i.exportDlq}>`);
    expect(render(outputs.PlannerDeadLetterQueueUrl?.Value)).toBe(`<${i.plannerDlq}>`);
    expect(render(outputs.LedgerTableName?.Value)).toBe(`<${i.ledger}>`);
    expect(render(outputs.ExportLedgerTableName?.Value)).toBe(`<${i.exportLedger}>`);
    expect(outputs.CredentialsSecretName?.Value).toBe(config.credentialsSecret.secretName);
  });
});

describe('inbox bucket', () => {
  it('is versioned, encrypted, private, and has a predictable name', () => {
    expect(propertiesOf(synth.template, ids().inbox)).toMatchObject({
      BucketName: inboxBucketName('dev', config.account, config.region),
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('logs server access to the log bucket', () => {
    expect(propertiesOf(synth.template, ids().inbox).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: ids().logs },
      LogFilePrefix: 'inbox-bucket/',
    });
  });

  it('expires noncurrent versions and rejected objects, and aborts stale multipart uploads', () => {
    const rules = (propertiesOf(synth.template, ids().inbox).LifecycleConfiguration as { Rules: unknown[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          NoncurrentVersionExpiration: { NoncurrentDays: config.inbox.noncurrentVersionExpirationDays },
          Status: 'Enabled',
        }),
        expect.objectContaining({ Prefix: 'rejected/', ExpirationInDays: config.inbox.rejectedExpirationDays, Status: 'Enabled' }),
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 }, Status: 'Enabled' }),
      ]),
    );
    // The noncurrent-version rule covers the whole bucket (inbox/ objects disposed of by delete).
    const noncurrent = rules.find((r) => (r as Record<string, unknown>).NoncurrentVersionExpiration) as Record<string, unknown>;
    expect(noncurrent.Prefix).toBeUndefined();
  });

  it('sends ObjectCreated events under inbox/ to the ingest queue, after the queue allows it', () => {
    const i = ids();
    expect(propertiesOf(synth.template, i.inbox).NotificationConfiguration).toEqual({
      QueueConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'inbox/' }] } },
          Queue: { 'Fn::GetAtt': [i.ingestQueue, 'Arn'] },
        },
      ],
    });
    const queuePolicyId = Object.entries(synth.template.findResources('AWS::SQS::QueuePolicy')).find(([, p]) =>
      JSON.stringify(p).includes('s3.amazonaws.com'),
    )?.[0];
    expect(queuePolicyId).toBeDefined();
    const bucket = synth.template.toJSON().Resources[i.inbox] as { DependsOn?: string[] };
    expect(bucket.DependsOn).toContain(queuePolicyId);
  });

  it('lets only this bucket, in this account, publish to the ingest queue', () => {
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: ids().ingestQueue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: {
              ArnEquals: { 'aws:SourceArn': `arn:aws:s3:::${inboxBucketName('dev', config.account, config.region)}` },
              StringEquals: { 'aws:SourceAccount': config.account },
            },
          }),
        ]),
      },
    });
  });
});

describe('buckets enforce TLS', () => {
  it.each(['inbox', 'archive', 'logs'] as const)('%s bucket denies requests without TLS', (which) => {
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids()[which] },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('the access log bucket is encrypted and private, and accepts logs from the logging service', () => {
    expect(propertiesOf(synth.template, ids().logs)).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    });
    synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: ids().logs },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
  });
});

describe('queues', () => {
  it('ingest queue: SSE-SQS, redrive to its DLQ, visibility timeout 6 x function timeout + batching window', () => {
    const i = ids();
    expect(propertiesOf(synth.template, i.ingestQueue)).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [i.ingestDlq, 'Arn'] }, maxReceiveCount: config.ingest.maxReceiveCount },
      VisibilityTimeout: 6 * config.ingest.functionTimeoutSeconds + config.ingest.maxBatchingWindowSeconds,
    });
    expect(propertiesOf(synth.template, i.ingestQueue).KmsMasterKeyId).toBeUndefined();
  });

  it('export queue: SSE-SQS, redrive to its DLQ, visibility timeout 6 x worker timeout', () => {
    const i = ids();
    expect(propertiesOf(synth.template, i.exportQueue)).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [i.exportDlq, 'Arn'] }, maxReceiveCount: config.export.maxReceiveCount },
      VisibilityTimeout: 6 * config.export.workerTimeoutSeconds,
    });
  });

  it.each(['ingestDlq', 'exportDlq', 'plannerDlq'] as const)('%s is encrypted and keeps messages 14 days', (which) => {
    expect(propertiesOf(synth.template, ids()[which])).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
  });

  it('every queue denies requests without TLS', () => {
    const i = ids();
    for (const queue of [i.ingestQueue, i.ingestDlq, i.exportQueue, i.exportDlq, i.plannerDlq]) {
      synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });
});

describe('functions', () => {
  it.each(['ingestFn', 'plannerFn', 'workerFn'] as const)('%s runs Node.js 24 on arm64 with its own log group', (which) => {
    const props = propertiesOf(synth.template, ids()[which]);
    expect(props).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
    const logGroupRef = (props.LoggingConfig as { LogGroup: unknown }).LogGroup;
    expect(propertiesOf(synth.template, render(logGroupRef).slice(1, -1))).toMatchObject({ RetentionInDays: config.logRetentionDays });
    const tracing = props.TracingConfig as { Mode: string } | undefined;
    expect(tracing?.Mode ?? 'PassThrough').toBe(config.xrayTracing ? 'Active' : 'PassThrough');
  });

  it('ingest: timeout and memory from the config, variables per shared/config/runtime.ts', () => {
    const i = ids();
    expect(propertiesOf(synth.template, i.ingestFn)).toMatchObject({
      Timeout: config.ingest.functionTimeoutSeconds,
      MemorySize: config.ingest.memorySizeMb,
    });
    const env = environmentOf(i.ingestFn);
    expect(env).toMatchObject({
      [ENV.ledgerTable]: { Ref: i.ledger },
      [ENV.inboxBucket]: inboxBucketName('dev', config.account, config.region),
      POWERTOOLS_SERVICE_NAME: SERVICE_NAMES.ingest,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(PipelineConfigSchema.parse(JSON.parse(String(env[ENV.config])))).toEqual(toPipelineConfig(config, 'dev'));
  });

  it('planner and worker: export variables and timeouts from the config', () => {
    const i = ids();
    for (const [fn, service, timeout] of [
      [i.plannerFn, SERVICE_NAMES.exportPlanner, config.export.plannerTimeoutSeconds],
      [i.workerFn, SERVICE_NAMES.exportWorker, config.export.workerTimeoutSeconds],
    ] as const) {
      expect(propertiesOf(synth.template, fn).Timeout).toBe(timeout);
      const env = environmentOf(fn);
      expect(env).toMatchObject({
        [ENV.exportLedgerTable]: { Ref: i.exportLedger },
        [ENV.exportQueueUrl]: { Ref: i.exportQueue },
        [ENV.archiveBucket]: { Ref: i.archive },
        POWERTOOLS_SERVICE_NAME: service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(PipelineConfigSchema.parse(JSON.parse(String(env[ENV.config])))).toEqual(toPipelineConfig(config, 'dev'));
    }
  });

  it('planner failures after Lambda retries land in the planner DLQ', () => {
    expect(propertiesOf(synth.template, ids().plannerFn).DeadLetterConfig).toEqual({
      TargetArn: { 'Fn::GetAtt': [ids().plannerDlq, 'Arn'] },
    });
  });

  it('ingest consumes its queue in batches, reporting partial failures, with bounded concurrency', () => {
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ids().ingestFn },
      EventSourceArn: { 'Fn::GetAtt': [ids().ingestQueue, 'Arn'] },
      BatchSize: config.ingest.batchSize,
      MaximumBatchingWindowInSeconds: config.ingest.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.ingest.maxConcurrency },
    });
  });

  it('worker consumes the export queue, reporting partial failures, with bounded concurrency', () => {
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: ids().workerFn },
      EventSourceArn: { 'Fn::GetAtt': [ids().exportQueue, 'Arn'] },
      BatchSize: config.export.workerBatchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.export.workerMaxConcurrency },
    });
    synth.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
  });
});

describe('bundles', () => {
  function bundleDirs(): string[] {
    return readdirSync(synth.outdir)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(synth.outdir, d))
      .filter((d) => existsSync(join(d, 'index.mjs')));
  }

  it('are ESM built by the local esbuild, with a require shim, external source maps and no kept names', () => {
    const dirs = bundleDirs();
    expect(dirs).toHaveLength(3);
    for (const dir of dirs) {
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
      // The map is for offline symbolication: the runtime is never pointed at it.
      expect(code).not.toContain('sourceMappingURL');
      // No keepNames (its renaming calls cost cold-start time; the map names the source instead):
      // esbuild's name helper, renamed by minify, so matched by its body, not by `__name`.
      expect(code).not.toMatch(/\(\w+,"name",\{value:\w+,configurable:!0\}\)/);
    }
  });

  it('load in Node.js and export a handler function', async () => {
    const probe =
      'const m = await import(process.argv[1]); if (typeof m.handler !== "function") { console.error("no handler export"); process.exit(3); }';
    for (const dir of bundleDirs()) {
      const env = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: config.region,
        [ENV.config]: JSON.stringify(toPipelineConfig(config, 'dev')),
        [ENV.ledgerTable]: 'ledger',
        [ENV.exportLedgerTable]: 'export-ledger',
        [ENV.exportQueueUrl]: 'https://sqs.eu-north-1.amazonaws.com/111122223333/export',
        [ENV.archiveBucket]: 'archive',
        POWERTOOLS_SERVICE_NAME: 'bundle-probe',
        POWERTOOLS_METRICS_NAMESPACE: 'BundleProbe',
      };
      await expect(
        run(process.execPath, ['--input-type=module', '-e', probe, join(dir, 'index.mjs')], { env, timeout: 30_000 }),
      ).resolves.toBeDefined();
    }
  });
});

describe('least-privilege IAM', () => {
  const ingest = (): Statement[] => statementsOfRole(synth.template, synth.stack.ingestFunction.role);
  const planner = (): Statement[] => statementsOfRole(synth.template, synth.stack.plannerFunction.role);
  const worker = (): Statement[] => statementsOfRole(synth.template, synth.stack.workerFunction.role);

  it('no statement has Resource "*" except X-Ray, which has no resource-level permissions', () => {
    const wildcard = allPolicyStatements(synth.template).filter((s) => s.resources.includes('*'));
    for (const s of wildcard) expect(s.actions.every((a) => a.startsWith('xray:'))).toBe(true);
  });

  it('no action is a wildcard, and nothing may scan, query or bulk-write a table', () => {
    const actions = allPolicyStatements(synth.template).flatMap((s) => s.actions);
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    for (const forbidden of ['dynamodb:Scan', 'dynamodb:Query', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteTable']) {
      expect(actions).not.toContain(forbidden);
    }
  });

  it('roles carry no managed policies (no account-wide AWSLambdaBasicExecutionRole)', () => {
    for (const role of Object.values(synth.template.findResources('AWS::IAM::Role'))) {
      expect((role as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('each function writes logs only to its own log group', () => {
    for (const fn of [synth.stack.ingestFunction, synth.stack.plannerFunction, synth.stack.workerFunction]) {
      const statements = statementsOfRole(synth.template, fn.role).filter((s) => s.actions.some((a) => a.startsWith('logs:')));
      expect(statements).toEqual([
        { effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${logicalIdOf(fn.logGroup)}.Arn>`] },
      ]);
    }
  });

  it('ingest reads and disposes of objects under inbox/ only', () => {
    expect(actionsOn(ingest(), `<${ids().inbox}.Arn>/inbox/*`)).toEqual([
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObject',
      's3:GetObjectTagging',
      's3:GetObjectVersion',
      's3:GetObjectVersionTagging',
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging',
    ]);
  });

  it('ingest writes under rejected/ only, and may list the inbox bucket (404 instead of 403 for a gone object)', () => {
    const i = ids();
    expect(actionsOn(ingest(), `<${i.inbox}.Arn>/rejected/*`)).toEqual(['s3:AbortMultipartUpload', 's3:PutObject', 's3:PutObjectTagging']);
    expect(actionsOn(ingest(), `<${i.inbox}.Arn>`)).toEqual(['s3:ListBucket']);
    const s3Resources = ingest()
      .filter((s) => s.actions.some((a) => a.startsWith('s3:')))
      .flatMap((s) => s.resources);
    expect(new Set(s3Resources)).toEqual(new Set([`<${i.inbox}.Arn>/inbox/*`, `<${i.inbox}.Arn>/rejected/*`, `<${i.inbox}.Arn>`]));
  });

  it('ingest uses single items of its own ledger, consumes its own queue and reads the one secret', () => {
    const i = ids();
    expect(actionsOn(ingest(), `<${i.ledger}.Arn>`)).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(actionsOn(ingest(), `<${i.ingestQueue}.Arn>`)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    expect(actionsOn(ingest(), `<${i.secret}>`)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    const touched = new Set(ingest().flatMap((s) => s.resources));
    for (const other of [i.exportLedger, i.exportQueue, i.archive]) {
      expect([...touched].some((r) => r.includes(other))).toBe(false);
    }
  });

  it('planner sends to the export queue only, uses the export ledger and writes manifests/ only', () => {
    const i = ids();
    expect(actionsOn(planner(), `<${i.exportQueue}.Arn>`)).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(actionsOn(planner(), `<${i.archive}.Arn>/manifests/*`)).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(planner().find((s) => s.actions.includes('s3:ListBucket'))).toEqual({
      effect: 'Allow',
      actions: ['s3:ListBucket'],
      resources: [`<${i.archive}.Arn>`],
      condition: { StringLike: { 's3:prefix': ['manifests/*'] } },
    });
    expect(actionsOn(planner(), `<${i.exportLedger}.Arn>`)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOn(planner(), `<${i.secret}>`)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    const s3Resources = planner()
      .filter((s) => s.actions.some((a) => a.startsWith('s3:')))
      .flatMap((s) => s.resources);
    expect(new Set(s3Resources)).toEqual(new Set([`<${i.archive}.Arn>/manifests/*`, `<${i.archive}.Arn>`]));
    expect(planner().some((s) => s.actions.includes('sqs:ReceiveMessage'))).toBe(false);
  });

  it('worker reads and writes archive objects under the tenant prefix and manifests/ only, lists it unconditionally, consumes the export queue', () => {
    const i = ids();
    expect(actionsOn(worker(), `<${i.archive}.Arn>/${config.tenantId}/*`)).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:PutObject',
    ]);
    expect(actionsOn(worker(), `<${i.archive}.Arn>/manifests/*`)).toEqual(['s3:GetObject', 's3:PutObject']);
    expect(actionsOn(worker(), `<${i.archive}.Arn>/*`)).toEqual([]);
    // A missing sidecar must read as 404, which S3 only answers with an unconditional ListBucket.
    const list = worker().find((s) => s.actions.includes('s3:ListBucket'));
    expect(list?.resources).toEqual([`<${i.archive}.Arn>`]);
    expect(list?.condition).toBeUndefined();
    expect(actionsOn(worker(), `<${i.exportQueue}.Arn>`)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    expect(actionsOn(worker(), `<${i.exportLedger}.Arn>`)).toContain('dynamodb:PutItem');
    expect(actionsOn(worker(), `<${i.secret}>`)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    const actions = worker().flatMap((s) => s.actions);
    expect(actions).not.toContain('s3:DeleteObject');
    expect(actions).not.toContain('sqs:SendMessage');
    expect([...new Set(worker().flatMap((s) => s.resources))].some((r) => r.includes(i.inbox))).toBe(false);
  });
});

describe('ledger tables', () => {
  it.each(['ledger', 'exportLedger'] as const)('%s: on demand, PITR, pk string only, TTL expiresAt, AWS-managed encryption', (which) => {
    expect(propertiesOf(synth.template, ids()[which])).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: expect.arrayContaining([{ AttributeName: 'pk', AttributeType: 'S' }]),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('the ingest ledger has the index by object key that `status` queries; the export ledger has none', () => {
    expect(propertiesOf(synth.template, ids().ledger)).toMatchObject({
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byObjectKey',
          KeySchema: [
            { AttributeName: 'objectKey', KeyType: 'HASH' },
            { AttributeName: 'bucket', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['objectVersionId'] },
        },
      ],
    });
    expect(propertiesOf(synth.template, ids().exportLedger)).not.toHaveProperty('GlobalSecondaryIndexes');
  });

  it('follow the removal policy of the config (dev: destroy)', () => {
    const resources = synth.template.toJSON().Resources as Record<string, { DeletionPolicy?: string }>;
    expect(resources[ids().ledger]?.DeletionPolicy).toBe('Delete');
    expect(resources[ids().exportLedger]?.DeletionPolicy).toBe('Delete');
  });
});

describe('credentials secret (created in dev)', () => {
  it('holds only the empty placeholder', () => {
    expect(propertiesOf(synth.template, ids().secret)).toMatchObject({
      Name: config.credentialsSecret.secretName,
      SecretString: JSON.stringify({ clientId: '', clientSecret: '' }),
    });
  });
});

describe('archive bucket and nightly schedule', () => {
  it('archive: versioned, encrypted, private, logged, transitions after archiveTransitionDays', () => {
    const props = propertiesOf(synth.template, ids().archive);
    expect(props).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: ids().logs }, LogFilePrefix: 'archive-bucket/' },
    });
    expect((props.LifecycleConfiguration as { Rules: unknown[] }).Rules).toContainEqual(
      expect.objectContaining({
        Transitions: [{ StorageClass: config.export.archiveStorageClass, TransitionInDays: config.export.archiveTransitionDays }],
        Status: 'Enabled',
      }),
    );
  });

  it('runs the planner on the configured cron in the configured time zone with a schedule payload', () => {
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: config.export.scheduleCron,
      ScheduleExpressionTimezone: config.export.scheduleTimeZone,
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [ids().plannerFn, 'Arn'] },
        Input: JSON.stringify({ source: 'schedule' }),
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [ids().plannerDlq, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: Match.anyValue(), MaximumEventAgeInSeconds: Match.anyValue() },
      },
    });
  });

  it('the scheduler role may invoke exactly the planner and dead-letter to its DLQ, nothing else', () => {
    const role = synth.stack.exportSchedule.role;
    expect(propertiesOf(synth.template, ids().plannerFn)).toBeDefined();
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ RoleArn: { 'Fn::GetAtt': [logicalIdOf(role), 'Arn'] } }),
    });
    expect(statementsOfRole(synth.template, role)).toEqual([
      { effect: 'Allow', actions: ['lambda:InvokeFunction'], resources: [`<${ids().plannerFn}.Arn>`] },
      { effect: 'Allow', actions: ['sqs:SendMessage'], resources: [`<${ids().plannerDlq}.Arn>`] },
    ]);
    const trust = propertiesOf(synth.template, logicalIdOf(role)).AssumeRolePolicyDocument as { Statement: unknown[] };
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: { StringEquals: expect.objectContaining({ 'aws:SourceAccount': config.account }) },
      }),
    ]);
  });
});
