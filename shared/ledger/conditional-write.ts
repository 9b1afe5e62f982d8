/**
 * Conditional writes to the ledger tables, in one shape: a write whose condition holds returns
 * `{ ok: true }`; one whose condition fails returns `{ ok: false, current }` with the item as it
 * is now, so that the caller can decide (already done? someone else's? gone?) without catching
 * ConditionalCheckFailedException and reading the item back itself.
 *
 * The current item comes with the failed write (`ReturnValuesOnConditionCheckFailure:
 * 'ALL_OLD'`), so DynamoDB needs no second call. A server that ignores that parameter (the local
 * DynamoDB, dynalite, answers ConditionalCheckFailed without an `Item`) gets exactly one
 * consistent read of the item instead: the answer is then as fresh as a read can make it, which
 * is what every caller's decision rests on either way. DynamoDB also answers without an `Item`
 * when there is no item; so the read is made only until a client has once been answered with an
 * item, after which a failure without one means "no item" (remembered per client, so a process
 * talking to both kinds of server keeps them apart).
 *
 * Names and values: the helper sends only the `#name` and `:value` placeholders that the
 * expressions use. DynamoDB refuses a request that carries an unused one (ValidationException),
 * and building one condition for several writes made that mistake easy; a placeholder that an
 * expression uses but the maps lack is a bug in the caller and is reported as such before any
 * call is made.
 *
 * IAM: PutItem, UpdateItem, DeleteItem on the table, and GetItem for the fallback read.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The outcome of a conditional write. `ok: true` may carry the item after the write (update) and
 * the item it replaced or removed (put, delete; absent when there was none). `ok: false` carries
 * the item as it is now, undefined when there is none.
 */
export type ConditionalWriteResult<T> = { ok: true; item?: T; previous?: T } | { ok: false; current: T | undefined };

export type ExpressionNames = Record<string, string>;
export type ExpressionValues = Record<string, unknown>;

interface ExpressionParts {
  /** Placeholders `#x` -> attribute names; unused ones are dropped. */
  names?: ExpressionNames;
  /** Placeholders `:x` -> values; unused ones are dropped. */
  values?: ExpressionValues;
}

export interface ConditionalPutInput extends ExpressionParts {
  tableName: string;
  item: Record<string, unknown>;
  condition: string;
  /**
   * The table's key attributes, to read the current item when the server does not return it with
   * the failure. Default `['pk']`, the ledger tables' only key.
   */
  keyAttributes?: readonly string[];
}

export interface ConditionalUpdateInput extends ExpressionParts {
  tableName: string;
  key: Record<string, unknown>;
  update: string;
  /** Without a condition the update always applies (and still returns the new item). */
  condition?: string;
}

export interface ConditionalDeleteInput extends ExpressionParts {
  tableName: string;
  key: Record<string, unknown>;
  condition: string;
}

/** The ledger tables' key: a string partition key `pk`, no sort key. */
export const LEDGER_KEY_ATTRIBUTES: readonly string[] = ['pk'];

/** Clients whose server has returned the current item with a failed condition at least once. */
const returnsCurrentItem = new WeakSet<DynamoDBDocumentClient>();

export class ConditionalWriteError extends Error {
  override readonly name = 'ConditionalWriteError';
}

/**
 * Put an item if `condition` holds; on ConditionalCheckFailed returns the current item
 * (ReturnValuesOnConditionCheckFailure: 'ALL_OLD'), never a second read where DynamoDB returns it.
 * `ok` carries the item this put replaced as `previous` (ReturnValues ALL_OLD, no extra cost).
 */
