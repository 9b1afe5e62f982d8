/**
 * A fast in-memory DynamoDB for the small-file bench and the export calls bench: one HTTP server
 * on 127.0.0.1 that keeps the ledgers' tables (keyed by a string `pk`, like the local DynamoDB's)
 * in memory and answers what the ingest ledger, the export ledger and the export run store send
 * (shared/ledger/ingest-ledger.ts, shared/ledger/export-ledger.ts and shared/export/run-store.ts,
 * through conditional-write.ts and shared/export/all-or-nothing-writes.ts), in DynamoDB's JSON
 * protocol and with its semantics: GetItem; BatchGetItem with a ProjectionExpression; PutItem,
 * UpdateItem and DeleteItem with a condition, ReturnValues (NONE, ALL_OLD, and ALL_NEW for an
 * update) and ReturnValuesOnConditionCheckFailure (the item in the
 * ConditionalCheckFailedException); TransactWriteItems (Put, Update, Delete, ConditionCheck) all
 * or nothing, with one cancellation reason per item. Signatures are not checked.
 *
 * Why not the local DynamoDB (dynalite behind local/dynamodb-transactions.ts): it costs about
 * 5 ms of CPU per TransactWriteItems, and its process answers a batch's ten transactions one
 * after another (60-90 ms each in a batch of ten against 7 ms for one record), so a batch's
 * figure measured that queue instead of the ingest. DynamoDB answers them side by side; this
 * server answers each in well under a millisecond. The same reason as memory-s3.ts's. For the
 * export's unchanged night likewise: on dynalite a page's ledger reads and cursor save took
 * 10-25 ms each under load, where DynamoDB takes a few, and set the pace instead of the page calls.
 *
 * Each request is carried out synchronously once its body is read: nothing is awaited between
 * reading an item and writing it, so in this one process every request, a transaction included,
 * is isolated from every other for free. Items are kept as the wire's AttributeValue maps, parsed
 * afresh from each request and serialised into each answer at once, and a stored map is never
 * changed in place (a write stores a new one), so nothing a caller holds aliases the store.
 *
 * Expressions: a recursive-descent parser for the subset the ledgers write, cached by expression
 * text. Conditions: = <> < <= > >=, AND, OR, NOT, parentheses, attribute_exists and
 * attribute_not_exists. Updates: SET with `x = operand`, `operand + operand`, `operand - operand`
 * and `if_not_exists(path, operand)`; REMOVE; ADD of a number or of set members; DELETE of set
 * members. Projections: top-level attributes. Attribute names only as `#name` placeholders (the
 * ledgers write no other, and a bare name could be a reserved word DynamoDB refuses), top-level
 * attributes only. As DynamoDB does, a placeholder used but not given, or given but not used, is a
 * ValidationException. Numbers are compared and added as JS numbers (exact for the ledgers' epoch
 * milliseconds and counters), strings and binaries by their bytes. BatchGetItem answers every key
 * (it never leaves keys unprocessed, as a throttled table would).
 *
 * Anything else is refused by name: another operation, request parameter or ReturnValues
 * answers 501 NotImplemented, other expression syntax a ValidationException, so that a bench
 * that starts making another call fails with a clear message instead of measuring a wrong answer.
 * Not here: Query and the ledger's object index (only the CLI's status queries it, never the
 * ingest or the export), capacity, item size limits and idempotency tokens.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startCountingServer, type CountingServer } from './aws-call-counter.js';

/** One attribute value as on the wire: `{ S: 'x' }`, `{ N: '1' }`, `{ M: {...} }`, ... */
type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

export interface MemoryDynamoDbOptions {
  /** Tables to create, each keyed by a string partition key `pk` (the ledgers' key). */
  tables: readonly string[];
}

/** The in-memory DynamoDB; counts name operations (`GetItem`, `TransactWriteItems`, ...). */
export type MemoryDynamoDb = CountingServer;

const TARGET_PREFIX = 'DynamoDB_20120810.';
const KEY = 'pk';
/** DynamoDB's limit on the items of one TransactWriteItems call. */
const MAX_TRANSACTION_ITEMS = 100;
/** DynamoDB's limit on the keys of one BatchGetItem call. */
const MAX_BATCH_GET_KEYS = 100;

