/**
 * Least-privilege access for one producer (a scanner, an ERP export, a partner's drop): a
 * customer-managed IAM policy that allows writing and tagging objects under the producer's own
 * prefix of the inbox and nothing else, and, when principals are named, a role they can assume
 * that carries the policy.
 *
 * Why a managed policy and not only a role: a producer that runs in this account (a Lambda
 * function, an EC2 instance) attaches the policy to its own role; one in another account
 * assumes the role. The policy is the single description of what a producer may do either way.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * The object actions a producer gets: the upload itself (multipart uploads included) and tagging
 * after the upload, for producers that tag in a second call.
 */
export const PRODUCER_ACTIONS = ['s3:PutObject', 's3:PutObjectTagging'] as const;

export interface ProducerAccessProps {
  /** The inbox bucket (defined in this stack: its logical id names the nag finding). */
  readonly bucket: s3.Bucket;
  /** Short name of the producer, e.g. `erp`; part of the policy name. */
  readonly producerName: string;
  /** Key prefix the producer may write under, e.g. `inbox/erp/` (ends with `/`). */
  readonly prefix: string;
  /** Name of the managed policy; unique in the account. */
  readonly managedPolicyName: string;
  /**
   * Account ids or role/user ARNs that may assume the producer role. An account id trusts the
   * whole account (its administrators decide who may assume); a role ARN trusts that role only.
   * @default no role
   */
  readonly principals?: readonly string[];
  /**
   * `sts:ExternalId` the principals must pass when they assume the role; for a third party that
   * works for other customers too (the confused-deputy problem). @default none
   */
  readonly externalId?: string;
  /**
   * Tag keys the producer may set, `*` and `?` as wildcards (`ibinder:meta:*`). An upload or a
   * tagging call that sets any other key is refused. @default any key
   */
  readonly allowedTagKeys?: readonly string[];
}

/** A 12-digit account id, as opposed to a role or user ARN. */
const ACCOUNT_ID = /^\d{12}$/;

/**
 * The condition that limits the tag keys a request may set. `ForAllValues` holds for a request
 * that sets no tags at all, so an untagged upload (a scanner that relies on a routing rule) is
 * still allowed. `StringLike` only when a key has a wildcard: a literal key then cannot match
 * more than itself.
 */
export function tagKeyCondition(allowedTagKeys: readonly string[]): Record<string, Record<string, string[]>> {
  const operator = allowedTagKeys.some((k) => k.includes('*') || k.includes('?')) ? 'ForAllValues:StringLike' : 'ForAllValues:StringEquals';
  return { [operator]: { 's3:RequestObjectTagKeys': [...allowedTagKeys] } };
}

export class ProducerAccess extends Construct {
  readonly policy: iam.ManagedPolicy;
  /** Present when principals were named. */
  readonly role?: iam.Role;

  constructor(scope: Construct, id: string, props: ProducerAccessProps) {
    super(scope, id);
    const objects = props.bucket.arnForObjects(`${props.prefix}*`);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: props.managedPolicyName,
      description: `Producer "${props.producerName}": put and tag objects under ${props.prefix} of the inbox bucket, nothing else`,
      statements: [
        new iam.PolicyStatement({
          sid: 'PutObjectsUnderOwnPrefix',
          actions: [...PRODUCER_ACTIONS],
          resources: [objects],
          ...(props.allowedTagKeys ? { conditions: tagKeyCondition(props.allowedTagKeys) } : {}),
        }),
      ],
    });
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(props.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/${props.prefix}*]`,
      reason:
        `Producers choose their object keys: the producer "${props.producerName}" may put and tag objects under ` +
        `${props.prefix} only${props.allowedTagKeys ? ', with the allowed tag keys only' : ''}, and read, list or delete nothing.`,
    });

    if (props.principals && props.principals.length > 0) {
      this.role = new iam.Role(this, 'Role', {
        description: `Assumed by producer "${props.producerName}" to drop files under ${props.prefix} of the inbox bucket`,
        assumedBy: new iam.CompositePrincipal(
          ...props.principals.map((p) => {
            const principal = ACCOUNT_ID.test(p) ? new iam.AccountPrincipal(p) : new iam.ArnPrincipal(p);
            return props.externalId !== undefined
              ? principal.withConditions({ StringEquals: { 'sts:ExternalId': props.externalId } })
              : principal;
          }),
        ),
        managedPolicies: [this.policy],
      });
    }
  }
}
