/**
 * TransactWriteItems for the local DynamoDB server. dynalite has no transactions, so without
 * this the ledgers take their fallback of one conditional write per item locally, and the local
 * stack, the tests and the benches would exercise (and count) a path AWS never takes. This
 * front sits on 127.0.0.1 before dynalite: every request is forwarded unchanged, except
 * TransactWriteItems, which it carries out with DynamoDB's semantics as the ledgers rely on them:
 *
 * - all or nothing: each item's write is applied with its own condition; if any condition
 *   fails, every applied write is undone from the items as they were before, and the answer is
 *   TransactionCanceledException with one reason per item, in order (`None`,
 *   `ConditionalCheckFailed` with the item as it was when the item asks for ALL_OLD);
 * - isolated, item by item: a transaction holds each of its items alone while it runs (taken in
 *   one order, so two transactions never wait for each other in a circle); a request on one item
 *   (GetItem, PutItem, UpdateItem, DeleteItem) waits while a transaction holds that item, and
 *   every other request (Query, Scan, the batch and table calls, whose items are not named)
 *   waits until no transaction is in flight, so nobody sees a transaction half applied.
 *   Transactions on different items run side by side, as on DynamoDB: a batch of records whose
 *   ledger writes are transactions is not made to take turns by the local server;
 * - DynamoDB's validation: at most 100 items, each with exactly one action, no two on one item.
 *
 * It is a local stand-in, not DynamoDB: idempotency tokens and consumed capacity are ignored,
 * and a validation error in the middle of a transaction is answered as dynalite words it.
 * Requests are forwarded with their own signature headers (dynalite checks their form only).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

const TARGET_PREFIX = 'DynamoDB_20120810.';
/** DynamoDB's limit on the items of one TransactWriteItems call. */
const MAX_ITEMS = 100;

type AttributeMap = Record<string, unknown>;

interface WriteAction {
  TableName: string;
  Key?: AttributeMap;
  Item?: AttributeMap;
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: AttributeMap;
  ReturnValuesOnConditionCheckFailure?: 'ALL_OLD' | 'NONE';
}

type ActionKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
const ACTION_KINDS: readonly ActionKind[] = ['Put', 'Update', 'Delete', 'ConditionCheck'];

interface PlannedItem {
  kind: ActionKind;
  action: WriteAction;
  /** The item's primary key, as DynamoDB attribute values. */
  key: AttributeMap;
}

/** What dynalite answered to one forwarded call. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface DynamoDbTransactionsFront {
  /** `http://127.0.0.1:<port>`: the endpoint clients use instead of dynalite's. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** A shared/exclusive lock, first come first served: a waiting exclusive holder keeps later ones out, so it cannot starve. */
class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private readonly queue: { exclusive: boolean; enter: () => void }[] = [];

  get idle(): boolean {
    return this.shared === 0 && !this.exclusive && this.queue.length === 0;
  }

  acquire(exclusive: boolean): Promise<() => void> {
    return new Promise((resolve) => {
      const release = () => {
        if (exclusive) this.exclusive = false;
        else this.shared -= 1;
        this.drain();
      };
      this.queue.push({ exclusive, enter: () => resolve(release) });
      this.drain();
    });
  }

  private drain(): void {
    for (let next = this.queue[0]; next !== undefined; next = this.queue[0]) {
      if (this.exclusive || (next.exclusive && this.shared > 0)) return;
      this.queue.shift();
      if (next.exclusive) this.exclusive = true;
      else this.shared += 1;
      next.enter();
    }
  }
}

/** Two kinds of holders: each shares with its own kind and excludes the other; first come first served. */
class KindLock<Kind extends string> {
  private holders = 0;
  private kind: Kind | undefined;
  private readonly queue: { kind: Kind; enter: () => void }[] = [];

  acquire(kind: Kind): Promise<() => void> {
    return new Promise((resolve) => {
      const release = () => {
        this.holders -= 1;
        if (this.holders === 0) this.kind = undefined;
        this.drain();
      };
      this.queue.push({ kind, enter: () => resolve(release) });
      this.drain();
    });
  }

  private drain(): void {
    for (let next = this.queue[0]; next !== undefined; next = this.queue[0]) {
      if (this.holders > 0 && this.kind !== next.kind) return;
      this.queue.shift();
      this.kind = next.kind;
      this.holders += 1;
      next.enter();
    }
  }
}

/** One shared/exclusive lock per item, made when first asked for and dropped once nobody holds or waits for it. */
class ItemLocks {
  private readonly locks = new Map<string, SharedExclusiveLock>();

