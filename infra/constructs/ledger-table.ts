/**
 * A ledger table: one item per tracked thing, keyed by the string `pk`, with an optional
 * `expiresAt` (epoch seconds) that DynamoDB's TTL removes. On demand (the load follows the
 * queues), point-in-time recovery on, encrypted with the AWS-managed key.
 *
 * The ledgers are read and written one item at a time, with conditions; nothing lists them, so
 * no grant here includes Scan or Query. DeleteItem and BatchGetItem are opt-in: the ingest
 * ledger needs neither, the export ledger (shared with the export runs' state) releases claims
 * and checks many versions at once.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export const LEDGER_PARTITION_KEY = 'pk';
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** Item-level actions a ledger user needs: read one entry, claim/commit it conditionally. */
export const LEDGER_RECORD_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;

export interface LedgerTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Refuse DeleteTable while the table is in use. @default true when the table is retained */
  readonly deletionProtection?: boolean;
  /** @default TableEncryption.AWS_MANAGED */
  readonly encryption?: dynamodb.TableEncryption;
}

export class LedgerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LedgerTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER_TTL_ATTRIBUTE,
      encryption: props.encryption ?? dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
  }

  /**
   * Get, put, update and condition-check single items, as one statement on this table only;
   * `batchRead` adds BatchGetItem, `deleteItem` adds DeleteItem.
   */
  grantRecordReadWrite(grantee: iam.IGrantable, options: { batchRead?: boolean; deleteItem?: boolean } = {}): iam.Grant {
    return this.table.grant(
      grantee,
      ...LEDGER_RECORD_ACTIONS,
      ...(options.batchRead ? ['dynamodb:BatchGetItem'] : []),
      ...(options.deleteItem ? ['dynamodb:DeleteItem'] : []),
    );
  }
}
