/**
 * One environment of the pipeline: the inbox bucket and ingest queue, the ingest function and
 * its ledger, and the nightly export (schedule, planner, queue, worker, archive bucket, export
 * ledger), sharing the iBinder credentials secret and an access-log bucket; watched by alarms
 * that notify the environment's alarm topic, and one CloudWatch dashboard (PipelineMonitoring).
 *
 * Every function gets only what its job needs: object actions on its own key prefixes, its own
 * queue, single-item access to its own ledger, and read access to the one secret. Each
 * configured producer gets a policy (and optionally a role) to write under its own inbox
 * prefix. The archive may have a customer-managed key and, in production, Object Lock.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, Tags, Validations, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../shared/config/runtime.js';
import { safeKeySegment } from '../shared/export/archive-key.js';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '../shared/observability/metric-names.js';
import {
  INBOX_PREFIX,
  MANIFESTS_PREFIX,
  PRODUCTION_ARCHIVE_OBJECT_LOCK,
  REJECTED_PREFIX,
  isProductionEnvironment,
  isRetained,
  toPipelineConfig,
  type ArchiveKmsKey,
  type ArchiveObjectLock,
  type ArchiveStorageClass,
  type EnvironmentConfig,
  type ProducerConfig,
} from './config.js';
import { AccessLogBucket } from './constructs/access-log-bucket.js';
import { CredentialsSecret } from './constructs/credentials-secret.js';
import { LedgerTable } from './constructs/ledger-table.js';
import { NightlyExportSchedule } from './constructs/nightly-export-schedule.js';
import { PipelineFunction } from './constructs/pipeline-function.js';
import { PipelineMonitoring } from './constructs/pipeline-monitoring.js';
import { ProducerAccess } from './constructs/producer-access.js';
import { QueueWithDlq, visibilityTimeoutFor } from './constructs/queue-with-dlq.js';
import { SecureBucket } from './constructs/secure-bucket.js';
import { EnvironmentConfigError } from './errors.js';
import { functionEntry } from './paths.js';

/**
 * CloudWatch namespace of the functions' custom metrics and the service names they log and
 * publish under: defined beside the code that writes the metrics, so that the functions, the
 * alarms and the dashboard cannot disagree on them.
 */
export { METRICS_NAMESPACE, SERVICE_NAMES } from '../shared/observability/metric-names.js';

/**
 * Lambda allows 4 KB for all variables of a function together; PIPELINE_CONFIG gets most of it.
 * Routing rules are what makes it grow.
 */
const MAX_PIPELINE_CONFIG_BYTES = 3_500;

/**
 * The export ledger also holds the export runs' state: the planner checks many versions at
 * once (BatchGetItem), and claims and run markers are released with DeleteItem.
 */
const EXPORT_LEDGER_ACCESS = { batchRead: true, deleteItem: true } as const;

/** Environment names end up in bucket and stack names, so they are kept short and lowercase. */
const ENV_NAME = /^[a-z][a-z0-9-]{0,11}$/;

export interface PipelineStackProps extends StackProps {
  /** Name of the environment entry in cdk.json (dev, staging, prod, ...). */
  readonly envName: string;
  readonly config: EnvironmentConfig;
}

/** The stack name of an environment: one stack per environment, deployable on its own. */
export function pipelineStackName(envName: string): string {
  return `IbinderPipeline-${envName}`;
}

/**
 * The inbox bucket's name. It is fixed (and unique per account and region) because the bucket's
 * event notification and the queue policy that allows it must name each other: with a generated
 * name the two would depend on each other, and CDK's way around that is a custom-resource
 * Lambda function with account-wide S3 rights.
 */
export function inboxBucketName(envName: string, account: string, region: string): string {
  return `ibinder-pipeline-${envName}-inbox-${account}-${region}`;
}

/**
 * The oldest-ingest-message alarm's threshold when the config sets none: a message that failed
 * once is invisible for the queue's visibility timeout before its retry, so the threshold is
 * that plus half an hour; only a message that waits longer than one retry cycle alarms.
 */
export function defaultIngestMessageAge(functionTimeout: Duration, batchingWindow: Duration): Duration {
  return Duration.minutes(Math.ceil(visibilityTimeoutFor(functionTimeout, batchingWindow).toSeconds() / 60) + 30);
}

