/**
 * A ledger table: one item per tracked thing, keyed by the string `pk`, with an optional
 * `expiresAt` (epoch seconds) that DynamoDB's TTL removes. On demand (the load follows the
 * queues), point-in-time recovery on, encrypted with the AWS-managed key.
 *
 * The ledgers are read and written one item at a time, with conditions, so no grant here includes
 * Scan or Query. The ingest ledger also has an index by object key (`objectIndex`), which only
 * an operator's `status` command queries. DeleteItem and BatchGetItem are opt-in: the ingest
 * ledger needs neither, the export ledger (shared with the export runs' state) releases claims
 * and checks many versions at once.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEDGER_OBJECT_INDEX } from '../../shared/ledger/object-index.js';

export const LEDGER_PARTITION_KEY = 'pk';
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** Item-level actions a ledger user needs: read one entry, claim/commit it with conditional writes. */
export const LEDGER_RECORD_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

export interface LedgerTableProps {
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Refuse DeleteTable while the table is in use. @default true when the table is retained */
  readonly deletionProtection?: boolean;
  /** @default TableEncryption.AWS_MANAGED */
  readonly encryption?: dynamodb.TableEncryption;
  /** Add the index by object key (shared/ledger/object-index.ts). @default false */
  readonly objectIndex?: boolean;
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
    if (props.objectIndex) {
      this.table.addGlobalSecondaryIndex({
        indexName: LEDGER_OBJECT_INDEX.name,
        partitionKey: { name: LEDGER_OBJECT_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: LEDGER_OBJECT_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...LEDGER_OBJECT_INDEX.projectedAttributes],
      });
    }
  }

  /**
   * Get, put, update and condition-check single items, as one statement on this table only;
   * `batchRead` adds BatchGetItem, `deleteItem` adds DeleteItem.
   */
  grantRecordReadWrite(grantee: iam.IGrantable, options: { batchRead?: boolean; deleteItem?: boolean } = {}): iam.Grant {
    // On the table only: `table.grant` would add `<table>/index/*` once the table has an index,
    // and the functions never read an index (only an operator's `status` does).
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        ...LEDGER_RECORD_ACTIONS,
        ...(options.batchRead ? ['dynamodb:BatchGetItem'] : []),
        ...(options.deleteItem ? ['dynamodb:DeleteItem'] : []),
      ],
      resourceArns: [this.table.tableArn],
    });
  }
}
