/**
 * Several conditional writes to the export ledger table in one DynamoDB call
 * (TransactWriteItems): the run's bookkeeping writes one marker per version (enqueued,
 * settled) and adds to the run's counters, and doing those one call each was most of the
 * export's DynamoDB calls. In one transaction they also succeed or fail together, so a counter
 * is never added to without its markers.
 *
 * When a condition fails, DynamoDB cancels the whole transaction and says which item's
 * condition failed (`CancellationReasons`, in the order of the items), with the item as it is
 * for an item written with `returnCurrentOnFailure` (ALL_OLD), so that the caller can tell why
 * without reading it; the caller drops those or decides from them and tries again. The ingest
 * ledger uses the same writer for its claim, transfer, key order and commit records. A local
 * DynamoDB-compatible server without transactions (dynalite answers
 * UnknownOperationException) is remembered per writer, and the caller falls back to one call per
 * item, with the same conditions.
 *
 * IAM: a transaction needs the item actions it contains (PutItem, UpdateItem), nothing else.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { expressionAttributes, type ExpressionNames, type ExpressionValues } from '../ledger/conditional-write.js';

/** DynamoDB's limit on the items of one TransactWriteItems call. */
export const TRANSACTION_ITEM_LIMIT = 100;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;
export type TransactItem = TransactItems[number];

/**
 * A transaction item that puts `item` if `condition` holds. Names and values as the ledgers'
 * conditional writes take them: only those the condition uses are sent (DynamoDB refuses the
 * whole transaction for one unused placeholder).
 */
export function conditionalPutItem(input: {
  tableName: string;
  item: Record<string, unknown>;
  condition: string;
  names?: ExpressionNames;
  values?: ExpressionValues;
  /** When its condition fails, the cancellation carries the item as it is (ALL_OLD). */
  returnCurrentOnFailure?: boolean;
}): TransactItem {
  return {
    Put: {
      TableName: input.tableName,
      Item: input.item,
      ConditionExpression: input.condition,
      ...expressionAttributes([input.condition], input, `transaction put into ${input.tableName}`),
      ...(input.returnCurrentOnFailure ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
    },
  };
}

/** A transaction item that applies `update` to the item at `key` if `condition` holds; names and values as above. */
export function conditionalUpdateItem(input: {
  tableName: string;
  key: Record<string, unknown>;
  update: string;
  condition: string;
  names?: ExpressionNames;
  values?: ExpressionValues;
  /** When its condition fails, the cancellation carries the item as it is (ALL_OLD). */
  returnCurrentOnFailure?: boolean;
}): TransactItem {
  return {
    Update: {
      TableName: input.tableName,
      Key: input.key,
      UpdateExpression: input.update,
      ConditionExpression: input.condition,
      ...expressionAttributes([input.update, input.condition], input, `transaction update in ${input.tableName}`),
      ...(input.returnCurrentOnFailure ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
    },
  };
}

export type AllOrNothingResult =
  /** Every item was written. */
  | { kind: 'written' }
  /**
   * Nothing was written: the items at these indexes failed their condition. `currentItems`
   * (by item index) holds what DynamoDB returned for items written with `returnCurrentOnFailure`;
   * absent when it returned none (an item that does not exist, or a server that returns nothing).
   */
  | { kind: 'conditions-failed'; failedIndexes: number[]; currentItems?: (Record<string, unknown> | undefined)[] }
  /** The endpoint has no transactions (a local server): write item by item instead. */
  | { kind: 'unsupported' };

export class AllOrNothingWriter {
  private supported = true;

  constructor(private readonly doc: DynamoDBDocumentClient) {}

  /** False once the endpoint answered that it has no TransactWriteItems. */
  get transactionsSupported(): boolean {
    return this.supported;
  }

  async write(items: TransactItem[]): Promise<AllOrNothingResult> {
    if (!this.supported) return { kind: 'unsupported' };
    if (items.length > TRANSACTION_ITEM_LIMIT) {
      throw new Error(
        `a transaction takes at most ${TRANSACTION_ITEM_LIMIT} items; ${items.length} were given (a bug: the caller must split them)`,
      );
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
      return { kind: 'written' };
    } catch (err) {
      if (isUnsupportedOperation(err)) {
        this.supported = false;
        return { kind: 'unsupported' };
      }
      const reasons = cancellationReasonsOf(err);
      if (reasons === undefined) throw err;
      const failedIndexes = reasons.flatMap((reason, index) => (reason.code === 'ConditionalCheckFailed' ? [index] : []));
      // Cancelled for another reason (a conflicting transaction, throttling): the caller's error handling applies.
      if (failedIndexes.length === 0) throw err;
      const currentItems = reasons.map((reason) => reason.item);
      return {
        kind: 'conditions-failed',
        failedIndexes,
        ...(currentItems.some((item) => item !== undefined) ? { currentItems } : {}),
      };
    }
  }
}

function isUnsupportedOperation(err: unknown): boolean {
  return err instanceof Error && (err.name === 'UnknownOperationException' || err.name === 'UnknownOperation');
}

/**
 * The reasons of a TransactionCanceledException, one per item (its code, and the item as it is
 * when ALL_OLD was asked for), or undefined for any other error. The document client leaves
 * that item in DynamoDB's wire format.
 */
function cancellationReasonsOf(err: unknown): { code: string; item?: Record<string, unknown> | undefined }[] | undefined {
  if (!(err instanceof Error) || err.name !== 'TransactionCanceledException') return undefined;
  const reasons = (err as { CancellationReasons?: { Code?: string; Item?: Record<string, AttributeValue> }[] }).CancellationReasons;
  if (!Array.isArray(reasons)) return undefined;
  return reasons.map((r) => ({ code: r.Code ?? 'None', item: r.Item !== undefined ? unmarshall(r.Item) : undefined }));
}