export async function conditionalPut<T = Record<string, unknown>>(
  client: DynamoDBDocumentClient,
  input: ConditionalPutInput,
): Promise<ConditionalWriteResult<T>> {
  const keyAttributes = input.keyAttributes ?? LEDGER_KEY_ATTRIBUTES;
  const key = keyOf(input.item, keyAttributes, input.tableName);
  const expressions = expressionAttributes([input.condition], input, `put of ${describeKey(key)} in ${input.tableName}`);
  return run<T>(client, input.tableName, key, async () => {
    const result = await client.send(
      new PutCommand({
        TableName: input.tableName,
        Item: input.item,
        ConditionExpression: input.condition,
        ...expressions,
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return okResult<T>({ previous: result.Attributes });
  });
}

/**
 * Update with `update` expression if `condition` holds; ok carries the new item (ReturnValues
 * ALL_NEW); failure carries the current one.
 */
export async function conditionalUpdate<T = Record<string, unknown>>(
  client: DynamoDBDocumentClient,
  input: ConditionalUpdateInput,
): Promise<ConditionalWriteResult<T>> {
  const expressions = expressionAttributes(
    input.condition === undefined ? [input.update] : [input.update, input.condition],
    input,
    `update of ${describeKey(input.key)} in ${input.tableName}`,
  );
  return run<T>(client, input.tableName, input.key, async () => {
    const result = await client.send(
      new UpdateCommand({
        TableName: input.tableName,
        Key: input.key,
        UpdateExpression: input.update,
        ...(input.condition === undefined ? {} : { ConditionExpression: input.condition }),
        ...expressions,
        ReturnValues: 'ALL_NEW',
        ...(input.condition === undefined ? {} : { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }),
      }),
    );
    return okResult<T>({ item: result.Attributes });
  });
}

/** Delete if `condition` holds; `ok` carries the deleted item as `previous` (ReturnValues ALL_OLD). */
export async function conditionalDelete<T = Record<string, unknown>>(
  client: DynamoDBDocumentClient,
  input: ConditionalDeleteInput,
): Promise<ConditionalWriteResult<T>> {
  const expressions = expressionAttributes([input.condition], input, `delete of ${describeKey(input.key)} in ${input.tableName}`);
  return run<T>(client, input.tableName, input.key, async () => {
    const result = await client.send(
      new DeleteCommand({
        TableName: input.tableName,
        Key: input.key,
        ConditionExpression: input.condition,
        ...expressions,
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return okResult<T>({ previous: result.Attributes });
  });
}

/**
 * Placeholders for attribute names: `names(['state', 'owner'])` is
 * `{ '#state': 'state', '#owner': 'owner' }`. Only names that are valid placeholders as they are
 * (letters, digits, underscore); anything else needs a placeholder of its own.
 */
export function names(attributes: readonly string[]): ExpressionNames {
  return Object.fromEntries(attributes.map((attribute) => [`#${placeholderToken(attribute)}`, attribute]));
}

/** Placeholders for values: `values({ owner: 'w1' })` is `{ ':owner': 'w1' }`. */
export function values(byName: Record<string, unknown>): ExpressionValues {
  return Object.fromEntries(Object.entries(byName).map(([name, value]) => [`:${placeholderToken(name)}`, value]));
}

/** True for the error DynamoDB answers a write whose condition failed with. */
export function isConditionalCheckFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * The names and values the expressions use, each map left out when empty (DynamoDB refuses an
 * empty one as well). Throws when an expression uses a placeholder the maps do not have.
 */
export function expressionAttributes(
  expressions: readonly string[],
  parts: ExpressionParts,
  what: string,
): { ExpressionAttributeNames?: ExpressionNames; ExpressionAttributeValues?: ExpressionValues } {
  const text = expressions.join(' ');
  const usedNames = new Set(text.match(/#[A-Za-z0-9_]+/g) ?? []);
  const usedValues = new Set(text.match(/:[A-Za-z0-9_]+/g) ?? []);
  const missing = [
    ...[...usedNames].filter((n) => parts.names?.[n] === undefined),
    ...[...usedValues].filter((v) => !(parts.values !== undefined && v in parts.values)),
  ];
  if (missing.length > 0) {
    throw new ConditionalWriteError(
      `${what}: the expression uses ${missing.join(', ')} but no name or value was given for it (a bug in the caller: add it to names/values)`,
    );
  }
  const keptNames = Object.entries(parts.names ?? {}).filter(([n]) => usedNames.has(n));
  const keptValues = Object.entries(parts.values ?? {}).filter(([v]) => usedValues.has(v));
  return {
    ...(keptNames.length > 0 ? { ExpressionAttributeNames: Object.fromEntries(keptNames) } : {}),
    ...(keptValues.length > 0 ? { ExpressionAttributeValues: Object.fromEntries(keptValues) } : {}),
  };
}

async function run<T>(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Record<string, unknown>,
  write: () => Promise<ConditionalWriteResult<T>>,
): Promise<ConditionalWriteResult<T>> {
  try {
    return await write();
  } catch (err) {
    if (!isConditionalCheckFailed(err)) throw err;
    const returned = (err as { Item?: Record<string, AttributeValue> }).Item;
    if (returned !== undefined) {
      returnsCurrentItem.add(client);
      // The document client leaves the error's item in DynamoDB's wire format.
      return { ok: false, current: unmarshall(returned) as T };
    }
    if (returnsCurrentItem.has(client)) return { ok: false, current: undefined };
    // Either there is no item or the server does not return it: the read tells which.
    const current = await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
    return { ok: false, current: current.Item as T | undefined };
  }
}

function okResult<T>(parts: {
  item?: Record<string, unknown> | undefined;
  previous?: Record<string, unknown> | undefined;
}): ConditionalWriteResult<T> {
  return {
    ok: true,
    ...(parts.item !== undefined ? { item: parts.item as T } : {}),
    ...(parts.previous !== undefined ? { previous: parts.previous as T } : {}),
  };
}

function keyOf(item: Record<string, unknown>, keyAttributes: readonly string[], tableName: string): Record<string, unknown> {
  const missing = keyAttributes.filter((attribute) => item[attribute] === undefined);
  if (missing.length > 0) {
    throw new ConditionalWriteError(
      `put into ${tableName}: the item has no ${missing.join(', ')} (the table's key); give the key attributes with the item`,
    );
  }
  return Object.fromEntries(keyAttributes.map((attribute) => [attribute, item[attribute]]));
}

function describeKey(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([attribute, value]) => `${attribute}=${String(value)}`)
    .join(', ');
}

function placeholderToken(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new ConditionalWriteError(
      `"${name}" cannot be a placeholder as it is (only letters, digits and _); give it a placeholder of your own in names/values`,
    );
  }
  return name;
}
