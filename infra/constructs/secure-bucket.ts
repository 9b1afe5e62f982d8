/**
 * An S3 bucket with the defaults every bucket of the pipeline needs: versioned, encrypted,
 * no public access, TLS only, server access logs, bucket-owner-enforced ownership, and
 * incomplete multipart uploads cleaned up. Each default can be overridden by a prop.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SecureBucketProps {
  /** Where server access logs go (required: an unlogged bucket is not secure by default). */
  readonly serverAccessLogsBucket: s3.IBucket;
  /** Key prefix of this bucket's logs in the log bucket, e.g. `inbox-bucket/`. */
  readonly serverAccessLogsPrefix: string;
  /** A fixed name; needed when something must know the name before the bucket exists. @default generated */
  readonly bucketName?: string;
  /** @default BucketEncryption.S3_MANAGED */
  readonly encryption?: s3.BucketEncryption;
  /** Customer-managed key when `encryption` is KMS. @default none */
  readonly encryptionKey?: kms.IKey;
  /** @default true */
  readonly versioned?: boolean;
  /** Rules added after the multipart-upload cleanup rule. @default none */
  readonly lifecycleRules?: s3.LifecycleRule[];
  /** @default Duration.days(7) */
  readonly abortIncompleteMultipartUploadAfter?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * S3 Object Lock with this default retention: no object version can be deleted or replaced
   * in place until its retention ends (a write to the same key adds a version above it).
   * Once on, Object Lock cannot be turned off for the bucket. @default none
   */
  readonly objectLockDefaultRetention?: s3.ObjectLockRetention;
}

/**
 * The KMS actions object access needs with a customer-managed key, named one by one:
 * reading decrypts the object's data key; writing asks KMS for a new data key, and a multipart
 * upload also decrypts it to add parts. No ReEncrypt, no wildcard action.
 */
export const KMS_ACTIONS_TO_READ = ['kms:Decrypt'] as const;
export const KMS_ACTIONS_TO_WRITE = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

export class SecureBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const encryption = props.encryption ?? (props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...(props.bucketName !== undefined ? { bucketName: props.bucketName } : {}),
      encryption,
      ...(props.encryptionKey ? { encryptionKey: props.encryptionKey, bucketKeyEnabled: true } : {}),
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: props.versioned ?? true,
      lifecycleRules: [
        {
          id: 'abort-incomplete-multipart-uploads',
          abortIncompleteMultipartUploadAfter: props.abortIncompleteMultipartUploadAfter ?? Duration.days(7),
        },
        ...(props.lifecycleRules ?? []),
      ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.objectLockDefaultRetention
        ? { objectLockEnabled: true, objectLockDefaultRetention: props.objectLockDefaultRetention }
        : {}),
    });
    this.logServerAccessTo(props.serverAccessLogsBucket, props.serverAccessLogsPrefix);
  }

  /**
   * Server access logging, granted through the log bucket's policy (the log bucket is
   * bucket-owner-enforced, so ACLs are off). Written here rather than through the Bucket's
   * `serverAccessLogsBucket` prop, which grants by ACL unless the app sets the
   * `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy` feature flag: this construct must be
   * secure in any app.
   */
  private logServerAccessTo(logBucket: s3.IBucket, prefix: string): void {
    const cfnBucket = this.bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.loggingConfiguration = { destinationBucketName: logBucket.bucketName, logFilePrefix: prefix };
    logBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logBucket.arnForObjects(`${prefix}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
  }

  /**
   * Grants object-level actions on the keys matching `keyPattern` only (e.g. `inbox/*`), as one
   * identity-policy statement. `Bucket.grantRead`/`grantWrite` would add `s3:GetObject*`-style
   * wildcard actions and bucket-level rights the functions do not need. With a customer-managed
   * key, the grantee also gets the KMS actions those object actions need on that key only.
   */
  grantObjectActions(grantee: iam.IGrantable, keyPattern: string, actions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.bucket.arnForObjects(keyPattern)],
    });
    const key = this.bucket.encryptionKey;
    if (key) {
      const reads = actions.some((a) => a.startsWith('s3:GetObject') && !a.includes('Tagging'));
      const writes = actions.some((a) => a === 's3:PutObject');
      const kmsActions = writes ? KMS_ACTIONS_TO_WRITE : reads ? KMS_ACTIONS_TO_READ : [];
      if (kmsActions.length > 0) {
        // Through S3 only: the key cannot be used directly, e.g. to decrypt data from elsewhere.
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...kmsActions],
          resourceArns: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
        });
      }
    }
    return grant;
  }

  /**
   * Grants ListBucket on this bucket. With a prefix, only listings under it (`s3:prefix`);
   * without, any listing, which is also what makes S3 answer a read of a missing key with 404
   * rather than 403.
   */
  grantList(grantee: iam.IGrantable, prefix?: string): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket'],
      resourceArns: [this.bucket.bucketArn],
      ...(prefix !== undefined ? { conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
    });
  }
}
