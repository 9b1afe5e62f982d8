/**
 * The constructs the stack is composed of (IngestPipeline, NightlyExport, ConnectorCredentials):
 * each secure default and that a prop overrides it, in a stack of their own; and the logical
 * ids the stack keeps for its deployed resources.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { AccessLogBucket } from '../../infra/constructs/access-log-bucket.js';
import { ConnectorCredentials } from '../../infra/constructs/connector-credentials.js';
import { CREDENTIALS_PLACEHOLDER } from '../../infra/constructs/credentials-secret.js';
import { IngestPipeline, type IngestPipelineProps } from '../../infra/constructs/ingest-pipeline.js';
import { logicalIdForPath } from '../../infra/constructs/logical-ids.js';
import { NightlyExport, type NightlyExportProps } from '../../infra/constructs/nightly-export.js';
import { functionEntry } from '../../infra/paths.js';
import { environmentEntry, logicalIdOf, propertiesOf, statementsOfRole, synthesizePipeline } from './stack-fixtures.js';

function testStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'CompositionTest', { env: { account: '123456789012', region: 'eu-north-1' } });
}

type Resource = { Type: string; DeletionPolicy?: string; Properties: Record<string, unknown> };
const resourcesOfType = (template: Template, type: string): Array<[string, Resource]> =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, r]) => r.Type === type);

/** Records who was given read access, as the stack's ConnectorCredentials would grant it. */
function credentialsRecorder(): { grantRead(grantee: iam.IGrantable): void; readers: iam.IGrantable[] } {
  const readers: iam.IGrantable[] = [];
  return { readers, grantRead: (grantee) => readers.push(grantee) };
}

describe('logical ids', () => {
  it("logicalIdForPath gives CDK's own id for the same path ('Default', 'Resource', repeats, long and single segments)", () => {
    const stack = testStack();
    const paths = [
      ['Single'],
      ['with-hyphen'],
      ['Inbox', 'Bucket'],
      ['Queue', 'Default', 'Resource'],
      ['Ingest', 'Function', 'Resource'],
      ['Monitoring', 'Monitoring', 'Alarm'],
      ['NightlyExport', 'NightlyExportRole', 'DefaultPolicy'],
      ['A'.repeat(150), 'B'.repeat(150), 'Leaf'],
    ];
    for (const path of paths) {
      let scope: Construct = stack;
      for (const id of path.slice(0, -1)) scope = (scope.node.tryFindChild(id) as Construct | undefined) ?? new Construct(scope, id);
      const bucket = new s3.CfnBucket(scope, path[path.length - 1] as string);
      expect(logicalIdForPath(path), path.join('/')).toBe(stack.getLogicalId(bucket));
    }
  });

  it('the stack keeps the logical ids its stateful resources had before it was split into constructs', () => {
    const entry = environmentEntry('dev');
    const synth = synthesizePipeline('dev', { entry: { ...entry, export: { ...(entry.export as object), archiveKmsKey: 'create' } } });
    try {
      const { stack } = synth;
      const ids = {
        inbox: logicalIdOf(stack.inboxBucket),
        archive: logicalIdOf(stack.archiveBucket),
        accessLogs: logicalIdOf(stack.accessLogBucket),
        ledger: logicalIdOf(stack.ledger.table),
        exportLedger: logicalIdOf(stack.exportLedger.table),
        secret: logicalIdOf(stack.credentials.secret),
        archiveKey: logicalIdOf(stack.archiveKey as unknown as Construct),
        ingestQueue: logicalIdOf(stack.ingestQueue.queue),
        ingestDlq: logicalIdOf(stack.ingestQueue.deadLetterQueue),
        exportQueue: logicalIdOf(stack.exportQueue.queue),
        exportDlq: logicalIdOf(stack.exportQueue.deadLetterQueue),
        plannerDlq: logicalIdOf(stack.plannerDeadLetterQueue),
        ingestFunction: logicalIdOf(stack.ingestFunction.function),
        ingestLogGroup: logicalIdOf(stack.ingestFunction.logGroup),
        // Lambda refuses a second mapping of a queue to a function: a renamed one fails the update.
        eventSourceMappings: Object.keys(synth.template.findResources('AWS::Lambda::EventSourceMapping')).sort(),
      };
      // Pinned: a change here replaces the resource (and its data) on every deployed environment.
      expect(ids).toEqual({
        inbox: 'InboxBucket1EDE8E4F',
        archive: 'ArchiveBucket49F1AC64',
        accessLogs: 'AccessLogsBucketCD784A59',
        ledger: 'LedgerTable9343E4AA',
        exportLedger: 'ExportLedgerTableF74FBC07',
        secret: 'CredentialsSecret40F8BB41',
        archiveKey: 'ArchiveKeyDC5BCBC1',
        ingestQueue: 'IngestQueue88A12394',
        ingestDlq: 'IngestQueueDeadLetterQueue769A6620',
        exportQueue: 'ExportQueueDB8F518C',
        exportDlq: 'ExportQueueDeadLetterQueue1B5C30DD',
        plannerDlq: 'PlannerDeadLetterQueueA36BC17D',
        ingestFunction: 'IngestFunctionB02ED0EB',
        ingestLogGroup: 'IngestLogGroup6B4733A3',
        eventSourceMappings: [
          'ExportWorkerFunctionSqsEventSourceIbinderPipelinedevExportQueue7DEF2E66E39C0109',
          'IngestFunctionSqsEventSourceIbinderPipelinedevIngestQueue36F5AB8D9D15E4B5',
        ],
      });
    } finally {
      synth.dispose();
    }
  });
});