class DynamoDbError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get body(): Record<string, unknown> {
    return { __type: this.type, message: this.message, ...this.extra };
  }
}

const validation = (message: string) => new DynamoDbError(400, 'com.amazon.coral.validate#ValidationException', message);
const notImplemented = (message: string) =>
  new DynamoDbError(501, 'com.amazonaws.dynamodb.v20120810#NotImplemented', `the bench's in-memory DynamoDB ${message}`);
const CONDITION_FAILED = 'The conditional request failed';

// ---------------------------------------------------------------- expressions

type Comparator = '=' | '<>' | '<' | '<=' | '>' | '>=';
/** `#name` (an attribute) or `:value`, as written; resolved per request. */
type Operand = { path: string } | { value: string };
type Condition =
  | { op: 'AND' | 'OR'; left: Condition; right: Condition }
  | { op: 'NOT'; operand: Condition }
  | { op: 'attribute_exists' | 'attribute_not_exists'; path: string }
  | { op: Comparator; left: Operand; right: Operand };
type SetOperand = Operand | { ifNotExists: string; otherwise: Operand };
type SetValue = SetOperand | { arithmetic: '+' | '-'; left: SetOperand; right: SetOperand };
interface Update {
  set: { path: string; value: SetValue }[];
  remove: string[];
  /** `ADD #n :v`: a number added, or a set's members added (the attribute created when missing). */
  add: { path: string; value: string }[];
  /** `DELETE #s :v`: a set's members taken out (the attribute removed once empty). */
  delete: { path: string; value: string }[];
}
/** A parsed expression with the placeholders it uses. */
interface Parsed<T> {
  tree: T;
  names: Set<string>;
  values: Set<string>;
}

const COMPARATORS = new Set<string>(['=', '<>', '<', '<=', '>', '>=']);

class Parser {
  private readonly tokens: string[];
  private at = 0;
  readonly names = new Set<string>();
  readonly values = new Set<string>();