  async acquire(identity: string, exclusive: boolean): Promise<() => void> {
    let lock = this.locks.get(identity);
    if (lock === undefined) {
      lock = new SharedExclusiveLock();
      this.locks.set(identity, lock);
    }
    const held = lock;
    const release = await held.acquire(exclusive);
    return () => {
      release();
      if (held.idle && this.locks.get(identity) === held) this.locks.delete(identity);
    };
  }
}

/** An item's key: its attributes named in the table's key schema. */
function keyOfItem(item: AttributeMap, keyNames: readonly string[]): AttributeMap {
  return Object.fromEntries(keyNames.map((name) => [name, item[name]]));
}

/** A table and an item's key, as one string: what an item lock is named by. */
function itemIdentity(table: string, key: AttributeMap): string {
  return `${table}\u0000${JSON.stringify(sortedKeys(key))}`;
}

/** The requests that name the one item they read or write. */
const SINGLE_ITEM_OPERATIONS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);

/** Starts the front on 127.0.0.1 and a free port, forwarding to dynalite at `upstream`. */
export async function startDynamoDbTransactionsFront(upstream: string): Promise<DynamoDbTransactionsFront> {
  const target = new URL(upstream);
  /** Transactions share it among themselves, as requests on many items do; each kind waits for the other. */
  const scope = new KindLock<'transactions' | 'many-items'>();
  const items = new ItemLocks();
  const agent = new http.Agent({ keepAlive: true });
  /** Each table's key attribute names, read once (a table's key schema never changes; a table made again clears it). */
  const keyNames = new Map<string, Promise<string[] | Answer>>();

  /** One call to dynalite with the caller's signature headers and another operation and body. */
  const call = (headers: http.IncomingHttpHeaders, operation: string, body: unknown): Promise<Answer> => {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path: '/',
          agent,
          headers: {
            ...headers,
            'x-amz-target': `${TARGET_PREFIX}${operation}`,
            'content-type': 'application/x-amz-json-1.0',
            'content-length': String(payload.length),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 500, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
            } catch {
              reject(new Error(`the local DynamoDB server answered ${operation} with a body that is not JSON: ${text.slice(0, 200)}`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };

  /** The table's key attribute names, or dynalite's answer when it has no such table. */
  const keyNamesOf = (table: string, headers: http.IncomingHttpHeaders): Promise<string[] | Answer> => {
    let names = keyNames.get(table);
    if (names === undefined) {
      names = call(headers, 'DescribeTable', { TableName: table }).then(
        (described): string[] | Answer => {
          if (described.status !== 200) {
            keyNames.delete(table);
            return described;
          }
          const schema = (described.body.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema ?? [];
          return schema.map((k) => k.AttributeName);
        },
        (err: unknown): Answer => {
          keyNames.delete(table);
          return {
            status: 500,
            body: {
              __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
              message: `the local DynamoDB front could not read the key schema of ${table}: ${err instanceof Error ? err.message : String(err)}`,
            },
          };
        },
      );
      keyNames.set(table, names);
    }
    return names;
  };

  /** Sends the request on to dynalite (its body as read, or streamed) and its answer back. */
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): Promise<void> =>
    new Promise<void>((resolve) => {
      const upstreamReq = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          pipeline(answer, res)
            .catch(() => res.destroy())
            .finally(resolve);
        },
      );
      upstreamReq.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`the local DynamoDB front could not reach ${target.origin}: ${err.message}`);
        resolve();
      });
      if (body !== undefined) upstreamReq.end(body);
      else pipeline(req, upstreamReq).catch(() => upstreamReq.destroy());
    });

  /** A request on many items (or none): it waits until no transaction is in flight. */
  const forwardManyItems = async (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): Promise<void> => {
    const operation = String(req.headers['x-amz-target'] ?? '');
    if (operation.endsWith('.CreateTable') || operation.endsWith('.DeleteTable')) keyNames.clear();
    const release = await scope.acquire('many-items');
    try {
      await forward(req, res, body);
    } finally {
      release();
    }
  };

  /** A request on one item: it waits only while a transaction holds that item. */
  const forwardSingleItem = async (req: http.IncomingMessage, res: http.ServerResponse, operation: string): Promise<void> => {
    const body = await readBody(req);
    const identity = await singleItemIdentity(operation, body, (table) => keyNamesOf(table, req.headers));
    if (identity === undefined) return forwardManyItems(req, res, body);
    const release = await items.acquire(identity, false);
    try {
      await forward(req, res, body);
    } finally {
      release();
    }
  };

  const transact = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let input: { TransactItems?: unknown };
    try {
      input = JSON.parse((await readBody(req)).toString('utf8')) as { TransactItems?: unknown };
    } catch {
      return reply(res, 400, validationError('the TransactWriteItems body is not JSON'));
    }
    const planned = planItems(input.TransactItems);
    if (typeof planned === 'string') return reply(res, 400, validationError(planned));
    // A Put's key is its Item's key attributes, read from the table's key schema.
    for (const item of planned) {
      if (item.kind !== 'Put') continue;
      const names = await keyNamesOf(item.action.TableName, req.headers);
      if (!Array.isArray(names)) return reply(res, names.status, names.body);
      item.key = keyOfItem(item.action.Item as AttributeMap, names);
    }
    const identities = planned.map((item) => itemIdentity(item.action.TableName, item.key));
    if (new Set(identities).size !== identities.length) {
      return reply(res, 400, validationError('Transaction request cannot include multiple operations on one item'));
    }
    const releases = [await scope.acquire('transactions')];
    try {
      for (const identity of [...identities].sort()) releases.push(await items.acquire(identity, true));
      const answer = await runTransaction(planned, req.headers, call);
      reply(res, answer.status, answer.body);
    } catch (err) {
      reply(res, 500, {
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: `the local DynamoDB front failed in a transaction: ${err instanceof Error ? err.message : String(err)}`,
      });
    } finally {
      for (const release of releases.reverse()) release();
    }
  };

  const server = http.createServer((req, res) => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const handled =
      operation === 'TransactWriteItems'
        ? transact(req, res)
        : SINGLE_ITEM_OPERATIONS.has(operation)
          ? forwardSingleItem(req, res, operation)
          : forwardManyItems(req, res);
    handled.catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`the local DynamoDB transactions front could not start: ${err.message}`, { cause: err })),
    );
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The items of a TransactWriteItems call, or why DynamoDB would refuse it. */
function planItems(items: unknown): PlannedItem[] | string {
  if (!Array.isArray(items) || items.length === 0) return 'TransactItems must hold at least 1 item';
  if (items.length > MAX_ITEMS) return `Member must have length less than or equal to ${MAX_ITEMS}`;
  const planned: PlannedItem[] = [];
  for (const [index, entry] of items.entries()) {
    const kinds = ACTION_KINDS.filter((kind) => (entry as Record<string, unknown> | null)?.[kind] !== undefined);
    if (kinds.length !== 1) return `TransactItems[${index}] must have exactly one of ${ACTION_KINDS.join(', ')}`;
    const kind = kinds[0] as ActionKind;
    const action = (entry as Record<ActionKind, WriteAction>)[kind];
    const key = kind === 'Put' ? action.Item : action.Key;
    if (typeof action.TableName !== 'string' || key === undefined) return `TransactItems[${index}].${kind} names no table or item`;
    // A Put's key is narrowed to the table's key attributes once its schema is read (runTransaction).
    planned.push({ kind, action, key });
  }
  return planned;
}

