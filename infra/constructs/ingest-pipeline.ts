/**
 * The ingest half of an environment: the inbox bucket, whose ObjectCreated events under
 * `inbox/` go to the ingest queue (with its dead-letter queue), the ingest function that the
 * queue's SQS event source invokes, its ledger, and a least-privilege policy (and optional role)
 * per producer.
 *
 * Secure by default, each default overridable by a prop: the bucket is versioned, encrypted,
 * private, TLS only and logged; the queues are encrypted and TLS only; the function reads and
 * disposes of objects under `inbox/` only, writes under `rejected/` only, uses its ledger one
 * item at a time, and reads the connectors' secrets; everything stateful is retained with the
 * stack. The event source's `maxConcurrency` bounds how many invocations (and so how many
 * connector clients) run at once: with each connector's per-instance request budget it is what
 * keeps the document systems' rate limits (README, Configuration).
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as iamTypes from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LedgerTable } from './ledger-table.js';
import { grantObjectsAcknowledged } from './object-grant.js';
import { PipelineFunction } from './pipeline-function.js';
import { ProducerAccess } from './producer-access.js';
import { QueueWithDlq } from './queue-with-dlq.js';
import { SecureBucket } from './secure-bucket.js';

/** A producer's access, as ProducerAccess takes it (the policy name is derived). */
export interface IngestProducer {
  readonly name: string;
  readonly prefix: string;
  readonly principals?: readonly string[] | undefined;
  readonly externalId?: string | undefined;
  readonly allowedTagKeys?: readonly string[] | undefined;
}

/** Who may read the connectors' credentials: the ingest function is given read access. */
export interface CredentialsReadAccess {
  grantRead(grantee: iamTypes.IGrantable): void;
}

export interface IngestPipelineProps {
  /** The inbox bucket's fixed name: its event notification and the queue policy must name each other. */
  readonly inboxBucketName: string;
  /** Where the inbox bucket's server access logs go. */
  readonly accessLogBucket: s3.IBucket;
  /** The ingest function's code: absolute path of the entry file that exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME of the function. */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** Variables of the function besides the ledger table and inbox bucket names this construct sets. */
  readonly environment: Record<string, string>;
  /** Variable names under which the function finds its ledger table and its inbox bucket. */
  readonly environmentNames: { readonly ledgerTable: string; readonly inboxBucket: string };
  /** The connectors' secrets, readable by the ingest function. */
  readonly credentials: CredentialsReadAccess;
  /** Objects producers drop land under this prefix. @default 'inbox/' */
  readonly inboxPrefix?: string;
  /** Rejected objects and their reports go under this prefix. @default 'rejected/' */
  readonly rejectedPrefix?: string;
  /** @default RemovalPolicy.RETAIN (buckets, ledger, log group) */
  readonly removalPolicy?: RemovalPolicy;
  /** @default Duration.seconds(300) */
  readonly functionTimeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** SQS messages per invocation. @default 10 */
  readonly batchSize?: number;
  /** @default Duration.seconds(5) */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most concurrent invocations the event source starts (2-1000). It bounds every connector at
   * once: the load on a document system is at most this times the connector's per-instance
   * budget. @default 5
   */
  readonly maxConcurrency?: number;
  /** Deliveries of one message before the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Replaced or deleted inbox object versions are kept this long. @default Duration.days(30) */
  readonly noncurrentVersionExpiration?: Duration;
  /** Objects under the rejected prefix are kept this long. @default Duration.days(90) */
  readonly rejectedExpiration?: Duration;
  /** @default none */
  readonly producers?: readonly IngestProducer[];
  /** A producer's managed policy is named `<producerPolicyPrefix>-producer-<name>`; unique in the account. @default the stack name */
  readonly producerPolicyPrefix?: string;
}

export class IngestPipeline extends Construct {
  readonly inbox: SecureBucket;
  readonly inboxBucket: s3.Bucket;
  readonly queue: QueueWithDlq;
  readonly ledger: LedgerTable;
  readonly ingestFunction: PipelineFunction;
  /** One per producer, by name. */
  readonly producers: ReadonlyMap<string, ProducerAccess>;