function ingestProps(stack: Stack, overrides: Partial<IngestPipelineProps> = {}) {
  const credentials = credentialsRecorder();
  const props: IngestPipelineProps = {
    inboxBucketName: 'test-inbox-123456789012',
    accessLogBucket: new AccessLogBucket(stack, 'Logs').bucket,
    entry: functionEntry('ingest'),
    description: 'ingest',
    serviceName: 'svc-ingest',
    metricsNamespace: 'Ns',
    environment: { PIPELINE_CONFIG: '{}' },
    environmentNames: { ledgerTable: 'LEDGER', inboxBucket: 'INBOX' },
    credentials,
    ...overrides,
  };
  return { props, credentials };
}

describe('IngestPipeline', () => {
  it('defaults: 5 concurrent invocations of 10 messages, 5 s window, 5 receives, 300 s / 1 GB, 30/90-day lifecycle, retained', () => {
    const stack = testStack();
    const { props, credentials } = ingestProps(stack);
    const ingest = new IngestPipeline(stack, 'Ingest', props);
    const template = Template.fromStack(stack);

    const [mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.[1].Properties).toMatchObject({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(propertiesOf(template, logicalIdOf(ingest.queue.queue))).toMatchObject({
      VisibilityTimeout: 6 * 300 + 5,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    expect(propertiesOf(template, logicalIdOf(ingest.ingestFunction.function))).toMatchObject({
      Timeout: 300,
      MemorySize: 1024,
      Environment: {
        Variables: { PIPELINE_CONFIG: '{}', INBOX: 'test-inbox-123456789012', LEDGER: { Ref: logicalIdOf(ingest.ledger.table) } },
      },
    });
    const bucket = template.toJSON().Resources[logicalIdOf(ingest.inboxBucket)] as Resource;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({ BucketName: 'test-inbox-123456789012', VersioningConfiguration: { Status: 'Enabled' } });
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 } }),
        expect.objectContaining({ Prefix: 'rejected/', ExpirationInDays: 90 }),
      ]),
    );
    expect((template.toJSON().Resources[logicalIdOf(ingest.ledger.table)] as Resource).DeletionPolicy).toBe('Retain');
    expect(propertiesOf(template, logicalIdOf(ingest.inboxBucket)).NotificationConfiguration).toMatchObject({
      QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'inbox/' }] } } }],
    });
    expect(ingest.producers.size).toBe(0);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    // The connectors' secrets: read by the ingest function, nobody else.
    expect(credentials.readers).toEqual([ingest.ingestFunction.function]);
  });

  it('grants objects under the inbox and rejected prefixes only', () => {
    const stack = testStack();
    const ingest = new IngestPipeline(stack, 'Ingest', ingestProps(stack).props);
    const statements = statementsOfRole(Template.fromStack(stack), ingest.ingestFunction.role);
    const bucketArn = `<${logicalIdOf(ingest.inboxBucket)}.Arn>`;
    const objectResources = statements.flatMap((s) => s.resources).filter((r) => r.startsWith(`${bucketArn}/`));
    expect(new Set(objectResources)).toEqual(new Set([`${bucketArn}/inbox/*`, `${bucketArn}/rejected/*`]));
  });

  it('props override the defaults', () => {
    const stack = testStack();
    const { props } = ingestProps(stack, {
      maxConcurrency: 40,
      batchSize: 25,
      maxBatchingWindow: Duration.seconds(20),
      maxReceiveCount: 2,
      functionTimeout: Duration.seconds(60),
      memorySize: 2048,
      logRetention: logs.RetentionDays.ONE_WEEK,
      noncurrentVersionExpiration: Duration.days(3),
      rejectedExpiration: Duration.days(4),
      removalPolicy: RemovalPolicy.DESTROY,
      producers: [{ name: 'erp', prefix: 'inbox/erp/' }],
      producerPolicyPrefix: 'Team',
    });
    const ingest = new IngestPipeline(stack, 'Ingest', props);
    const template = Template.fromStack(stack);
    const [mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.[1].Properties).toMatchObject({
      BatchSize: 25,
      MaximumBatchingWindowInSeconds: 20,
      ScalingConfig: { MaximumConcurrency: 40 },
    });
    expect(propertiesOf(template, logicalIdOf(ingest.queue.queue))).toMatchObject({
      VisibilityTimeout: 6 * 60 + 20,
      RedrivePolicy: { maxReceiveCount: 2 },
    });
    expect(propertiesOf(template, logicalIdOf(ingest.ingestFunction.function))).toMatchObject({ Timeout: 60, MemorySize: 2048 });
    expect(propertiesOf(template, logicalIdOf(ingest.ingestFunction.logGroup)).RetentionInDays).toBe(7);
    const bucket = template.toJSON().Resources[logicalIdOf(ingest.inboxBucket)] as Resource;
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect((bucket.Properties.LifecycleConfiguration as { Rules: unknown[] }).Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 3 } }),
        expect.objectContaining({ ExpirationInDays: 4 }),
      ]),
    );
    expect(propertiesOf(template, logicalIdOf(ingest.producers.get('erp')!.policy)).ManagedPolicyName).toBe('Team-producer-erp');
  });
});