function sortedKeys(map: AttributeMap): AttributeMap {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}

type Call = (headers: http.IncomingHttpHeaders, operation: string, body: unknown) => Promise<Answer>;

/**
 * Applies every item with its condition; on any failed condition undoes what was applied and
 * answers with the reasons. The caller holds every item's lock, so the items are written side
 * by side, each write returning the item as it was (ReturnValues ALL_OLD): what a cancelled
 * transaction restores. A failed condition's item is read when the caller asks for it (ALL_OLD).
 */
async function runTransaction(items: PlannedItem[], headers: http.IncomingHttpHeaders, call: Call): Promise<Answer> {
  const outcomes = await Promise.all(items.map((item) => apply(item, headers, call)));
  const unreadable = outcomes.find((outcome) => outcome.read !== undefined && outcome.read.status !== 200);
  if (unreadable?.read !== undefined) return unreadable.read;
  const applied: { item: PlannedItem; before: AttributeMap | undefined }[] = [];
  const reasons: Record<string, unknown>[] = [];
  let failure: Answer | undefined;
  for (const [index, { answer, before }] of outcomes.entries()) {
    const item = items[index] as PlannedItem;
    if (answer.status === 200) {
      if (item.kind !== 'ConditionCheck') applied.push({ item, before });
      reasons.push({ Code: 'None' });
    } else if (String(answer.body.__type ?? '').endsWith('#ConditionalCheckFailedException')) {
      const old = item.action.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? await currentItem(item, headers, call) : undefined;
      reasons.push({
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(old !== undefined ? { Item: old } : {}),
      });
    } else {
      failure ??= answer;
    }
  }
  const cancelled = reasons.some((r) => r.Code !== 'None');
  if (failure === undefined && !cancelled) return { status: 200, body: {} };
  await Promise.all(applied.map(({ item, before }) => restore(item, before, headers, call)));
  if (failure !== undefined) return failure;
  return {
    status: 400,
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
      CancellationReasons: reasons,
    },
  };
}