  constructor(scope: Construct, id: string, props: IngestPipelineProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const inboxPrefix = props.inboxPrefix ?? 'inbox/';
    const rejectedPrefix = props.rejectedPrefix ?? 'rejected/';
    const timeout = props.functionTimeout ?? Duration.seconds(300);
    const batchingWindow = props.maxBatchingWindow ?? Duration.seconds(5);

    this.queue = new QueueWithDlq(this, 'IngestQueue', {
      consumerTimeout: timeout,
      maxBatchingWindow: batchingWindow,
      maxReceiveCount: props.maxReceiveCount ?? 5,
    });

    this.inbox = new SecureBucket(this, 'Inbox', {
      bucketName: props.inboxBucketName,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'inbox-bucket/',
      removalPolicy,
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        {
          id: 'expire-rejected',
          prefix: rejectedPrefix,
          expiration: props.rejectedExpiration ?? Duration.days(90),
        },
      ],
    });
    this.inboxBucket = this.inbox.bucket;
    this.notifyQueueOfNewObjects(props.inboxBucketName, inboxPrefix);

    this.ledger = new LedgerTable(this, 'Ledger', { removalPolicy, objectIndex: true });

    this.ingestFunction = new PipelineFunction(this, 'Ingest', {
      entry: props.entry,
      description: props.description,
      serviceName: props.serviceName,
      metricsNamespace: props.metricsNamespace,
      timeout,
      memorySize: props.memorySize ?? 1024,
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      removalPolicy,
      environment: {
        ...props.environment,
        [props.environmentNames.ledgerTable]: this.ledger.table.tableName,
        [props.environmentNames.inboxBucket]: props.inboxBucketName,
      },
    });
    const fn = this.ingestFunction.function;
    fn.addEventSource(
      new SqsEventSource(this.queue.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: batchingWindow,
        maxConcurrency: props.maxConcurrency ?? 5,
        reportBatchItemFailures: true,
      }),
    );
    grantObjectsAcknowledged({
      fn: this.ingestFunction,
      bucket: this.inbox,
      keyPattern: `${inboxPrefix}*`,
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
      why: `Producers choose the keys under ${inboxPrefix}: the function reads any object there, then deletes or tags it once ingested.`,
    });
    // A rejected object is copied with its tags; one over 5 GiB part by part (hence Abort).
    grantObjectsAcknowledged({
      fn: this.ingestFunction,
      bucket: this.inbox,
      keyPattern: `${rejectedPrefix}*`,
      actions: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'],
      why: `Rejected objects keep their inbox key below ${rejectedPrefix}, beside their .error.json reports.`,
    });
    // Without ListBucket, S3 answers a read of a missing key with 403 instead of 404; an object
    // that is gone (already disposed of when a message is redelivered) must not look like a
    // permissions problem.
    this.inbox.grantList(fn);
    this.ledger.grantRecordReadWrite(fn);
    props.credentials.grantRead(fn);

    const policyPrefix = props.producerPolicyPrefix ?? Stack.of(this).stackName;
    const producers = new Map<string, ProducerAccess>();
    for (const producer of props.producers ?? []) {
      producers.set(
        producer.name,
        new ProducerAccess(this, `Producer-${producer.name}`, {
          bucket: this.inboxBucket,
          producerName: producer.name,
          prefix: producer.prefix,
          managedPolicyName: `${policyPrefix}-producer-${producer.name}`,
          ...(producer.principals ? { principals: producer.principals } : {}),
          ...(producer.externalId !== undefined ? { externalId: producer.externalId } : {}),
          ...(producer.allowedTagKeys ? { allowedTagKeys: producer.allowedTagKeys } : {}),
        }),
      );
    }
    this.producers = producers;
  }

  /**
   * ObjectCreated events under the inbox prefix go to the ingest queue. Written on the
   * CloudFormation bucket directly: the queue policy names the bucket by its fixed ARN, and the
   * bucket waits for that policy, because S3 checks it when the notification is set. (CDK's
   * `addEventNotification` would need a custom-resource Lambda function with account-wide S3 rights.)
   */
  private notifyQueueOfNewObjects(bucketName: string, prefix: string): void {
    const stack = Stack.of(this);
    const queue: sqs.Queue = this.queue.queue;
    const bucketArn = stack.formatArn({ service: 's3', region: '', account: '', resource: bucketName });
    const { policyDependable } = queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowInboxBucketNotifications',
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [queue.queueArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': bucketArn },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    const cfnBucket = this.inboxBucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      queueConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          queue: queue.queueArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: prefix }] } },
        },
      ],
    };
    if (policyDependable) cfnBucket.node.addDependency(policyDependable);
  }
}
