/**
 * The nightly export of an environment: the archive bucket (optionally under a customer-managed
 * key and Object Lock), the EventBridge Scheduler schedule that starts the planner, the planner
 * and its dead-letter queue, the export queue (with its dead-letter queue) and the worker it
 * feeds, and the export ledger that both use.
 *
 * Secure by default, each default overridable by a prop: the archive is versioned, encrypted,
 * private, TLS only and logged; the planner writes and reads run manifests under `manifests/`
 * only and lists only there; the worker writes and reads under the tenant's data prefix and
 * `manifests/` only; both use the export ledger one item (or one batch read) at a time and read
 * the connectors' secrets; the schedule may invoke the planner and nothing else; everything
 * stateful is retained with the stack.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { CredentialsReadAccess } from './ingest-pipeline.js';
import { LedgerTable } from './ledger-table.js';
import { NightlyExportSchedule } from './nightly-export-schedule.js';
import { grantObjectsAcknowledged } from './object-grant.js';
import { PipelineFunction } from './pipeline-function.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import { SecureBucket } from './secure-bucket.js';

/**
 * The export ledger also holds the export runs' state: the planner checks many versions at
 * once (BatchGetItem), and claims and run markers are released with DeleteItem.
 */
const EXPORT_LEDGER_ACCESS = { batchRead: true, deleteItem: true } as const;

/** A function of the export: its code and what it is called. */
export interface ExportFunctionCode {
  /** Absolute path of the entry file that exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME. */
  readonly serviceName: string;
}

export interface NightlyExportProps {
  readonly planner: ExportFunctionCode;
  readonly worker: ExportFunctionCode;
  readonly metricsNamespace: string;
  /** Where the archive bucket's server access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /** Variables of both functions besides the ledger, queue and archive names this construct sets. */
  readonly environment: Record<string, string>;
  /** Variable names under which the functions find the export ledger, the export queue and the archive bucket. */
  readonly environmentNames: { readonly exportLedgerTable: string; readonly exportQueueUrl: string; readonly archiveBucket: string };
  /** The connectors' secrets, readable by the planner and the worker. */
  readonly credentials: CredentialsReadAccess;
  /** First key segment of every exported file and sidecar, e.g. `<tenant>/` (ends with `/`). */
  readonly dataPrefix: string;
  /** Run manifests and their parts. @default 'manifests/' */
  readonly manifestsPrefix?: string;
  /** EventBridge Scheduler cron expression. @default 'cron(0 2 * * ? *)' */
  readonly scheduleCron?: string;
  /** IANA time zone of the cron expression. @default 'Etc/UTC' */
  readonly scheduleTimeZone?: string;
  readonly scheduleDescription?: string;
  /** @default RemovalPolicy.RETAIN (archive, ledger, log groups) */
  readonly removalPolicy?: RemovalPolicy;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Archived objects (current and noncurrent versions) move to `archiveStorageClass` after this long. @default Duration.days(30) */
  readonly archiveTransitionAfter?: Duration;
  /** @default StorageClass.GLACIER_INSTANT_RETRIEVAL */
  readonly archiveStorageClass?: s3.StorageClass;
  /** A customer-managed key for the archive. @default SSE-S3 */
  readonly archiveKey?: kms.IKey;
  /** Object Lock default retention of the archive. @default none */
  readonly archiveObjectLock?: s3.ObjectLockRetention;
  /** @default Duration.seconds(900) */
  readonly plannerTimeout?: Duration;
  /** @default 512 */
  readonly plannerMemorySize?: number;
  /** @default Duration.seconds(900) */
  readonly workerTimeout?: Duration;
  /** @default 1024 */
  readonly workerMemorySize?: number;
  /** Export queue messages per worker invocation. @default 1 */
  readonly workerBatchSize?: number;
  /** Most concurrent worker invocations (2-1000). @default 5 */
  readonly workerMaxConcurrency?: number;
  /** Deliveries of one export message before its dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export class NightlyExport extends Construct {
  readonly archive: SecureBucket;
  readonly archiveBucket: s3.Bucket;
  readonly exportQueue: QueueWithDlq;
  /** Nightly runs Scheduler could not start, and planner invocations that failed after Lambda's retries. */
  readonly plannerDeadLetterQueue: sqs.Queue;
  readonly exportLedger: LedgerTable;
  readonly plannerFunction: PipelineFunction;
  readonly workerFunction: PipelineFunction;
  readonly schedule: NightlyExportSchedule;

