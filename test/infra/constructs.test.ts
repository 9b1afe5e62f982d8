/**
 * Each construct's secure defaults, and that a prop overrides them, in a stack of its own.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { AccessLogBucket } from '../../infra/constructs/access-log-bucket.js';
import { CREDENTIALS_PLACEHOLDER, CredentialsSecret } from '../../infra/constructs/credentials-secret.js';
import { LedgerTable } from '../../infra/constructs/ledger-table.js';
import { NightlyExportSchedule, SCHEDULE_PAYLOAD } from '../../infra/constructs/nightly-export-schedule.js';
import { PipelineFunction } from '../../infra/constructs/pipeline-function.js';
import { QueueWithDlq, visibilityTimeoutFor } from '../../infra/constructs/queue-with-dlq.js';
import { SecureBucket } from '../../infra/constructs/secure-bucket.js';
import { functionEntry } from '../../infra/paths.js';
import { logicalIdOf, propertiesOf, statementsOfRole } from './stack-fixtures.js';

function testStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'ConstructTest', { env: { account: '123456789012', region: 'eu-north-1' } });
}

type Resource = { DeletionPolicy?: string; Properties: Record<string, unknown> };
const resourceOf = (template: Template, id: string): Resource => template.toJSON().Resources[id] as Resource;

describe('SecureBucket', () => {
  it('defaults: versioned, SSE-S3, public access blocked, TLS only, logged, multipart cleanup, retained', () => {
    const stack = testStack();
    const logs = new AccessLogBucket(stack, 'Logs').bucket;
    const secure = new SecureBucket(stack, 'Data', { serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'data/' });
    const template = Template.fromStack(stack);
    const bucket = resourceOf(template, logicalIdOf(secure.bucket));
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(logs) }, LogFilePrefix: 'data/' },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(logs) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'logging.s3.amazonaws.com' },
            Action: 's3:PutObject',
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalIdOf(secure.bucket), 'Arn'] } },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
          }),
        ]),
      },
    });
    // Log delivery is granted by policy, never by ACL.
    expect(propertiesOf(template, logicalIdOf(logs)).AccessControl).toBeUndefined();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalIdOf(secure.bucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('takes a customer-managed key, and grants use of it with object actions', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const logs = new AccessLogBucket(stack, 'Logs').bucket;
    const secure = new SecureBucket(stack, 'Data', {
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'data/',
      encryptionKey: key,
      versioned: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secure.grantObjectActions(role, 'in/*', ['s3:GetObject']);
    const template = Template.fromStack(stack);
    const bucket = resourceOf(template, logicalIdOf(secure.bucket));
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties.VersioningConfiguration).toBeUndefined();
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] } },
        },
      ],
    });
    const statements = statementsOfRole(template, role);
    expect(statements).toContainEqual({ effect: 'Allow', actions: ['s3:GetObject'], resources: [`<${logicalIdOf(secure.bucket)}.Arn>/in/*`] });
    expect(statements.find((s) => s.actions.includes('kms:Decrypt'))?.resources).toEqual([`<${logicalIdOf(key)}.Arn>`]);
  });

  it('grantList scopes listing to a prefix when given one', () => {
    const stack = testStack();
    const secure = new SecureBucket(stack, 'Data', {
      serverAccessLogsBucket: new AccessLogBucket(stack, 'Logs').bucket,
      serverAccessLogsPrefix: 'data/',
    });
    const scoped = new iam.Role(stack, 'Scoped', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const whole = new iam.Role(stack, 'Whole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secure.grantList(scoped, 'manifests/');
    secure.grantList(whole);
    const template = Template.fromStack(stack);
    const arn = `<${logicalIdOf(secure.bucket)}.Arn>`;
    expect(statementsOfRole(template, scoped)).toEqual([
      { effect: 'Allow', actions: ['s3:ListBucket'], resources: [arn], condition: { StringLike: { 's3:prefix': ['manifests/*'] } } },
    ]);
    expect(statementsOfRole(template, whole)).toEqual([{ effect: 'Allow', actions: ['s3:ListBucket'], resources: [arn] }]);
  });
});

describe('AccessLogBucket', () => {
  it('is encrypted with SSE-S3 (the only kind log delivery supports), private, TLS only, expiring, retained', () => {
    const stack = testStack();
    const logs = new AccessLogBucket(stack, 'Logs').bucket;
    const template = Template.fromStack(stack);
    const bucket = resourceOf(template, logicalIdOf(logs));
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 365 })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('takes another expiration', () => {
    const stack = testStack();
    const logs = new AccessLogBucket(stack, 'Logs', { expirationDays: 30 }).bucket;
    const rules = (propertiesOf(Template.fromStack(stack), logicalIdOf(logs)).LifecycleConfiguration as { Rules: unknown[] }).Rules;
    expect(rules).toEqual([expect.objectContaining({ ExpirationInDays: 30 })]);
  });
});

describe('QueueWithDlq', () => {
  it('visibility timeout is 6 x consumer timeout + batching window', () => {
    expect(visibilityTimeoutFor(Duration.seconds(300), Duration.seconds(5)).toSeconds()).toBe(1805);
    expect(visibilityTimeoutFor(Duration.minutes(15)).toSeconds()).toBe(5400);
  });

  it('defaults: SSE-SQS on both queues, 14-day DLQ, redrive after maxReceiveCount', () => {
    const stack = testStack();
    const q = new QueueWithDlq(stack, 'Work', { consumerTimeout: Duration.seconds(60), maxReceiveCount: 4 });
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(q.queue))).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      MessageRetentionPeriod: 4 * 86_400,
      RedrivePolicy: { maxReceiveCount: 4, deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(q.deadLetterQueue), 'Arn'] } },
    });
    expect(propertiesOf(template, logicalIdOf(q.deadLetterQueue))).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
      2,
    );
  });

  it('takes another encryption', () => {
    const stack = testStack();
    const q = new QueueWithDlq(stack, 'Work', {
      consumerTimeout: Duration.seconds(60),
      maxReceiveCount: 4,
      encryption: sqs.QueueEncryption.KMS_MANAGED,
    });
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(q.queue)).KmsMasterKeyId).toBe('alias/aws/sqs');
  });
});

describe('LedgerTable', () => {
  it('defaults: retained with deletion protection', () => {
    const stack = testStack();
    const ledger = new LedgerTable(stack, 'Ledger');
    const template = Template.fromStack(stack);
    const table = resourceOf(template, logicalIdOf(ledger.table));
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('destroyable tables are not deletion-protected', () => {
    const stack = testStack();
    const ledger = new LedgerTable(stack, 'Ledger', { removalPolicy: RemovalPolicy.DESTROY });
    expect(propertiesOf(Template.fromStack(stack), logicalIdOf(ledger.table)).DeletionProtectionEnabled).toBe(false);
  });

  it('grants single-item access, with batch read and delete only when asked', () => {
    const stack = testStack();
    const ledger = new LedgerTable(stack, 'Ledger');
    const plain = new iam.Role(stack, 'Plain', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const full = new iam.Role(stack, 'Full', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    ledger.grantRecordReadWrite(plain);
    ledger.grantRecordReadWrite(full, { batchRead: true, deleteItem: true });
    const template = Template.fromStack(stack);
    const tableArn = `<${logicalIdOf(ledger.table)}.Arn>`;
    expect(statementsOfRole(template, plain)).toEqual([
      {
        effect: 'Allow',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [tableArn],
      },
    ]);
    expect(statementsOfRole(template, full)[0]?.actions).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });
});

describe('CredentialsSecret', () => {
  it('imports by name without creating anything', () => {
    const stack = testStack();
    const creds = new CredentialsSecret(stack, 'Creds', { secretName: 'team/ibinder', create: false });
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(creds.secretName).toBe('team/ibinder');
  });

  it('creates a retained secret holding only the empty placeholder', () => {
    const stack = testStack();
    const creds = new CredentialsSecret(stack, 'Creds', { secretName: 'team/ibinder', create: true });
    const secret = resourceOf(Template.fromStack(stack), logicalIdOf(creds.secret));
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(JSON.parse(String(secret.Properties.SecretString))).toEqual(CREDENTIALS_PLACEHOLDER);
    expect(Object.values(CREDENTIALS_PLACEHOLDER)).toEqual(['', '']);
  });
});

describe('NightlyExportSchedule', () => {
  function build(overrides: { retryAttempts?: number; maxEventAge?: Duration } = {}) {
    const stack = testStack();
    const planner = new lambda.Function(stack, 'Planner', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });
    const dlq = new sqs.Queue(stack, 'Dlq', { encryption: sqs.QueueEncryption.SQS_MANAGED });
    const schedule = new NightlyExportSchedule(stack, 'Nightly', {
      planner,
      cronExpression: 'cron(15 3 ? * MON-FRI *)',
      timeZone: 'Europe/Oslo',
      deadLetterQueue: dlq,
      ...overrides,
    });
    return { stack, planner, dlq, schedule, template: Template.fromStack(stack) };
  }

  it('defaults: cron in the time zone, schedule payload, bounded retries into the DLQ', () => {
    const { template, planner, dlq } = build();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(15 3 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Oslo',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalIdOf(planner), 'Arn'] },
        Input: JSON.stringify(SCHEDULE_PAYLOAD),
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(dlq), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      },
    });
  });

  it('takes other retry settings', () => {
    const { template } = build({ retryAttempts: 0, maxEventAge: Duration.minutes(5) });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } }),
    });
  });

  it('its role invokes the unqualified planner only (no version wildcard)', () => {
    const { template, schedule, planner, dlq } = build();
    expect(statementsOfRole(template, schedule.role)).toEqual([
      { effect: 'Allow', actions: ['lambda:InvokeFunction'], resources: [`<${logicalIdOf(planner)}.Arn>`] },
      { effect: 'Allow', actions: ['sqs:SendMessage'], resources: [`<${logicalIdOf(dlq)}.Arn>`] },
    ]);
  });
});

describe('PipelineFunction', () => {
  it('defaults: Node.js 24 on arm64, 1 GB, 90-day log group, own role without managed policies', () => {
    const stack = testStack();
    const fn = new PipelineFunction(stack, 'Fn', {
      entry: functionEntry('ingest'),
      description: 'test',
      serviceName: 'svc',
      metricsNamespace: 'Ns',
      timeout: Duration.seconds(30),
      environment: { EXTRA: 'x' },
    });
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(fn.function))).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 30,
      Environment: {
        Variables: { POWERTOOLS_SERVICE_NAME: 'svc', POWERTOOLS_METRICS_NAMESPACE: 'Ns', EXTRA: 'x' },
      },
      LoggingConfig: { LogGroup: { Ref: logicalIdOf(fn.logGroup) } },
    });
    // Source maps at run time cost about half of each cold start; traces stay readable by keepNames.
    expect(propertiesOf(template, logicalIdOf(fn.function)).Environment).not.toHaveProperty('Variables.NODE_OPTIONS');
    const logGroup = resourceOf(template, logicalIdOf(fn.logGroup));
    expect(logGroup.Properties.RetentionInDays).toBe(90);
    expect(logGroup.DeletionPolicy).toBe('Retain');
    expect(propertiesOf(template, logicalIdOf(fn.role)).ManagedPolicyArns).toBeUndefined();
    expect(statementsOfRole(template, fn.role)).toEqual([
      { effect: 'Allow', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${logicalIdOf(fn.logGroup)}.Arn>`] },
    ]);
  });

  it('takes tracing, retention, memory, runtime and a dead-letter queue', () => {
    const stack = testStack();
    const dlq = new sqs.Queue(stack, 'Dlq');
    const fn = new PipelineFunction(stack, 'Fn', {
      entry: functionEntry('ingest'),
      description: 'test',
      serviceName: 'svc',
      metricsNamespace: 'Ns',
      timeout: Duration.seconds(30),
      environment: {},
      tracing: true,
      logRetention: logs.RetentionDays.ONE_WEEK,
      memorySize: 256,
      runtime: lambda.Runtime.NODEJS_22_X,
      deadLetterQueue: dlq,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(fn.function))).toMatchObject({
      Runtime: 'nodejs22.x',
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalIdOf(dlq), 'Arn'] } },
    });
    expect(resourceOf(template, logicalIdOf(fn.logGroup))).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 7 } });
    expect(statementsOfRole(template, fn.role)).toContainEqual({
      effect: 'Allow',
      actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
      resources: ['*'],
    });
  });
});

describe('s3 bucket helper types', () => {
  it('grantObjectActions returns a grant on the matching keys only', () => {
    const stack = testStack();
    const secure = new SecureBucket(stack, 'Data', {
      serverAccessLogsBucket: new AccessLogBucket(stack, 'Logs').bucket,
      serverAccessLogsPrefix: 'data/',
      encryption: s3.BucketEncryption.S3_MANAGED,
    });
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(secure.grantObjectActions(role, 'out/*', ['s3:PutObject']).success).toBe(true);
    const template = Template.fromStack(stack);
    expect(statementsOfRole(template, role)).toEqual([
      { effect: 'Allow', actions: ['s3:PutObject'], resources: [`<${logicalIdOf(secure.bucket)}.Arn>/out/*`] },
    ]);
  });
});
