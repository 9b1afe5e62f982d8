/**
 * Object grants on a bucket's keys, acknowledged for cdk-nag in words built from the grant.
 *
 * A function's object access is a key pattern (producers and run ids choose the keys), which
 * cdk-nag reports as a wildcard (AwsSolutions-IAM5). Each such grant is acknowledged on the one
 * role it concerns, for that one resource, with a reason that names exactly the actions granted
 * there: the text cannot claim less (or more) than the role may do, and any new wildcard shows up
 * as a finding of its own. test/infra/security.test.ts compares reason and policy.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { PipelineFunction } from './pipeline-function.js';
import type { SecureBucket } from './secure-bucket.js';

export interface ObjectGrant {
  readonly fn: PipelineFunction;
  readonly bucket: SecureBucket;
  /** e.g. `inbox/*` */
  readonly keyPattern: string;
  readonly actions: readonly string[];
  /** Why the keys cannot be named one by one. */
  readonly why: string;
}

/** The acknowledgement text of an object grant: why the keys are a pattern, then exactly the actions granted there. */
export function objectGrantReason(grant: Pick<ObjectGrant, 'keyPattern' | 'actions' | 'why'>): string {
  return `${grant.why} Allowed on ${grant.keyPattern}: ${[...grant.actions].sort().join(', ')}; nothing else.`;
}

/** Grants the object actions on the key pattern and acknowledges its IAM5 finding on the function's role. */
export function grantObjectsAcknowledged(grant: ObjectGrant): void {
  grant.bucket.grantObjectActions(grant.fn.function, grant.keyPattern, [...grant.actions]);
  const bucketId = Stack.of(grant.bucket).getLogicalId(grant.bucket.bucket.node.defaultChild as s3.CfnBucket);
  Validations.of(grant.fn.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${grant.keyPattern}]`,
    reason: objectGrantReason(grant),
  });
}