const STORAGE_CLASSES: Record<ArchiveStorageClass, s3.StorageClass> = {
  GLACIER_IR: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
  GLACIER: s3.StorageClass.GLACIER,
  DEEP_ARCHIVE: s3.StorageClass.DEEP_ARCHIVE,
  STANDARD_IA: s3.StorageClass.INFREQUENT_ACCESS,
  ONEZONE_IA: s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS,
  INTELLIGENT_TIERING: s3.StorageClass.INTELLIGENT_TIERING,
};

/**
 * The first key segment of every exported file and sidecar (`<tenant>/<binder>/...`, see
 * shared/export/archive-key.ts), computed by the same function the worker uses, so that the
 * worker's grant and its keys cannot drift apart.
 */
export function archiveDataPrefix(tenantId: string): string {
  return `${safeKeySegment(tenantId, '_')}/`;
}

/** The archive's Object Lock: what the config says, and a production environment never without one. */
export function archiveObjectLockFor(config: EnvironmentConfig, envName: string): ArchiveObjectLock | undefined {
  return config.export.archiveObjectLock ?? (isProductionEnvironment(envName) ? PRODUCTION_ARCHIVE_OBJECT_LOCK : undefined);
}

/** Output ids are alphanumeric: `erp-eu` -> `ErpEu`. */
function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** An object grant on a bucket's keys, kept to acknowledge its cdk-nag wildcard finding in the same words. */
interface ObjectGrant {
  readonly fn: PipelineFunction;
  readonly bucket: SecureBucket;
  readonly keyPattern: string;
  readonly actions: readonly string[];
  /** Why the keys cannot be named one by one. */
  readonly why: string;
}

/**
 * The acknowledgement text of an object grant: why the keys are a pattern, then exactly the
 * actions granted there. Built from the grant itself, so the text cannot claim less (or more)
 * than the role may do; test/infra/security.test.ts compares the two.
 */
export function objectGrantReason(grant: Pick<ObjectGrant, 'keyPattern' | 'actions' | 'why'>): string {
  return `${grant.why} Allowed on ${grant.keyPattern}: ${[...grant.actions].sort().join(', ')}; nothing else.`;
}

export class PipelineStack extends Stack {
  readonly inboxBucket: s3.Bucket;
  readonly archiveBucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  readonly ingestQueue: QueueWithDlq;
  readonly exportQueue: QueueWithDlq;
  /** Nightly runs Scheduler could not start, and planner invocations that failed after Lambda's retries. */
  readonly plannerDeadLetterQueue: sqs.Queue;
  readonly ledger: LedgerTable;
  readonly exportLedger: LedgerTable;
  readonly credentials: CredentialsSecret;
  readonly ingestFunction: PipelineFunction;
  readonly plannerFunction: PipelineFunction;
  readonly workerFunction: PipelineFunction;
  readonly exportSchedule: NightlyExportSchedule;
  /** The alarm topic, the alarms and the dashboard. */
  readonly monitoring: PipelineMonitoring;
  /** The archive bucket's customer-managed key, when the config asks for one. */
  readonly archiveKey?: kms.IKey;
  /** One per configured producer, by name. */
  readonly producers: ReadonlyMap<string, ProducerAccess>;
  /** Object grants with wildcard keys, acknowledged for cdk-nag with their own actions. */
  private readonly objectGrants: ObjectGrant[] = [];

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    const { envName, config, ...stackProps } = props;
    if (!ENV_NAME.test(envName)) {
      throw new EnvironmentConfigError(
        `Environment name "${envName}" cannot be used in resource names: use 1-12 lowercase letters, digits ` +
          'and hyphens, starting with a letter (e.g. dev, staging, prod).',
      );
    }
    const retained = isRetained(config, envName);
    super(scope, id, {
      description: `S3 -> iBinder ingest and nightly iBinder -> S3 export (${envName})`,
      terminationProtection: isProductionEnvironment(envName),
      ...stackProps,
      env: { account: config.account, region: config.region },
    });
    Tags.of(this).add('environment', envName);
    Tags.of(this).add('application', 'ibinder-pipeline');