function exportProps(stack: Stack, overrides: Partial<NightlyExportProps> = {}) {
  const credentials = credentialsRecorder();
  const props: NightlyExportProps = {
    planner: { entry: functionEntry('export-planner'), description: 'planner', serviceName: 'svc-planner' },
    worker: { entry: functionEntry('export-worker'), description: 'worker', serviceName: 'svc-worker' },
    metricsNamespace: 'Ns',
    accessLogBucket: new AccessLogBucket(stack, 'Logs').bucket,
    environment: { PIPELINE_CONFIG: '{}' },
    environmentNames: { exportLedgerTable: 'LEDGER', exportQueueUrl: 'QUEUE', archiveBucket: 'ARCHIVE' },
    credentials,
    dataPrefix: 'tenant/',
    ...overrides,
  };
  return { props, credentials };
}

describe('NightlyExport', () => {
  it('defaults: 02:00 UTC, GLACIER_IR after 30 days, planner 900 s / 512 MB, worker 900 s / 1 GB, 1 message, 5 at once, retained', () => {
    const stack = testStack();
    const { props, credentials } = exportProps(stack);
    const nightly = new NightlyExport(stack, 'Export', props);
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(nightly.schedule.schedule))).toMatchObject({
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
    });
    const archive = template.toJSON().Resources[logicalIdOf(nightly.archiveBucket)] as Resource;
    expect(archive.DeletionPolicy).toBe('Retain');
    expect(archive.Properties.ObjectLockEnabled).toBeUndefined();
    expect(archive.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect((archive.Properties.LifecycleConfiguration as { Rules: unknown[] }).Rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
          NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
        }),
      ]),
    );
    expect(propertiesOf(template, logicalIdOf(nightly.plannerFunction.function))).toMatchObject({ Timeout: 900, MemorySize: 512 });
    expect(propertiesOf(template, logicalIdOf(nightly.workerFunction.function))).toMatchObject({ Timeout: 900, MemorySize: 1024 });
    const [mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.[1].Properties).toMatchObject({ BatchSize: 1, ScalingConfig: { MaximumConcurrency: 5 } });
    expect(propertiesOf(template, logicalIdOf(nightly.exportQueue.queue))).toMatchObject({ RedrivePolicy: { maxReceiveCount: 5 } });
    expect((template.toJSON().Resources[logicalIdOf(nightly.exportLedger.table)] as Resource).DeletionPolicy).toBe('Retain');
    // The connectors' secrets: read by the planner and the worker, nobody else.
    expect(credentials.readers).toEqual([nightly.plannerFunction.function, nightly.workerFunction.function]);
  });

  it('the worker writes under the data and manifests prefixes only, the planner under manifests only', () => {
    const stack = testStack();
    const nightly = new NightlyExport(stack, 'Export', exportProps(stack).props);
    const template = Template.fromStack(stack);
    const arn = `<${logicalIdOf(nightly.archiveBucket)}.Arn>`;
    const objectResources = (role: iam.Role) =>
      new Set(
        statementsOfRole(template, role)
          .flatMap((s) => s.resources)
          .filter((r) => r.startsWith(`${arn}/`)),
      );
    expect(objectResources(nightly.workerFunction.role)).toEqual(new Set([`${arn}/tenant/*`, `${arn}/manifests/*`]));
    expect(objectResources(nightly.plannerFunction.role)).toEqual(new Set([`${arn}/manifests/*`]));
  });

  it('props override the defaults', () => {
    const stack = testStack();
    const { props } = exportProps(stack, {
      scheduleCron: 'cron(30 1 * * ? *)',
      scheduleTimeZone: 'Europe/Oslo',
      archiveStorageClass: s3.StorageClass.DEEP_ARCHIVE,
      archiveTransitionAfter: Duration.days(7),
      archiveObjectLock: s3.ObjectLockRetention.governance(Duration.days(10)),
      plannerTimeout: Duration.seconds(120),
      plannerMemorySize: 256,
      workerTimeout: Duration.seconds(200),
      workerMemorySize: 2048,
      workerBatchSize: 4,
      workerMaxConcurrency: 9,
      maxReceiveCount: 3,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const nightly = new NightlyExport(stack, 'Export', props);
    const template = Template.fromStack(stack);
    expect(propertiesOf(template, logicalIdOf(nightly.schedule.schedule))).toMatchObject({
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Oslo',
    });
    const archive = template.toJSON().Resources[logicalIdOf(nightly.archiveBucket)] as Resource;
    expect(archive.DeletionPolicy).toBe('Delete');
    expect(archive.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 10 } } },
    });
    expect(JSON.stringify(archive.Properties.LifecycleConfiguration)).toContain('{"StorageClass":"DEEP_ARCHIVE","TransitionInDays":7}');
    expect(propertiesOf(template, logicalIdOf(nightly.plannerFunction.function))).toMatchObject({ Timeout: 120, MemorySize: 256 });
    expect(propertiesOf(template, logicalIdOf(nightly.workerFunction.function))).toMatchObject({ Timeout: 200, MemorySize: 2048 });
    const [mapping] = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.[1].Properties).toMatchObject({ BatchSize: 4, ScalingConfig: { MaximumConcurrency: 9 } });
    expect(propertiesOf(template, logicalIdOf(nightly.exportQueue.queue))).toMatchObject({
      VisibilityTimeout: 6 * 200,
      RedrivePolicy: { maxReceiveCount: 3 },
    });
  });
});