  constructor(
    private readonly which: string,
    private readonly text: string,
  ) {
    this.tokens = text.match(/#\w+|:\w+|[A-Za-z_]\w*|<>|<=|>=|\S/g) ?? [];
  }

  condition(): Condition {
    const tree = this.or();
    this.end();
    return tree;
  }

  update(): Update {
    const update: Update = { set: [], remove: [], add: [], delete: [] };
    const seen = new Set<string>();
    do {
      const clause = this.next().toUpperCase();
      if (!['SET', 'REMOVE', 'ADD', 'DELETE'].includes(clause) || seen.has(clause)) {
        this.fail(`unexpected "${clause}" where a SET, REMOVE, ADD or DELETE clause was expected (each once)`);
      }
      seen.add(clause);
      do {
        const path = this.path();
        if (clause === 'REMOVE') update.remove.push(path);
        else if (clause === 'ADD' || clause === 'DELETE') {
          const operand = this.operand();
          if (!('value' in operand)) this.fail(`a ${clause} clause takes a :value, not an attribute`);
          update[clause === 'ADD' ? 'add' : 'delete'].push({ path, value: operand.value });
        } else {
          this.expect('=');
          update.set.push({ path, value: this.setValue() });
        }
      } while (this.take(','));
    } while (this.at < this.tokens.length);
    return update;
  }

  /** A ProjectionExpression: top-level attributes, comma-separated. */
  projection(): string[] {
    const paths = [this.path()];
    while (this.take(',')) paths.push(this.path());
    this.end();
    return paths;
  }

  private or(): Condition {
    let left = this.and();
    while (this.takeKeyword('OR')) left = { op: 'OR', left, right: this.and() };
    return left;
  }

  private and(): Condition {
    let left = this.not();
    while (this.takeKeyword('AND')) left = { op: 'AND', left, right: this.not() };
    return left;
  }

  private not(): Condition {
    if (this.takeKeyword('NOT')) return { op: 'NOT', operand: this.not() };
    if (this.take('(')) {
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    const word = this.tokens[this.at];
    if ((word === 'attribute_exists' || word === 'attribute_not_exists') && this.tokens[this.at + 1] === '(') {
      this.at += 2;
      const path = this.path();
      this.expect(')');
      return { op: word, path };
    }
    const left = this.operand();
    const op = this.next();
    if (!COMPARATORS.has(op)) this.fail(`unexpected "${op}" where a comparator (= <> < <= > >=) was expected`);
    return { op: op as Comparator, left, right: this.operand() };
  }

  private setValue(): SetValue {
    const left = this.setOperand();
    const arithmetic = this.tokens[this.at];
    if (arithmetic !== '+' && arithmetic !== '-') return left;
    this.at += 1;
    return { arithmetic, left, right: this.setOperand() };
  }

  private setOperand(): SetOperand {
    if (this.tokens[this.at] !== 'if_not_exists' || this.tokens[this.at + 1] !== '(') return this.operand();
    this.at += 2;
    const ifNotExists = this.path();
    this.expect(',');
    const otherwise = this.operand();
    this.expect(')');
    return { ifNotExists, otherwise };
  }

  private operand(): Operand {
    const token = this.tokens[this.at];
    if (token?.startsWith(':')) {
      this.at += 1;
      this.values.add(token);
      return { value: token };
    }
    return { path: this.path() };
  }

  /** A top-level attribute, named by a `#placeholder`. */
  private path(): string {
    const token = this.next();
    if (!token.startsWith('#')) this.fail(`unexpected "${token}" where a #name placeholder was expected`);
    if (this.tokens[this.at] === '.' || this.tokens[this.at] === '[') this.fail('a nested path where a top-level attribute was expected');
    this.names.add(token);
    return token;
  }

  private next(): string {
    const token = this.tokens[this.at++];
    if (token === undefined) this.fail('unexpected end of the expression');
    return token;
  }

  private take(token: string): boolean {
    if (this.tokens[this.at] !== token) return false;
    this.at += 1;
    return true;
  }

  private takeKeyword(word: string): boolean {
    if (this.tokens[this.at]?.toUpperCase() !== word) return false;
    this.at += 1;
    return true;
  }

  private expect(token: string): void {
    const found = this.next();
    if (found !== token) this.fail(`"${found}" where "${token}" was expected`);
  }

  private end(): void {
    if (this.at < this.tokens.length) this.fail(`unexpected "${this.tokens[this.at]}" after a complete expression`);
  }

  private fail(problem: string): never {
    throw validation(
      `Invalid ${this.which}: ${problem} in "${this.text}" ` +
        "(the bench's in-memory DynamoDB parses the ledgers' subset of DynamoDB's expressions)",
    );
  }
}

const parsedConditions = new Map<string, Parsed<Condition>>();
const parsedUpdates = new Map<string, Parsed<Update>>();

/** Parses `text` once per distinct expression (the ledger reuses a few strings) and keeps the result. */
function parsedOnce<T>(cache: Map<string, Parsed<T>>, kind: string, text: string, parse: (parser: Parser) => T): Parsed<T> {
  let parsed = cache.get(text);
  if (parsed === undefined) {
    const parser = new Parser(kind, text);
    parsed = { tree: parse(parser), names: parser.names, values: parser.values };
    cache.set(text, parsed);
  }
  return parsed;
}

function parseCondition(text: string): Parsed<Condition> {
  return parsedOnce(parsedConditions, 'ConditionExpression', text, (parser) => parser.condition());
}

function parseUpdate(text: string): Parsed<Update> {
  return parsedOnce(parsedUpdates, 'UpdateExpression', text, (parser) => parser.update());
}

const parsedProjections = new Map<string, Parsed<string[]>>();

function parseProjection(text: string): Parsed<string[]> {
  return parsedOnce(parsedProjections, 'ProjectionExpression', text, (parser) => parser.projection());
}

/** One request's placeholders: every one used must be given, and every one given used (DynamoDB refuses either). */
class Placeholders {
  constructor(
    private readonly names: Record<string, string>,
    private readonly values: Record<string, AttributeValue>,
  ) {}

  static check(input: Record<string, unknown>, expressions: [string, Parsed<unknown> | undefined][]): Placeholders {
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
    for (const [field, map] of [
      ['ExpressionAttributeNames', input.ExpressionAttributeNames],
      ['ExpressionAttributeValues', input.ExpressionAttributeValues],
    ] as const) {
      if (map !== undefined && Object.keys(map as object).length === 0) throw validation(`${field} must not be empty`);
    }
    const usedNames = new Set<string>();
    const usedValues = new Set<string>();
    for (const [which, parsed] of expressions) {
      if (parsed === undefined) continue;
      for (const name of parsed.names) {
        if (names[name] === undefined) {
          throw validation(
            `Invalid ${which}: An expression attribute name used in the document path is not defined; attribute name: ${name}`,
          );
        }
        usedNames.add(name);
      }
      for (const value of parsed.values) {
        if (values[value] === undefined) {
          throw validation(`Invalid ${which}: An expression attribute value used in expression is not defined; attribute value: ${value}`);
        }
        usedValues.add(value);
      }
    }
    const unusedNames = Object.keys(names).filter((n) => !usedNames.has(n));
    if (unusedNames.length > 0)
      throw validation(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${unusedNames.join(', ')}}`);
    const unusedValues = Object.keys(values).filter((v) => !usedValues.has(v));
    if (unusedValues.length > 0) {
      throw validation(`Value provided in ExpressionAttributeValues unused in expressions: keys: {${unusedValues.join(', ')}}`);
    }
    return new Placeholders(names, values);
  }

  name(placeholder: string): string {
    return this.names[placeholder] as string;
  }

  operand(operand: Operand, item: Item): AttributeValue | undefined {
    return 'value' in operand ? this.values[operand.value] : item[this.name(operand.path)];
  }

  value(placeholder: string): AttributeValue {
    return this.values[placeholder] as AttributeValue;
  }
}

/** An attribute value's type (`S`, `N`, `M`, ...) and content. */
function typed(value: AttributeValue): [string, unknown] {
  const [type, content] = Object.entries(value)[0] ?? ['', undefined];
  return [type, content];
}

function equal(a: AttributeValue, b: AttributeValue): boolean {
  const [type, x] = typed(a);
  const [otherType, y] = typed(b);
  if (type !== otherType) return false;
  switch (type) {
    case 'N':
      return Number(x) === Number(y);
    case 'M': {
      const [m, n] = [x as Item, y as Item];
      const keys = Object.keys(m);
      return keys.length === Object.keys(n).length && keys.every((k) => n[k] !== undefined && equal(m[k] as AttributeValue, n[k]));
    }
    case 'L': {
      const [l, r] = [x as AttributeValue[], y as AttributeValue[]];
      return l.length === r.length && l.every((v, i) => equal(v, r[i] as AttributeValue));
    }
    case 'SS':
    case 'NS':
    case 'BS': {
      const [l, r] = [x as string[], y as string[]];
      const set = new Set(r.map((m) => setMember(type, m)));
      return l.length === r.length && l.every((m) => set.has(setMember(type, m)));
    }
    default:
      return x === y;
  }
}

/** a < b: -1, equal: 0, a > b: 1; undefined when DynamoDB does not order them (types differ, or not N, S or B). */
function order(a: AttributeValue, b: AttributeValue): number | undefined {
  const [type, x] = typed(a);
  const [otherType, y] = typed(b);
  if (type !== otherType) return undefined;
  if (type === 'N') return Math.sign(Number(x) - Number(y));
  if (type === 'S') return Buffer.compare(Buffer.from(x as string), Buffer.from(y as string));
  if (type === 'B') return Buffer.compare(Buffer.from(x as string, 'base64'), Buffer.from(y as string, 'base64'));
  return undefined;
}

function holds(condition: Condition, item: Item, p: Placeholders): boolean {
  switch (condition.op) {
    case 'AND':
      return holds(condition.left, item, p) && holds(condition.right, item, p);
    case 'OR':
      return holds(condition.left, item, p) || holds(condition.right, item, p);
    case 'NOT':
      return !holds(condition.operand, item, p);
    case 'attribute_exists':
      return item[p.name(condition.path)] !== undefined;
    case 'attribute_not_exists':
      return item[p.name(condition.path)] === undefined;
    default: {
      const left = p.operand(condition.left, item);
      const right = p.operand(condition.right, item);
      // A missing attribute equals nothing, so `<>` holds for it and every other comparison fails.
      if (left === undefined || right === undefined) return condition.op === '<>';
      if (condition.op === '=') return equal(left, right);
      if (condition.op === '<>') return !equal(left, right);
      const sign = order(left, right);
      if (sign === undefined) return false;
      return { '<': sign < 0, '<=': sign <= 0, '>': sign > 0, '>=': sign >= 0 }[condition.op];
    }
  }
}

/** The item after `update`; every operand is read from the item as it was, as DynamoDB reads them. */
function updated(old: Item, update: Update, p: Placeholders): Item {
  const paths = [
    ...update.set.map((s) => s.path),
    ...update.remove,
    ...update.add.map((a) => a.path),
    ...update.delete.map((d) => d.path),
  ].map((placeholder) => p.name(placeholder));
  const overlapping = paths.find((path, i) => paths.indexOf(path) !== i);
  if (overlapping !== undefined) {
    throw validation(
      `Invalid UpdateExpression: Two document paths overlap with each other; path one: [${overlapping}], path two: [${overlapping}]`,
    );
  }
  if (paths.includes(KEY))
    throw validation(`One or more parameter values were invalid: Cannot update attribute ${KEY}. This attribute is part of the key`);
  const operand = (o: SetOperand): AttributeValue => {
    const value = 'ifNotExists' in o ? (old[p.name(o.ifNotExists)] ?? p.operand(o.otherwise, old)) : p.operand(o, old);
    if (value === undefined) throw validation('The provided expression refers to an attribute that does not exist in the item');
    return value;
  };
  const item = { ...old };
  for (const { path, value } of update.set) {
    if (!('arithmetic' in value)) {
      item[p.name(path)] = operand(value);
      continue;
    }
    const [[leftType, left], [rightType, right]] = [typed(operand(value.left)), typed(operand(value.right))];
    if (leftType !== 'N' || rightType !== 'N') throw validation('An operand in the update expression has an incorrect data type');
    item[p.name(path)] = { N: String(value.arithmetic === '+' ? Number(left) + Number(right) : Number(left) - Number(right)) };
  }
  for (const path of update.remove) delete item[p.name(path)];
  for (const { path, value } of update.add) {
    const [type, content] = typed(p.value(value));
    const current = old[p.name(path)];
    if (type !== 'N' && !SET_TYPES.has(type)) throw validation('An operand in the update expression has an incorrect data type');
    if (current === undefined) {
      item[p.name(path)] = p.value(value);
      continue;
    }
    const [currentType, currentContent] = typed(current);
    if (currentType !== type) throw validation('An operand in the update expression has an incorrect data type');
    item[p.name(path)] =
      type === 'N'
        ? { N: String(Number(currentContent) + Number(content)) }
        : { [type]: union(type, currentContent as string[], content as string[]) };
  }
  for (const { path, value } of update.delete) {
    const [type, content] = typed(p.value(value));
    if (!SET_TYPES.has(type)) throw validation('An operand in the update expression has an incorrect data type');
    const current = old[p.name(path)];
    if (current === undefined) continue;
    const [currentType, currentContent] = typed(current);
    if (currentType !== type) throw validation('An operand in the update expression has an incorrect data type');
    const gone = new Set((content as string[]).map((m) => setMember(type, m)));
    const left = (currentContent as string[]).filter((m) => !gone.has(setMember(type, m)));
    if (left.length === 0) delete item[p.name(path)];
    else item[p.name(path)] = { [type]: left };
  }
  return item;
}

const SET_TYPES = new Set(['SS', 'NS', 'BS']);

/** A set member as DynamoDB tells members apart: a number by its value, a string or binary by its text. */
function setMember(type: string, member: string): unknown {
  return type === 'NS' ? Number(member) : member;
}

function union(type: string, members: string[], more: string[]): string[] {
  const seen = new Set(members.map((m) => setMember(type, m)));
  const all = [...members];
  for (const member of more) {
    if (seen.has(setMember(type, member))) continue;
    seen.add(setMember(type, member));
    all.push(member);
  }
  return all;
}

// ---------------------------------------------------------------- writes

type WriteKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
const WRITE_KINDS: readonly WriteKind[] = ['Put', 'Update', 'Delete', 'ConditionCheck'];

/** One checked write: the item it is on, its condition, and what it makes of the item. */
interface Write {
  table: Map<string, Item>;
  pk: string;
  /** The table and the key, as one string: two writes on one item have the same. */
  identity: string;
  condition: ((item: Item | undefined) => boolean) | undefined;
  returnOnFailure: boolean;
  /** The item after the write (undefined: none). May throw a ValidationException (an operand of the wrong type). */
  after(old: Item | undefined): Item | undefined;
}

/** The request parameters each write takes, besides the condition's; anything else is refused by name. */
const WRITE_PARAMETERS: Record<WriteKind, readonly string[]> = {
  Put: ['Item'],
  Update: ['Key', 'UpdateExpression'],
  Delete: ['Key'],
  ConditionCheck: ['Key'],
};
const CONDITION_PARAMETERS = ['TableName', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'];

function refuseOthers(input: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const other = Object.keys(input).find((name) => !allowed.includes(name));
  if (other !== undefined) throw notImplemented(`does not support ${other} in ${where}`);
}

function oneOf(value: unknown, allowed: readonly string[], parameter: string, where: string): string {
  const chosen = value ?? 'NONE';
  if (typeof chosen === 'string' && allowed.includes(chosen)) return chosen;
  if (chosen === 'UPDATED_OLD' || chosen === 'UPDATED_NEW') throw notImplemented(`does not support ${parameter} ${chosen} in ${where}`);
  throw validation(
    `1 validation error detected: Value '${String(chosen)}' at '${parameter}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
  );
}

// ---------------------------------------------------------------- server

export async function startMemoryDynamoDb(options: MemoryDynamoDbOptions): Promise<MemoryDynamoDb> {
  const tables = new Map(options.tables.map((name) => [name, new Map<string, Item>()]));

  const tableOf = (name: unknown): Map<string, Item> => {
    const table = typeof name === 'string' ? tables.get(name) : undefined;
    if (table === undefined) {
      throw new DynamoDbError(
        400,
        'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
        `Requested resource not found: Table: ${String(name)} not found`,
      );
    }
    return table;
  };

  /** The item's `pk` from a Key (exactly the key) or an Item (holding it). */
  const pkOf = (map: unknown, isItem: boolean): string => {
    const attributes = (map ?? {}) as Item;
    const key = attributes[KEY];
    const pk = key !== undefined && typed(key)[0] === 'S' ? (key.S as string) : undefined;
    if (isItem && pk === undefined) throw validation(`One or more parameter values were invalid: Missing the key ${KEY} in the item`);
    if (pk === undefined || (!isItem && Object.keys(attributes).length !== 1))
      throw validation('The provided key element does not match the schema');
    if (pk === '') {
      throw validation(
        `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: ${KEY}`,
      );
    }
    return pk;
  };

  const prepare = (kind: WriteKind, input: Record<string, unknown>, where: string, extra: readonly string[]): Write => {
    refuseOthers(input, [...CONDITION_PARAMETERS, ...WRITE_PARAMETERS[kind], ...extra], where);
    const table = tableOf(input.TableName);
    const pk = pkOf(kind === 'Put' ? input.Item : input.Key, kind === 'Put');
    if (kind === 'ConditionCheck' && typeof input.ConditionExpression !== 'string')
      throw validation(`${where} needs a ConditionExpression`);
    const condition = typeof input.ConditionExpression === 'string' ? parseCondition(input.ConditionExpression) : undefined;
    const update = kind === 'Update' && typeof input.UpdateExpression === 'string' ? parseUpdate(input.UpdateExpression) : undefined;
    const p = Placeholders.check(input, [
      ['ConditionExpression', condition],
      ['UpdateExpression', update],
    ]);
    const returnOnFailure =
      oneOf(input.ReturnValuesOnConditionCheckFailure, ['NONE', 'ALL_OLD'], 'ReturnValuesOnConditionCheckFailure', where) === 'ALL_OLD';
    const key = { [KEY]: { S: pk } };
    return {
      table,
      pk,
      identity: `${input.TableName as string}\u0000${pk}`,
      condition: condition && ((item) => holds(condition.tree, item ?? {}, p)),
      returnOnFailure,
      after: (old) => {
        switch (kind) {
          case 'Put':
            return input.Item as Item;
          case 'Update':
            return update === undefined ? (old ?? key) : updated(old ?? key, update.tree, p);
          case 'Delete':
            return undefined;
          case 'ConditionCheck':
            return old;
        }
      },
    };
  };

  /** The write applied to the store; throws ConditionalCheckFailedException when its condition fails. */
  const writeOne = (write: Write): { old: Item | undefined; item: Item | undefined } => {
    const old = write.table.get(write.pk);
    if (write.condition !== undefined && !write.condition(old)) {
      const extra = write.returnOnFailure && old !== undefined ? { Item: old } : {};
      throw new DynamoDbError(400, 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', CONDITION_FAILED, extra);
    }
    const item = write.after(old);
    if (item === undefined) write.table.delete(write.pk);
    else write.table.set(write.pk, item);
    return { old, item };
  };

  const transact = (input: Record<string, unknown>): Record<string, unknown> => {
    refuseOthers(input, ['TransactItems', 'ClientRequestToken'], 'TransactWriteItems');
    const entries = input.TransactItems;
    if (!Array.isArray(entries) || entries.length === 0) throw validation('TransactItems must hold at least 1 item');
    if (entries.length > MAX_TRANSACTION_ITEMS) {
      throw validation(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_TRANSACTION_ITEMS}`,
      );
    }
    const writes = entries.map((entry: unknown, index) => {
      const actions = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : {};
      const kind = WRITE_KINDS.find((k) => actions[k] !== undefined);
      if (kind === undefined || Object.keys(actions).length !== 1) {
        throw validation(`TransactItems[${index}] must have exactly one of ${WRITE_KINDS.join(', ')}`);
      }
      return prepare(kind, actions[kind] as Record<string, unknown>, `TransactItems[${index}].${kind}`, [
        'ReturnValuesOnConditionCheckFailure',
      ]);
    });
    if (new Set(writes.map((w) => w.identity)).size !== writes.length)
      throw validation('Transaction request cannot include multiple operations on one item');
    // Every item against the store as it is; written only if every one may be.
    const reasons: Record<string, unknown>[] = [];
    const results = writes.map((write) => {
      const old = write.table.get(write.pk);
      if (write.condition !== undefined && !write.condition(old)) {
        reasons.push({
          Code: 'ConditionalCheckFailed',
          Message: CONDITION_FAILED,
          ...(write.returnOnFailure && old !== undefined ? { Item: old } : {}),
        });
        return undefined;
      }
      try {
        const item = write.after(old);
        reasons.push({ Code: 'None' });
        return item;
      } catch (err) {
        if (!(err instanceof DynamoDbError)) throw err;
        reasons.push({ Code: 'ValidationError', Message: err.message });
        return undefined;
      }
    });
    if (reasons.some((r) => r.Code !== 'None')) {
      throw new DynamoDbError(
        400,
        'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        { CancellationReasons: reasons },
      );
    }
    writes.forEach((write, i) => {
      const item = results[i];
      if (item === undefined) write.table.delete(write.pk);
      else write.table.set(write.pk, item);
    });
    return {};
  };

  /** BatchGetItem: every key answered (nothing is ever left unprocessed here), projected when asked. */
  const batchGet = (input: Record<string, unknown>): Record<string, unknown> => {
    refuseOthers(input, ['RequestItems'], 'BatchGetItem');
    const requests = Object.entries((input.RequestItems ?? {}) as Record<string, Record<string, unknown>>);
    const keyCount = requests.reduce((n, [, r]) => n + (Array.isArray(r.Keys) ? r.Keys.length : 0), 0);
    if (requests.length === 0 || keyCount === 0) throw validation('RequestItems must name at least one table and key');
    if (keyCount > MAX_BATCH_GET_KEYS) {
      throw validation(
        `1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_BATCH_GET_KEYS}`,
      );
    }
    const responses: Record<string, Item[]> = {};
    for (const [tableName, request] of requests) {
      refuseOthers(request, ['Keys', 'ProjectionExpression', 'ExpressionAttributeNames', 'ConsistentRead'], `BatchGetItem ${tableName}`);
      const table = tableOf(tableName);
      const projection = typeof request.ProjectionExpression === 'string' ? parseProjection(request.ProjectionExpression) : undefined;
      const p = Placeholders.check(request, [['ProjectionExpression', projection]]);
      const pks = (request.Keys as unknown[]).map((key) => pkOf(key, false));
      if (new Set(pks).size !== pks.length) throw validation('Provided list of item keys contains duplicates');
      responses[tableName] = pks.flatMap((pk) => {
        const item = table.get(pk);
        if (item === undefined) return [];
        if (projection === undefined) return [item];
        const names = projection.tree.map((path) => p.name(path));
        return [Object.fromEntries(names.flatMap((name) => (item[name] === undefined ? [] : [[name, item[name]]])))];
      });
    }
    return { Responses: responses, UnprocessedKeys: {} };
  };

  /** One request's answer (its body), carried out synchronously; a refusal is thrown as a DynamoDbError. */
  const answer = (operation: string, input: Record<string, unknown>): Record<string, unknown> => {
    switch (operation) {
      case 'GetItem': {
        refuseOthers(input, ['TableName', 'Key', 'ConsistentRead'], operation);
        const item = tableOf(input.TableName).get(pkOf(input.Key, false));
        return item === undefined ? {} : { Item: item };
      }
      case 'PutItem':
      case 'DeleteItem': {
        const kind = operation === 'PutItem' ? 'Put' : 'Delete';
        const write = prepare(kind, input, operation, ['ReturnValues', 'ReturnValuesOnConditionCheckFailure']);
        const returnValues = oneOf(input.ReturnValues, ['NONE', 'ALL_OLD'], 'ReturnValues', operation);
        const { old } = writeOne(write);
        return returnValues === 'ALL_OLD' && old !== undefined ? { Attributes: old } : {};
      }
      case 'UpdateItem': {
        const write = prepare('Update', input, operation, ['ReturnValues', 'ReturnValuesOnConditionCheckFailure']);
        const returnValues = oneOf(input.ReturnValues, ['NONE', 'ALL_OLD', 'ALL_NEW'], 'ReturnValues', operation);
        const { old, item } = writeOne(write);
        const attributes = returnValues === 'ALL_NEW' ? item : returnValues === 'ALL_OLD' ? old : undefined;
        return attributes === undefined ? {} : { Attributes: attributes };
      }
      case 'TransactWriteItems':
        return transact(input);
      case 'BatchGetItem':
        return batchGet(input);
      default:
        throw notImplemented(`does not answer ${operation}`);
    }
  };

  const handle = (req: IncomingMessage, body: string): { status: number; body: Record<string, unknown> } => {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target.startsWith(TARGET_PREFIX))
        throw notImplemented(`answers DynamoDB_20120810 JSON calls only, not ${req.method} ${req.url}`);
      let input: unknown;
      try {
        input = JSON.parse(body);
      } catch {
        throw new DynamoDbError(400, 'com.amazon.coral.service#SerializationException', 'the request body is not JSON');
      }
      if (typeof input !== 'object' || input === null)
        throw new DynamoDbError(400, 'com.amazon.coral.service#SerializationException', 'the request body is not an object');
      return { status: 200, body: answer(target.slice(TARGET_PREFIX.length), input as Record<string, unknown>) };
    } catch (err) {
      if (err instanceof DynamoDbError) return { status: err.status, body: err.body };
      return {
        status: 500,
        body: {
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: `the bench's in-memory DynamoDB failed: ${(err as Error).message}`,
        },
      };
    }
  };

  const reply = (res: ServerResponse, status: number, body: Record<string, unknown>): void => {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };

  return startCountingServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { status, body } = handle(req, Buffer.concat(chunks).toString('utf8'));
      reply(res, status, body);
    });
    req.on('error', () => res.destroy());
  });
}