    const removalPolicy = retained ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const pipelineConfigJson = JSON.stringify(toPipelineConfig(config, envName));
    if (Buffer.byteLength(pipelineConfigJson) > MAX_PIPELINE_CONFIG_BYTES) {
      throw new EnvironmentConfigError(
        `Environment "${envName}": the runtime configuration is ${Buffer.byteLength(pipelineConfigJson)} bytes, ` +
          `more than the ${MAX_PIPELINE_CONFIG_BYTES} bytes Lambda's 4 KB variable limit leaves for it. ` +
          'Shorten or merge routingRules (their metadata maps take the most room).',
      );
    }

    // ----- shared -----
    this.accessLogBucket = new AccessLogBucket(this, 'AccessLogs', { removalPolicy }).bucket;
    this.credentials = new CredentialsSecret(this, 'Credentials', {
      secretName: config.credentialsSecret.secretName,
      create: config.credentialsSecret.create,
      removalPolicy,
    });

    // ----- ingest -----
    const ingestTimeout = Duration.seconds(config.ingest.functionTimeoutSeconds);
    const batchingWindow = Duration.seconds(config.ingest.maxBatchingWindowSeconds);
    this.ingestQueue = new QueueWithDlq(this, 'IngestQueue', {
      consumerTimeout: ingestTimeout,
      maxBatchingWindow: batchingWindow,
      maxReceiveCount: config.ingest.maxReceiveCount,
    });