  constructor(scope: Construct, id: string, props: NightlyExportProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const manifestsPrefix = props.manifestsPrefix ?? 'manifests/';
    const logRetention = props.logRetention !== undefined ? { logRetention: props.logRetention } : {};
    const storageClass = props.archiveStorageClass ?? s3.StorageClass.GLACIER_INSTANT_RETRIEVAL;
    const transitionAfter = props.archiveTransitionAfter ?? Duration.days(30);

    this.archive = new SecureBucket(this, 'Archive', {
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'archive-bucket/',
      removalPolicy,
      ...(props.archiveKey ? { encryptionKey: props.archiveKey } : {}),
      ...(props.archiveObjectLock ? { objectLockDefaultRetention: props.archiveObjectLock } : {}),
      lifecycleRules: [
        {
          id: 'archive-transition',
          transitions: [{ storageClass, transitionAfter }],
          noncurrentVersionTransitions: [{ storageClass, transitionAfter }],
        },
      ],
    });
    this.archiveBucket = this.archive.bucket;

    const workerTimeout = props.workerTimeout ?? Duration.seconds(900);
    this.exportQueue = new QueueWithDlq(this, 'ExportQueue', {
      consumerTimeout: workerTimeout,
      maxReceiveCount: props.maxReceiveCount ?? 5,
    });
    this.plannerDeadLetterQueue = new sqs.Queue(this, 'PlannerDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.exportLedger = new LedgerTable(this, 'ExportLedger', { removalPolicy });

    const environment = {
      ...props.environment,
      [props.environmentNames.exportLedgerTable]: this.exportLedger.table.tableName,
      [props.environmentNames.exportQueueUrl]: this.exportQueue.queue.queueUrl,
      [props.environmentNames.archiveBucket]: this.archiveBucket.bucketName,
    };

    this.plannerFunction = new PipelineFunction(this, 'ExportPlanner', {
      ...props.planner,
      metricsNamespace: props.metricsNamespace,
      timeout: props.plannerTimeout ?? Duration.seconds(900),
      memorySize: props.plannerMemorySize ?? 512,
      ...logRetention,
      removalPolicy,
      deadLetterQueue: this.plannerDeadLetterQueue,
      environment,
    });
    const plannerFn = this.plannerFunction.function;
    this.exportQueue.queue.grantSendMessages(plannerFn);
    this.exportLedger.grantRecordReadWrite(plannerFn, EXPORT_LEDGER_ACCESS);
    props.credentials.grantRead(plannerFn);
    // The planner writes its manifest parts and assembles a run's manifest from them.
    grantObjectsAcknowledged({
      fn: this.plannerFunction,
      bucket: this.archive,
      keyPattern: `${manifestsPrefix}*`,
      actions: ['s3:PutObject', 's3:GetObject'],
      why: `Run manifests and their parts are named per run at run time, all below ${manifestsPrefix}.`,
    });
    this.archive.grantList(plannerFn, manifestsPrefix);

    this.workerFunction = new PipelineFunction(this, 'ExportWorker', {
      ...props.worker,
      metricsNamespace: props.metricsNamespace,
      timeout: workerTimeout,
      memorySize: props.workerMemorySize ?? 1024,
      ...logRetention,
      removalPolicy,
      environment,
    });
    const workerFn = this.workerFunction.function;
    workerFn.addEventSource(
      new SqsEventSource(this.exportQueue.queue, {
        batchSize: props.workerBatchSize ?? 1,
        maxConcurrency: props.workerMaxConcurrency ?? 5,
        reportBatchItemFailures: true,
      }),
    );
    // Files and sidecars under the data prefix only. GetObject there: before copying, a worker
    // reads the version's sidecar and HEADs its file, so a job redelivered after a crash before
    // the ledger write is recognised as done instead of written twice.
    grantObjectsAcknowledged({
      fn: this.workerFunction,
      bucket: this.archive,
      keyPattern: `${props.dataPrefix}*`,
      actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
      why:
        "Archive keys are derived from binder, document and version ids at run time, below the tenant's prefix; the " +
        "worker reads a version's sidecar and file to recognise a redelivered job as done.",
    });
    // Its manifest part per batch, and the run's manifest when it settles the run's last job
    // (assembled from the parts, hence GetObject).
    grantObjectsAcknowledged({
      fn: this.workerFunction,
      bucket: this.archive,
      keyPattern: `${manifestsPrefix}*`,
      actions: ['s3:PutObject', 's3:GetObject'],
      why: `Run manifests and their parts are named per run at run time, all below ${manifestsPrefix}.`,
    });
    // ListBucket without a prefix condition: a GetObject/HEAD carries no s3:prefix, and without
    // ListBucket S3 answers a missing sidecar with 403 instead of 404.
    this.archive.grantList(workerFn);
    this.exportLedger.grantRecordReadWrite(workerFn, EXPORT_LEDGER_ACCESS);
    props.credentials.grantRead(workerFn);

    // The schedule keeps the id it had at the stack's top level (its logical ids follow from it).
    this.schedule = new NightlyExportSchedule(this, 'NightlyExport', {
      planner: plannerFn,
      cronExpression: props.scheduleCron ?? 'cron(0 2 * * ? *)',
      timeZone: props.scheduleTimeZone ?? 'Etc/UTC',
      deadLetterQueue: this.plannerDeadLetterQueue,
      ...(props.scheduleDescription !== undefined ? { description: props.scheduleDescription } : {}),
    });
  }
}
