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
import { PRODUCER_ACTIONS, ProducerAccess } from '../../infra/constructs/producer-access.js';
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
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
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
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
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
    const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secure.grantObjectActions(writer, 'out/*', ['s3:PutObject', 's3:AbortMultipartUpload']);
    const tagger = new iam.Role(stack, 'Tagger', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secure.grantObjectActions(tagger, 'out/*', ['s3:PutObjectTagging', 's3:GetObjectTagging']);
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
    expect(statements).toContainEqual({
      effect: 'Allow',
      actions: ['s3:GetObject'],
      resources: [`<${logicalIdOf(secure.bucket)}.Arn>/in/*`],
    });
    // Named actions on this key only, and only through S3.
    const viaS3 = { StringEquals: { 'kms:ViaService': 's3.eu-north-1.amazonaws.com' } };
    const keyArn = `<${logicalIdOf(key)}.Arn>`;
    expect(statements.filter((s) => s.actions.some((a) => a.startsWith('kms:')))).toEqual([
      { effect: 'Allow', actions: ['kms:Decrypt'], resources: [keyArn], condition: viaS3 },
    ]);
    expect(statementsOfRole(template, writer).filter((s) => s.actions.some((a) => a.startsWith('kms:')))).toEqual([
      { effect: 'Allow', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [keyArn], condition: viaS3 },
    ]);
    // Tags are not encrypted with the object's key.
    expect(
      statementsOfRole(template, tagger)
        .flatMap((s) => s.actions)
        .filter((a) => a.startsWith('kms:')),
    ).toEqual([]);
  });

  it('grants no KMS action when the bucket has no customer-managed key', () => {
    const stack = testStack();
    const secure = new SecureBucket(stack, 'Data', {
      serverAccessLogsBucket: new AccessLogBucket(stack, 'Logs').bucket,
      serverAccessLogsPrefix: 'data/',
    });
    const role = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secure.grantObjectActions(role, 'out/*', ['s3:PutObject', 's3:GetObject']);
    expect(
      statementsOfRole(Template.fromStack(stack), role)
        .flatMap((s) => s.actions)
        .filter((a) => a.startsWith('kms:')),
    ).toEqual([]);
  });

  it('has no Object Lock by default, and the given default retention when asked', () => {
    const stack = testStack();
    const logs = new AccessLogBucket(stack, 'Logs').bucket;
    const plain = new SecureBucket(stack, 'Plain', { serverAccessLogsBucket: logs, serverAccessLogsPrefix: 'plain/' });
    const locked = new SecureBucket(stack, 'Locked', {
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'locked/',
      objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(30)),
    });
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(plain.bucket)).ObjectLockEnabled).toBeUndefined();
    expect(propertiesOf(template, logicalIdOf(plain.bucket)).ObjectLockConfiguration).toBeUndefined();
    expect(propertiesOf(template, logicalIdOf(locked.bucket))).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } },
      VersioningConfiguration: { Status: 'Enabled' },
    });
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