/** The item as it is now (the transaction holds its lock), or undefined when there is none. */
async function currentItem(item: PlannedItem, headers: http.IncomingHttpHeaders, call: Call): Promise<AttributeMap | undefined> {
  const read = await call(headers, 'GetItem', { TableName: item.action.TableName, Key: item.key, ConsistentRead: true });
  if (read.status !== 200)
    throw new Error(`could not read ${item.action.TableName} item ${JSON.stringify(item.key)}: ${JSON.stringify(read.body)}`);
  return read.body.Item as AttributeMap | undefined;
}

/** What one item's action did: dynalite's answer, the item as it was before, and a failed read if there was one. */
interface Outcome {
  answer: Answer;
  before: AttributeMap | undefined;
  read?: Answer;
}

/**
 * One item's write with its condition, returning the item as it was. A ConditionCheck reads the
 * item, then puts it back as it was under the condition (or tries a put and removes it).
 */
async function apply(item: PlannedItem, headers: http.IncomingHttpHeaders, call: Call): Promise<Outcome> {
  const { action } = item;
  const condition = {
    ...(action.ConditionExpression !== undefined ? { ConditionExpression: action.ConditionExpression } : {}),
    ...(action.ExpressionAttributeNames !== undefined ? { ExpressionAttributeNames: action.ExpressionAttributeNames } : {}),
    ...(action.ExpressionAttributeValues !== undefined ? { ExpressionAttributeValues: action.ExpressionAttributeValues } : {}),
  };
  const written = (answer: Answer): Outcome => ({ answer, before: answer.body.Attributes as AttributeMap | undefined });
  switch (item.kind) {
    case 'Put':
      return written(
        await call(headers, 'PutItem', { TableName: action.TableName, Item: action.Item, ReturnValues: 'ALL_OLD', ...condition }),
      );
    case 'Update':
      return written(
        await call(headers, 'UpdateItem', {
          TableName: action.TableName,
          Key: item.key,
          ...(action.UpdateExpression !== undefined ? { UpdateExpression: action.UpdateExpression } : {}),
          ReturnValues: 'ALL_OLD',
          ...condition,
        }),
      );
    case 'Delete':
      return written(
        await call(headers, 'DeleteItem', { TableName: action.TableName, Key: item.key, ReturnValues: 'ALL_OLD', ...condition }),
      );
    case 'ConditionCheck': {
      const read = await call(headers, 'GetItem', { TableName: action.TableName, Key: item.key, ConsistentRead: true });
      if (read.status !== 200) return { answer: read, before: undefined, read };
      const old = read.body.Item as AttributeMap | undefined;
      const answer = await call(headers, 'PutItem', { TableName: action.TableName, Item: old ?? item.key, ...condition });
      if (answer.status === 200 && old === undefined) await call(headers, 'DeleteItem', { TableName: action.TableName, Key: item.key });
      return { answer, before: old };
    }
  }
}

/** Puts an item back as it was before the transaction (or removes it if there was none). */
async function restore(item: PlannedItem, old: AttributeMap | undefined, headers: http.IncomingHttpHeaders, call: Call): Promise<void> {
  const answer =
    old === undefined
      ? await call(headers, 'DeleteItem', { TableName: item.action.TableName, Key: item.key })
      : await call(headers, 'PutItem', { TableName: item.action.TableName, Item: old });
  if (answer.status !== 200) {
    throw new Error(`could not undo a cancelled transaction's write to ${item.action.TableName}: ${JSON.stringify(answer.body)}`);
  }
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The item a GetItem, PutItem, UpdateItem or DeleteItem names, as an item lock's name; undefined
 * when the body does not say (dynalite then answers it as it would, under the many-items lock).
 */
async function singleItemIdentity(
  operation: string,
  body: Buffer,
  keyNamesOf: (table: string) => Promise<string[] | Answer>,
): Promise<string | undefined> {
  let input: { TableName?: unknown; Key?: unknown; Item?: unknown };
  try {
    input = JSON.parse(body.toString('utf8')) as typeof input;
  } catch {
    return undefined;
  }
  if (typeof input?.TableName !== 'string') return undefined;
  if (operation !== 'PutItem') {
    return typeof input.Key === 'object' && input.Key !== null ? itemIdentity(input.TableName, input.Key as AttributeMap) : undefined;
  }
  if (typeof input.Item !== 'object' || input.Item === null) return undefined;
  const names = await keyNamesOf(input.TableName);
  if (!Array.isArray(names)) return undefined;
  return itemIdentity(input.TableName, keyOfItem(input.Item as AttributeMap, names));
}

function validationError(message: string): Record<string, unknown> {
  return { __type: 'com.amazon.coral.validate#ValidationException', message };
}

function reply(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length) });
  res.end(payload);
}