    const inboxName = inboxBucketName(envName, config.account, config.region);
    const inbox = new SecureBucket(this, 'Inbox', {
      bucketName: inboxName,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'inbox-bucket/',
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(config.inbox.noncurrentVersionExpirationDays),
          expiredObjectDeleteMarker: true,
        },
        {
          id: 'expire-rejected',
          prefix: REJECTED_PREFIX,
          expiration: Duration.days(config.inbox.rejectedExpirationDays),
        },
      ],
    });
    this.inboxBucket = inbox.bucket;
    this.notifyQueueOfNewInboxObjects(this.inboxBucket, inboxName, this.ingestQueue.queue);

    this.ledger = new LedgerTable(this, 'Ledger', { removalPolicy, objectIndex: true });

    this.ingestFunction = new PipelineFunction(this, 'Ingest', {
      entry: functionEntry('ingest'),
      description: `Ingests new objects under ${INBOX_PREFIX} of the inbox bucket into iBinder (${envName})`,
      serviceName: SERVICE_NAMES.ingest,
      metricsNamespace: METRICS_NAMESPACE,
      timeout: ingestTimeout,
      memorySize: config.ingest.memorySizeMb,
      logRetention: config.logRetentionDays,
      removalPolicy,
      environment: {
        [ENV.config]: pipelineConfigJson,
        [ENV.ledgerTable]: this.ledger.table.tableName,
        [ENV.inboxBucket]: inboxName,
      },
    });
    const ingestFn = this.ingestFunction.function;
    ingestFn.addEventSource(
      new SqsEventSource(this.ingestQueue.queue, {
        batchSize: config.ingest.batchSize,
        maxBatchingWindow: batchingWindow,
        maxConcurrency: config.ingest.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.grantObjects({
      fn: this.ingestFunction,
      bucket: inbox,
      keyPattern: `${INBOX_PREFIX}*`,
      actions: [
        's3:GetObject',
        's3:GetObjectVersion',
        's3:GetObjectTagging',
        's3:GetObjectVersionTagging',
        // disposition: delete the ingested object, or tag it as ingested
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutObjectTagging',
        's3:PutObjectVersionTagging',
      ],
      why: `Producers choose the keys under ${INBOX_PREFIX}: the function reads any object there, then deletes or tags it once ingested.`,
    });
    // A rejected object is copied with its tags; one over 5 GiB part by part (hence Abort).
    this.grantObjects({
      fn: this.ingestFunction,
      bucket: inbox,
      keyPattern: `${REJECTED_PREFIX}*`,
      actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
      why: `Rejected objects keep their inbox key below ${REJECTED_PREFIX}, beside their .error.json reports.`,
    });
    // Without ListBucket, S3 answers a read of a missing key with 403 instead of 404; an object
    // that is gone (already disposed of when a message is redelivered) must not look like a
    // permissions problem.
    inbox.grantList(ingestFn);
    this.ledger.grantRecordReadWrite(ingestFn);
    this.credentials.secret.grantRead(ingestFn);

    // ----- export -----
    const exportConfig = config.export;
    if (exportConfig.archiveKmsKey) this.archiveKey = this.archiveKeyFor(exportConfig.archiveKmsKey, envName, removalPolicy);
    const objectLock = archiveObjectLockFor(config, envName);
    const archive = new SecureBucket(this, 'Archive', {
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'archive-bucket/',
      removalPolicy,
      ...(this.archiveKey ? { encryptionKey: this.archiveKey } : {}),
      ...(objectLock
        ? {
            objectLockDefaultRetention:
              objectLock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(objectLock.days))
                : s3.ObjectLockRetention.governance(Duration.days(objectLock.days)),
          }
        : {}),
      lifecycleRules: [
        {
          id: 'archive-transition',
          transitions: [
            {
              storageClass: STORAGE_CLASSES[exportConfig.archiveStorageClass],
              transitionAfter: Duration.days(exportConfig.archiveTransitionDays),
            },
          ],
          noncurrentVersionTransitions: [
            {
              storageClass: STORAGE_CLASSES[exportConfig.archiveStorageClass],
              transitionAfter: Duration.days(exportConfig.archiveTransitionDays),
            },
          ],
        },
      ],
    });
    this.archiveBucket = archive.bucket;

    const workerTimeout = Duration.seconds(exportConfig.workerTimeoutSeconds);
    this.exportQueue = new QueueWithDlq(this, 'ExportQueue', {
      consumerTimeout: workerTimeout,
      maxReceiveCount: exportConfig.maxReceiveCount,
    });
    this.plannerDeadLetterQueue = new sqs.Queue(this, 'PlannerDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.exportLedger = new LedgerTable(this, 'ExportLedger', { removalPolicy });

    const exportEnvironment = {
      [ENV.config]: pipelineConfigJson,
      [ENV.exportLedgerTable]: this.exportLedger.table.tableName,
      [ENV.exportQueueUrl]: this.exportQueue.queue.queueUrl,
      [ENV.archiveBucket]: this.archiveBucket.bucketName,
    };

    this.plannerFunction = new PipelineFunction(this, 'ExportPlanner', {
      entry: functionEntry('export-planner'),
      description: `Plans the nightly iBinder -> S3 export: enqueues the document versions not yet archived (${envName})`,
      serviceName: SERVICE_NAMES.exportPlanner,
      metricsNamespace: METRICS_NAMESPACE,
      timeout: Duration.seconds(exportConfig.plannerTimeoutSeconds),
      memorySize: exportConfig.plannerMemorySizeMb,
      logRetention: config.logRetentionDays,
      removalPolicy,
      deadLetterQueue: this.plannerDeadLetterQueue,
      environment: exportEnvironment,
    });
    const plannerFn = this.plannerFunction.function;
    this.exportQueue.queue.grantSendMessages(plannerFn);
    this.exportLedger.grantRecordReadWrite(plannerFn, EXPORT_LEDGER_ACCESS);
    this.credentials.secret.grantRead(plannerFn);
    // The planner writes its manifest parts and assembles a run's manifest from them.
    this.grantObjects({
      fn: this.plannerFunction,
      bucket: archive,
      keyPattern: `${MANIFESTS_PREFIX}*`,
      actions: ['s3:PutObject', 's3:GetObject'],
      why: `Run manifests and their parts are named per run at run time, all below ${MANIFESTS_PREFIX}.`,
    });
    archive.grantList(plannerFn, MANIFESTS_PREFIX);

    this.workerFunction = new PipelineFunction(this, 'ExportWorker', {
      entry: functionEntry('export-worker'),
      description: `Copies one iBinder document version into the archive bucket (${envName})`,
      serviceName: SERVICE_NAMES.exportWorker,
      metricsNamespace: METRICS_NAMESPACE,
      timeout: workerTimeout,
      memorySize: exportConfig.workerMemorySizeMb,
      logRetention: config.logRetentionDays,
      removalPolicy,
      environment: exportEnvironment,
    });
    const workerFn = this.workerFunction.function;
    workerFn.addEventSource(
      new SqsEventSource(this.exportQueue.queue, {
        batchSize: exportConfig.workerBatchSize,
        maxConcurrency: exportConfig.workerMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // Files and sidecars under the tenant's prefix only. GetObject there: before copying, a
    // worker reads the version's sidecar and HEADs its file, so a job redelivered after a crash
    // before the ledger write is recognised as done instead of written twice.
    this.grantObjects({
      fn: this.workerFunction,
      bucket: archive,
      keyPattern: `${archiveDataPrefix(config.tenantId)}*`,
      actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      why:
        "Archive keys are derived from binder, document and version ids at run time, below the tenant's prefix; the " +
        "worker reads a version's sidecar and file to recognise a redelivered job as done.",
    });
    // Its manifest part per batch, and the run's manifest when it settles the run's last job
    // (assembled from the parts, hence GetObject).
    this.grantObjects({
      fn: this.workerFunction,
      bucket: archive,
      keyPattern: `${MANIFESTS_PREFIX}*`,
      actions: ['s3:PutObject', 's3:GetObject'],
      why: `Run manifests and their parts are named per run at run time, all below ${MANIFESTS_PREFIX}.`,
    });
    // ListBucket without a prefix condition: a GetObject/HEAD carries no s3:prefix, and without
    // ListBucket S3 answers a missing sidecar with 403 instead of 404.
    archive.grantList(workerFn);
    this.exportLedger.grantRecordReadWrite(workerFn, EXPORT_LEDGER_ACCESS);
    this.credentials.secret.grantRead(workerFn);

    this.exportSchedule = new NightlyExportSchedule(this, 'NightlyExport', {
      planner: plannerFn,
      cronExpression: exportConfig.scheduleCron,
      timeZone: exportConfig.scheduleTimeZone,
      deadLetterQueue: this.plannerDeadLetterQueue,
      description: `Starts the nightly iBinder -> S3 export (${envName})`,
    });

    // ----- alarms and dashboard -----
    const alarms = config.alarms;
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      envName,
      namePrefix: pipelineStackName(envName),
      email: alarms.email,
      thresholds: {
        ingestMessageAge:
          alarms.ingestMessageAgeMinutes !== undefined
            ? Duration.minutes(alarms.ingestMessageAgeMinutes)
            : defaultIngestMessageAge(ingestTimeout, batchingWindow),
        rejectionRatePercent: alarms.rejectionRatePercent,
        rejectionRatePeriod: Duration.minutes(alarms.rejectionRatePeriodMinutes),
        rejectionRateMinFiles: alarms.rejectionRateMinFiles,
        exportCompletionWindow: Duration.hours(alarms.exportCompletionWindowHours),
      },
      ingestQueue: this.ingestQueue,
      exportQueue: this.exportQueue,
      plannerDeadLetterQueue: this.plannerDeadLetterQueue,
      functions: { ingest: ingestFn, planner: plannerFn, worker: workerFn },
      removalPolicy,
    });

    // ----- producers -----
    this.producers = this.addProducers(config.producers, envName, inbox.bucket);

    this.addOutputs();
    this.acknowledgeNagFindings();
  }

  /**
   * A created key is rotated yearly and follows the environment's removal policy (a retained
   * archive keeps the key that decrypts it); an existing key is only referenced.
   */
  private archiveKeyFor(setting: ArchiveKmsKey, envName: string, removalPolicy: RemovalPolicy): kms.IKey {
    if (setting === 'create') {
      return new kms.Key(this, 'ArchiveKey', {
        description: `Encrypts the iBinder archive bucket (${envName})`,
        enableKeyRotation: true,
        removalPolicy,
      });
    }
    return kms.Key.fromKeyArn(this, 'ArchiveKey', setting.keyArn);
  }

  /** Grants object actions on a key pattern and remembers the grant for its nag acknowledgement. */
  private grantObjects(grant: ObjectGrant): void {
    grant.bucket.grantObjectActions(grant.fn.function, grant.keyPattern, [...grant.actions]);
    this.objectGrants.push(grant);
  }

  private addProducers(producers: readonly ProducerConfig[], envName: string, inboxBucket: s3.Bucket): Map<string, ProducerAccess> {
    const accesses = new Map<string, ProducerAccess>();
    for (const producer of producers) {
      const access = new ProducerAccess(this, `Producer-${producer.name}`, {
        bucket: inboxBucket,
        producerName: producer.name,
        prefix: producer.prefix,
        managedPolicyName: `${pipelineStackName(envName)}-producer-${producer.name}`,
        ...(producer.principals ? { principals: producer.principals } : {}),
        ...(producer.externalId !== undefined ? { externalId: producer.externalId } : {}),
        ...(producer.allowedTagKeys ? { allowedTagKeys: producer.allowedTagKeys } : {}),
      });
      accesses.set(producer.name, access);
      const id = pascalCase(producer.name);
      new CfnOutput(this, `Producer${id}PolicyArn`, {
        value: access.policy.managedPolicyArn,
        description: `Attach to producer "${producer.name}": put and tag objects under ${producer.prefix} only`,
      });
      if (access.role) {
        new CfnOutput(this, `Producer${id}RoleArn`, {
          value: access.role.roleArn,
          description: `Producer "${producer.name}" assumes this role to drop files under ${producer.prefix}`,
        });
      }
    }
    return accesses;
  }

  /**
   * ObjectCreated events under `inbox/` go to the ingest queue. Written on the CloudFormation
   * bucket directly (see `inboxBucketName`): the queue policy names the bucket by its fixed ARN,
   * and the bucket waits for that policy, because S3 checks it when the notification is set.
   */
  private notifyQueueOfNewInboxObjects(bucket: s3.Bucket, bucketName: string, queue: sqs.Queue): void {
    const bucketArn = Stack.of(this).formatArn({ service: 's3', region: '', account: '', resource: bucketName });
    const { policyDependable } = queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowInboxBucketNotifications',
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [queue.queueArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      queueConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          queue: queue.queueArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: INBOX_PREFIX }] } },
        },
      ],
    };
    if (policyDependable) cfnBucket.node.addDependency(policyDependable);
  }

  private addOutputs(): void {
    const outputs: Array<[string, string, string]> = [
      ['InboxBucketName', this.inboxBucket.bucketName, `Producers put files under ${INBOX_PREFIX} here, with ibinder: tags`],
      ['ArchiveBucketName', this.archiveBucket.bucketName, 'The nightly export writes document versions and manifests here'],
      ['AccessLogBucketName', this.accessLogBucket.bucketName, 'S3 server access logs of the inbox and archive buckets'],
      ['IngestQueueUrl', this.ingestQueue.queue.queueUrl, 'Inbox ObjectCreated events waiting for the ingest function'],
      [
        'IngestDeadLetterQueueUrl',
        this.ingestQueue.deadLetterQueue.queueUrl,
        'Ingest events that failed every retry; redrive after fixing the cause',
      ],
      ['ExportQueueUrl', this.exportQueue.queue.queueUrl, 'Document versions waiting for the export worker'],
      ['ExportDeadLetterQueueUrl', this.exportQueue.deadLetterQueue.queueUrl, 'Export messages that failed every retry'],
      ['PlannerDeadLetterQueueUrl', this.plannerDeadLetterQueue.queueUrl, 'Nightly export runs that could not start or failed'],
      ['LedgerTableName', this.ledger.table.tableName, 'Ingest ledger: one item per inbox object version'],
      ['ExportLedgerTableName', this.exportLedger.table.tableName, 'Export ledger: one item per exported document version'],
      ['CredentialsSecretName', this.credentials.secretName, 'Put {"clientId","clientSecret"} of the iBinder API client here'],
      ['IngestFunctionName', this.ingestFunction.function.functionName, 'Ingest function'],
      [
        'ExportPlannerFunctionName',
        this.plannerFunction.function.functionName,
        'Export planner; invoke with {"source":"manual"} to run an export now',
      ],
      ['ExportWorkerFunctionName', this.workerFunction.function.functionName, 'Export worker function'],
    ];
    for (const [id, value, description] of outputs) new CfnOutput(this, id, { value, description });
    this.monitoring.addOutputs(this);
  }

  /**
   * cdk-nag AwsSolutions findings that are the design, each acknowledged on the one role it
   * concerns with the reason. IAM5 findings are acknowledged one resource at a time, so any new
   * wildcard shows up as a finding of its own; the reason of an object grant names the actions
   * granted there (objectGrantReason).
   */
  private acknowledgeNagFindings(): void {
    for (const grant of this.objectGrants) {
      const bucketId = this.getLogicalId(grant.bucket.bucket.node.defaultChild as s3.CfnBucket);
      Validations.of(grant.fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${grant.keyPattern}]`,
        reason: objectGrantReason(grant),
      });
    }
  }
}