describe('ProducerAccess', () => {
  const inboxOf = (stack: Stack): s3.Bucket =>
    new SecureBucket(stack, 'Inbox', {
      serverAccessLogsBucket: new AccessLogBucket(stack, 'Logs').bucket,
      serverAccessLogsPrefix: 'inbox/',
    }).bucket;

  function policyOf(template: Template, access: ProducerAccess): { Statement: Array<Record<string, unknown>> } {
    return (propertiesOf(template, logicalIdOf(access.policy)) as { PolicyDocument: { Statement: Array<Record<string, unknown>> } })
      .PolicyDocument;
  }

  it('a managed policy that puts and tags objects under the prefix only, with no tag condition and no role by default', () => {
    const stack = testStack();
    const inbox = inboxOf(stack);
    const access = new ProducerAccess(stack, 'Erp', {
      bucket: inbox,
      producerName: 'erp',
      prefix: 'inbox/erp/',
      managedPolicyName: 'p-erp',
    });
    const template = Template.fromStack(stack);
    expect(access.role).toBeUndefined();
    template.resourceCountIs('AWS::IAM::Role', 0);
    expect(propertiesOf(template, logicalIdOf(access.policy)).ManagedPolicyName).toBe('p-erp');
    expect(policyOf(template, access).Statement).toEqual([
      {
        Sid: 'PutObjectsUnderOwnPrefix',
        Effect: 'Allow',
        Action: [...PRODUCER_ACTIONS],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(inbox), 'Arn'] }, '/inbox/erp/*']] },
      },
    ]);
  });

  it('limits tag keys with StringEquals for literal keys and StringLike when a key has a wildcard', () => {
    const stack = testStack();
    const inbox = inboxOf(stack);
    const literal = new ProducerAccess(stack, 'Scanner', {
      bucket: inbox,
      producerName: 'scanner',
      prefix: 'inbox/scanner/',
      managedPolicyName: 'p-scanner',
      allowedTagKeys: ['ibinder:binder', 'ibinder:folder'],
    });
    const wildcard = new ProducerAccess(stack, 'Erp', {
      bucket: inbox,
      producerName: 'erp',
      prefix: 'inbox/erp/',
      managedPolicyName: 'p-erp',
      allowedTagKeys: ['ibinder:binder', 'ibinder:meta:*'],
    });
    const template = Template.fromStack(stack);
    expect(policyOf(template, literal).Statement[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': { 's3:RequestObjectTagKeys': ['ibinder:binder', 'ibinder:folder'] },
    });
    expect(policyOf(template, wildcard).Statement[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 's3:RequestObjectTagKeys': ['ibinder:binder', 'ibinder:meta:*'] },
    });
  });

  it('a role assumable by the named accounts and roles only, carrying the policy and nothing else', () => {
    const stack = testStack();
    const access = new ProducerAccess(stack, 'Erp', {
      bucket: inboxOf(stack),
      producerName: 'erp',
      prefix: 'inbox/erp/',
      managedPolicyName: 'p-erp',
      principals: ['210987654321', 'arn:aws:iam::210987654321:role/erp-upload'],
    });
    const template = Template.fromStack(stack);
    expect(access.role).toBeDefined();
    const role = propertiesOf(template, logicalIdOf(access.role!));
    expect(role.ManagedPolicyArns).toEqual([{ Ref: logicalIdOf(access.policy) }]);
    expect(role.Policies).toBeUndefined();
    const trust = (role.AssumeRolePolicyDocument as { Statement: Array<{ Effect: string; Principal: { AWS: unknown }; Action: string }> })
      .Statement;
    expect(trust.every((s) => s.Effect === 'Allow' && s.Action === 'sts:AssumeRole')).toBe(true);
    const principals = trust.flatMap((s) => (Array.isArray(s.Principal.AWS) ? s.Principal.AWS : [s.Principal.AWS]));
    expect(new Set(principals.map((p) => JSON.stringify(p)))).toEqual(
      new Set([
        JSON.stringify('arn:aws:iam::210987654321:role/erp-upload'),
        JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::210987654321:root']] }),
      ]),
    );
    template.resourceCountIs('AWS::IAM::Policy', 0);
  });
});

describe('ProducerAccess with an external id', () => {
  it('lets the principals assume the role only with the agreed sts:ExternalId', () => {
    const stack = testStack();
    const inbox = new SecureBucket(stack, 'Inbox', {
      serverAccessLogsBucket: new AccessLogBucket(stack, 'Logs').bucket,
      serverAccessLogsPrefix: 'inbox/',
    }).bucket;
    const access = new ProducerAccess(stack, 'Partner', {
      bucket: inbox,
      producerName: 'partner',
      prefix: 'inbox/partner/',
      managedPolicyName: 'p-partner',
      principals: ['210987654321', 'arn:aws:iam::210987654321:role/drop'],
      externalId: 'partner-7f3c9a',
    });
    const trust = (
      propertiesOf(Template.fromStack(stack), logicalIdOf(access.role!)).AssumeRolePolicyDocument as {
        Statement: Array<{ Condition?: unknown }>;
      }
    ).Statement;
    expect(trust.length).toBeGreaterThan(0);
    for (const statement of trust) expect(statement.Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'partner-7f3c9a' } });
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
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 365 })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
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
      {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        },
      },
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
    // Source maps at run time cost about half of each cold start; traces are mapped offline (README).
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