describe('ConnectorCredentials', () => {
  it('defaults: imported by name, nothing created; a created secret is retained and holds only the placeholder', () => {
    const stack = testStack();
    const credentials = new ConnectorCredentials(stack, 'Credentials', {
      connectors: [
        { connector: 'ibinder', issuer: 'iBinder', secretName: 'team/ibinder' },
        { connector: 'bynder', issuer: 'Bynder', secretName: 'team/bynder', create: true },
      ],
    });
    const template = Template.fromStack(stack);
    const secrets = resourcesOfType(template, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.[1].DeletionPolicy).toBe('Retain');
    expect(secrets[0]?.[1].Properties).toMatchObject({ Name: 'team/bynder' });
    expect(String(secrets[0]?.[1].Properties.Description)).toMatch(/^Bynder API client credentials/);
    expect(JSON.parse(String(secrets[0]?.[1].Properties.SecretString))).toEqual(CREDENTIALS_PLACEHOLDER);
    expect(credentials.secretOf('ibinder').secretName).toBe('team/ibinder');
    expect(credentials.secretOf('bynder').secretName).toBe('team/bynder');
    expect(() => credentials.secretOf('other')).toThrow(/no credentials secret for connector "other"; configured: ibinder, bynder/);
  });

  it('a removal policy prop applies to created secrets', () => {
    const stack = testStack();
    new ConnectorCredentials(stack, 'Credentials', {
      connectors: [{ connector: 'ibinder', issuer: 'iBinder', secretName: 'team/ibinder', create: true }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    expect(resourcesOfType(Template.fromStack(stack), 'AWS::SecretsManager::Secret')[0]?.[1].DeletionPolicy).toBe('Delete');
  });

  it('grantRead gives the grantee read access to every connector secret and nothing more', () => {
    const stack = testStack();
    const credentials = new ConnectorCredentials(stack, 'Credentials', {
      connectors: [
        { connector: 'ibinder', issuer: 'iBinder', secretName: 'team/ibinder' },
        { connector: 'bynder', issuer: 'Bynder', secretName: 'team/bynder' },
      ],
    });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const other = new iam.Role(stack, 'Other', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    credentials.grantRead(reader);
    const template = Template.fromStack(stack);
    const statements = statementsOfRole(template, reader);
    expect(statements.flatMap((s) => s.actions).every((a) => a.startsWith('secretsmanager:'))).toBe(true);
    const resources = statements.flatMap((s) => s.resources).join(' ');
    expect(resources).toContain('secret:team/ibinder-??????');
    expect(resources).toContain('secret:team/bynder-??????');
    expect(statementsOfRole(template, other)).toEqual([]);
  });

  it('refuses two connectors on one secret, a connector twice, and no connector', () => {
    expect(
      () =>
        new ConnectorCredentials(testStack(), 'C', {
          connectors: [
            { connector: 'ibinder', issuer: 'iBinder', secretName: 'shared' },
            { connector: 'bynder', issuer: 'Bynder', secretName: 'shared' },
          ],
        }),
    ).toThrow(/connectors "ibinder" and "bynder" both name the secret "shared"/);
    expect(
      () =>
        new ConnectorCredentials(testStack(), 'C', {
          connectors: [
            { connector: 'ibinder', issuer: 'iBinder', secretName: 'a' },
            { connector: 'ibinder', issuer: 'iBinder', secretName: 'b' },
          ],
        }),
    ).toThrow(/connector "ibinder" is listed twice/);
    expect(() => new ConnectorCredentials(testStack(), 'C', { connectors: [] })).toThrow(/no connector configured/);
  });
});
