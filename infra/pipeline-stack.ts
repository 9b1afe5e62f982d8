/**
 * One environment of the pipeline, composed of constructs (infra/constructs/): the ingest
 * (IngestPipeline: inbox bucket, ingest queue, ingest function, ledger, producers), the nightly
 * export (NightlyExport: archive bucket, schedule, planner, export queue, worker, export
 * ledger), one credentials secret per configured connector (ConnectorCredentials), an
 * access-log bucket, and the alarms and dashboard (PipelineMonitoring). The stack turns the
 * environment's config into their props; each construct holds its own secure defaults.
 *
 * Every function gets only what its job needs: object actions on its own key prefixes, its own
 * queue, single-item access to its own ledger, and read access to the connectors' secrets. Each
 * configured producer gets a policy (and optionally a role) to write under its own inbox
 * prefix. The archive may have a customer-managed key and, in production, Object Lock.
 */
import { type CfnElement, CfnOutput, CfnResource, Duration, Names, RemovalPolicy, Stack, Tags, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import { ENV } from '../shared/config/runtime.js';
import type { ConnectorName } from '../shared/connectors/types.js';
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
import { ConnectorCredentials, type ConnectorSecret } from './constructs/connector-credentials.js';
import type { CredentialsSecret } from './constructs/credentials-secret.js';
import { IngestPipeline } from './constructs/ingest-pipeline.js';
import type { LedgerTable } from './constructs/ledger-table.js';
import { logicalIdForPath, logicalIdWithout, pathWithout } from './constructs/logical-ids.js';
import { NightlyExport } from './constructs/nightly-export.js';
import type { NightlyExportSchedule } from './constructs/nightly-export-schedule.js';
import type { PipelineFunction } from './constructs/pipeline-function.js';
import { PipelineMonitoring } from './constructs/pipeline-monitoring.js';
import type { ProducerAccess } from './constructs/producer-access.js';
import { type QueueWithDlq, visibilityTimeoutFor } from './constructs/queue-with-dlq.js';
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

/** Name of the iBinder connector: its secret and metrics. */
export const IBINDER_CONNECTOR: ConnectorName = 'ibinder';
/** Name of the Bynder connector. */
export const BYNDER_CONNECTOR: ConnectorName = 'bynder';

/** The acknowledgement text of an object grant (see constructs/object-grant.ts). */
export { objectGrantReason } from './constructs/object-grant.js';

/**
 * One credentials secret per configured connector: iBinder always, Bynder when configured.
 * iBinder's keeps the construct id (`Credentials`) it had when it was the only one, so that its
 * logical id, and a deployed secret, stay the same.
 */
export function connectorSecretsOf(config: EnvironmentConfig): ConnectorSecret[] {
  const secrets: ConnectorSecret[] = [
    {
      connector: IBINDER_CONNECTOR,
      issuer: 'iBinder',
      secretName: config.credentialsSecret.secretName,
      create: config.credentialsSecret.create,
      id: 'Credentials',
    },
  ];
  if (config.bynder) {
    secrets.push({
      connector: BYNDER_CONNECTOR,
      issuer: 'Bynder',
      secretName: config.bynder.credentialsSecretName,
      create: config.bynder.createCredentialsSecret,
      description:
        'Bynder API client credentials {"clientId","clientSecret"} or {"permanentToken"}; created empty, filled in by an operator.',
    });
  }
  return secrets;
}

/** The constructs the stack is composed of, whose ids are left out of logical ids (allocateLogicalId). */
function isComposition(scope: IConstruct): boolean {
  return scope instanceof IngestPipeline || scope instanceof NightlyExport || scope instanceof ConnectorCredentials;
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
  /** The iBinder credentials secret (`connectorCredentials.secretOf('ibinder')`). */
  readonly credentials: CredentialsSecret;
  /** One secret per configured connector. */
  readonly connectorCredentials: ConnectorCredentials;
  readonly ingestFunction: PipelineFunction;
  readonly plannerFunction: PipelineFunction;
  readonly workerFunction: PipelineFunction;
  readonly exportSchedule: NightlyExportSchedule;
  /** Inbox bucket, ingest queue, ingest function, ledger, producers. */
  readonly ingest: IngestPipeline;
  /** Archive bucket, schedule, planner, export queue, worker, export ledger. */
  readonly nightlyExport: NightlyExport;
  /** The alarm topic, the alarms and the dashboard. */
  readonly monitoring: PipelineMonitoring;
  /** The archive bucket's customer-managed key, when the config asks for one. */
  readonly archiveKey?: kms.IKey;
  /** One per configured producer, by name. */
  readonly producers: ReadonlyMap<string, ProducerAccess>;

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
    this.connectorCredentials = new ConnectorCredentials(this, 'ConnectorCredentials', {
      connectors: connectorSecretsOf(config),
      removalPolicy,
    });
    this.credentials = this.connectorCredentials.secretOf(IBINDER_CONNECTOR);

    // ----- ingest -----
    const ingestTimeout = Duration.seconds(config.ingest.functionTimeoutSeconds);
    const batchingWindow = Duration.seconds(config.ingest.maxBatchingWindowSeconds);
    this.ingest = new IngestPipeline(this, 'IngestPipeline', {
      inboxBucketName: inboxBucketName(envName, config.account, config.region),
      accessLogBucket: this.accessLogBucket,
      entry: functionEntry('ingest'),
      description: `Ingests new objects under ${INBOX_PREFIX} of the inbox bucket into iBinder (${envName})`,
      serviceName: SERVICE_NAMES.ingest,
      metricsNamespace: METRICS_NAMESPACE,
      environment: { [ENV.config]: pipelineConfigJson },
      environmentNames: { ledgerTable: ENV.ledgerTable, inboxBucket: ENV.inboxBucket },
      credentials: this.connectorCredentials,
      inboxPrefix: INBOX_PREFIX,
      rejectedPrefix: REJECTED_PREFIX,
      removalPolicy,
      functionTimeout: ingestTimeout,
      memorySize: config.ingest.memorySizeMb,
      logRetention: config.logRetentionDays,
      batchSize: config.ingest.batchSize,
      maxBatchingWindow: batchingWindow,
      maxConcurrency: config.ingest.maxConcurrency,
      maxReceiveCount: config.ingest.maxReceiveCount,
      noncurrentVersionExpiration: Duration.days(config.inbox.noncurrentVersionExpirationDays),
      rejectedExpiration: Duration.days(config.inbox.rejectedExpirationDays),
      producers: config.producers,
      producerPolicyPrefix: pipelineStackName(envName),
    });
    this.inboxBucket = this.ingest.inboxBucket;
    this.ingestQueue = this.ingest.queue;
    this.ledger = this.ingest.ledger;
    this.ingestFunction = this.ingest.ingestFunction;
    this.producers = this.ingest.producers;

    // ----- export -----
    const exportConfig = config.export;
    if (exportConfig.archiveKmsKey) this.archiveKey = this.archiveKeyFor(exportConfig.archiveKmsKey, envName, removalPolicy);
    const objectLock = archiveObjectLockFor(config, envName);
    this.nightlyExport = new NightlyExport(this, 'NightlyExportPipeline', {
      planner: {
        entry: functionEntry('export-planner'),
        description: `Plans the nightly iBinder -> S3 export: enqueues the document versions not yet archived (${envName})`,
        serviceName: SERVICE_NAMES.exportPlanner,
      },
      worker: {
        entry: functionEntry('export-worker'),
        description: `Copies one iBinder document version into the archive bucket (${envName})`,
        serviceName: SERVICE_NAMES.exportWorker,
      },
      metricsNamespace: METRICS_NAMESPACE,
      accessLogBucket: this.accessLogBucket,
      environment: { [ENV.config]: pipelineConfigJson },
      environmentNames: {
        exportLedgerTable: ENV.exportLedgerTable,
        exportQueueUrl: ENV.exportQueueUrl,
        archiveBucket: ENV.archiveBucket,
      },
      credentials: this.connectorCredentials,
      dataPrefix: archiveDataPrefix(config.tenantId),
      manifestsPrefix: MANIFESTS_PREFIX,
      scheduleCron: exportConfig.scheduleCron,
      scheduleTimeZone: exportConfig.scheduleTimeZone,
      scheduleDescription: `Starts the nightly iBinder -> S3 export (${envName})`,
      removalPolicy,
      logRetention: config.logRetentionDays,
      archiveTransitionAfter: Duration.days(exportConfig.archiveTransitionDays),
      archiveStorageClass: STORAGE_CLASSES[exportConfig.archiveStorageClass],
      ...(this.archiveKey ? { archiveKey: this.archiveKey } : {}),
      ...(objectLock
        ? {
            archiveObjectLock:
              objectLock.mode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(objectLock.days))
                : s3.ObjectLockRetention.governance(Duration.days(objectLock.days)),
          }
        : {}),
      plannerTimeout: Duration.seconds(exportConfig.plannerTimeoutSeconds),
      plannerMemorySize: exportConfig.plannerMemorySizeMb,
      workerTimeout: Duration.seconds(exportConfig.workerTimeoutSeconds),
      workerMemorySize: exportConfig.workerMemorySizeMb,
      workerBatchSize: exportConfig.workerBatchSize,
      workerMaxConcurrency: exportConfig.workerMaxConcurrency,
      maxReceiveCount: exportConfig.maxReceiveCount,
    });
    this.archiveBucket = this.nightlyExport.archiveBucket;
    this.exportQueue = this.nightlyExport.exportQueue;
    this.plannerDeadLetterQueue = this.nightlyExport.plannerDeadLetterQueue;
    this.exportLedger = this.nightlyExport.exportLedger;
    this.plannerFunction = this.nightlyExport.plannerFunction;
    this.workerFunction = this.nightlyExport.workerFunction;
    this.exportSchedule = this.nightlyExport.schedule;

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
      functions: { ingest: this.ingestFunction.function, planner: this.plannerFunction.function, worker: this.workerFunction.function },
      bynder: config.bynder !== undefined,
      removalPolicy,
    });

    this.keepEventSourceMappingId(this.ingestFunction, this.ingestQueue.queue);
    this.keepEventSourceMappingId(this.workerFunction, this.exportQueue.queue);

    this.addProducerOutputs(config.producers);
    this.addOutputs();
  }

  /**
   * An SQS event source mapping keeps the logical id it had before the split. SqsEventSource
   * names its mapping after the queue's full construct path (`SqsEventSource:<unique id>`),
   * which the composition constructs lengthened; a new logical id would make CloudFormation
   * create the new mapping before deleting the old one, and Lambda refuses a second mapping of
   * the same queue to the same function, so the update would fail and roll back.
   */
  private keepEventSourceMappingId(fn: PipelineFunction, queue: sqs.IQueue): void {
    const mapping = fn.function.node.tryFindChild(`SqsEventSource:${Names.nodeUniqueId(queue.node)}`);
    const cfn = mapping?.node.defaultChild;
    if (!mapping || !cfn || !CfnResource.isCfnResource(cfn)) {
      throw new Error(`${fn.node.path}: no SQS event source mapping for ${queue.node.path} (SqsEventSource changed its naming?)`);
    }
    const queueId = logicalIdForPath([this.node.id, ...pathWithout(this, queue, isComposition)]);
    cfn.overrideLogicalId(logicalIdForPath([...pathWithout(this, fn.function, isComposition), `SqsEventSource:${queueId}`, cfn.node.id]));
  }

  /**
   * Logical ids as before the stack was split into constructs: the composition constructs'
   * ids are left out of their resources' paths (constructs/logical-ids.ts), so that deployed
   * buckets, tables, secrets, keys and queues are updated in place, not replaced.
   */
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdWithout(this, element, isComposition) ?? super.allocateLogicalId(element);
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

  /** The policy (and role) of each producer, for the team that runs it. */
  private addProducerOutputs(producers: readonly ProducerConfig[]): void {
    for (const producer of producers) {
      const access = this.producers.get(producer.name);
      if (!access) continue;
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
  }

  /** The Bynder secret's name, when the environment configures Bynder. */
  private bynderOutputs(): Array<[string, string, string]> {
    const bynder = this.connectorCredentials.secrets.get(BYNDER_CONNECTOR);
    if (!bynder) return [];
    return [
      [
        'BynderCredentialsSecretName',
        bynder.secretName,
        'Put {"clientId","clientSecret"} (or {"permanentToken"}) of the Bynder API client here',
      ],
    ];
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
      ...this.bynderOutputs(),
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
}
