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
 * - isolated: a transaction runs alone, other requests wait for it (and it waits for those in
 *   flight), so nobody sees it half applied;
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

/** A shared/exclusive lock, first come first served: requests share it, a transaction holds it alone. */
class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private readonly queue: { exclusive: boolean; enter: () => void }[] = [];

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

  /** Lets in whoever may enter now, in order: a waiting transaction keeps later requests out, so it cannot starve. */
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

/** Starts the front on 127.0.0.1 and a free port, forwarding to dynalite at `upstream`. */
export async function startDynamoDbTransactionsFront(upstream: string): Promise<DynamoDbTransactionsFront> {
  const target = new URL(upstream);
  const lock = new SharedExclusiveLock();
  const agent = new http.Agent({ keepAlive: true });

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

  const forward = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const release = await lock.acquire(false);
    try {
      await new Promise<void>((resolve) => {
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
        pipeline(req, upstreamReq).catch(() => upstreamReq.destroy());
      });
    } finally {
      release();
    }
  };

  const transact = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let input: { TransactItems?: unknown };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { TransactItems?: unknown };
    } catch {
      return reply(res, 400, validationError('the TransactWriteItems body is not JSON'));
    }
    const planned = planItems(input.TransactItems);
    if (typeof planned === 'string') return reply(res, 400, validationError(planned));
    const release = await lock.acquire(true);
    try {
      const answer = await runTransaction(planned, req.headers, call);
      reply(res, answer.status, answer.body);
    } catch (err) {
      reply(res, 500, {
        __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
        message: `the local DynamoDB front failed in a transaction: ${err instanceof Error ? err.message : String(err)}`,
      });
    } finally {
      release();
    }
  };

  const server = http.createServer((req, res) => {
    const operation = req.headers['x-amz-target'];
    const handled = operation === `${TARGET_PREFIX}TransactWriteItems` ? transact(req, res) : forward(req, res);
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
 * answers with the reasons. A Put's key is read from the table's key schema, since its Item
 * holds every attribute.
 */
async function runTransaction(items: PlannedItem[], headers: http.IncomingHttpHeaders, call: Call): Promise<Answer> {
  const keyNames = new Map<string, string[]>();
  for (const item of items) {
    if (item.kind !== 'Put') continue;
    let names = keyNames.get(item.action.TableName);
    if (names === undefined) {
      const described = await call(headers, 'DescribeTable', { TableName: item.action.TableName });
      if (described.status !== 200) return described;
      const schema = (described.body.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema ?? [];
      names = schema.map((k) => k.AttributeName);
      keyNames.set(item.action.TableName, names);
    }
    item.key = Object.fromEntries(names.map((name) => [name, (item.action.Item as AttributeMap)[name]]));
  }
  // Two actions on one item are refused, once every key is known.
  const identities = new Set<string>();
  for (const item of items) {
    const identity = `${item.action.TableName}\u0000${JSON.stringify(sortedKeys(item.key))}`;
    if (identities.has(identity))
      return { status: 400, body: validationError('Transaction request cannot include multiple operations on one item') };
    identities.add(identity);
  }

  // The items as they were: what a failed transaction restores, and what ALL_OLD returns.
  const before: (AttributeMap | undefined)[] = [];
  for (const item of items) {
    const read = await call(headers, 'GetItem', { TableName: item.action.TableName, Key: item.key, ConsistentRead: true });
    if (read.status !== 200) return read;
    before.push(read.body.Item as AttributeMap | undefined);
  }

  const applied: number[] = [];
  const reasons: Record<string, unknown>[] = [];
  let failure: Answer | undefined;
  for (const [index, item] of items.entries()) {
    const answer = await apply(item, before[index], headers, call);
    if (answer.status === 200) {
      if (item.kind !== 'ConditionCheck') applied.push(index);
      reasons.push({ Code: 'None' });
      continue;
    }
    if (String(answer.body.__type ?? '').endsWith('#ConditionalCheckFailedException')) {
      const old = before[index];
      reasons.push({
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(item.action.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old !== undefined ? { Item: old } : {}),
      });
      continue;
    }
    failure = answer;
    break;
  }
  const cancelled = reasons.some((r) => r.Code !== 'None');
  if (failure === undefined && !cancelled) return { status: 200, body: {} };
  for (const index of applied.reverse()) await restore(items[index] as PlannedItem, before[index], headers, call);
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

/** One item's write with its condition (a ConditionCheck puts the item back as it was, or tries a put and removes it). */
async function apply(item: PlannedItem, old: AttributeMap | undefined, headers: http.IncomingHttpHeaders, call: Call): Promise<Answer> {
  const { action } = item;
  const condition = {
    ...(action.ConditionExpression !== undefined ? { ConditionExpression: action.ConditionExpression } : {}),
    ...(action.ExpressionAttributeNames !== undefined ? { ExpressionAttributeNames: action.ExpressionAttributeNames } : {}),
    ...(action.ExpressionAttributeValues !== undefined ? { ExpressionAttributeValues: action.ExpressionAttributeValues } : {}),
  };
  switch (item.kind) {
    case 'Put':
      return call(headers, 'PutItem', { TableName: action.TableName, Item: action.Item, ...condition });
    case 'Update':
      return call(headers, 'UpdateItem', {
        TableName: action.TableName,
        Key: item.key,
        ...(action.UpdateExpression !== undefined ? { UpdateExpression: action.UpdateExpression } : {}),
        ...condition,
      });
    case 'Delete':
      return call(headers, 'DeleteItem', { TableName: action.TableName, Key: item.key, ...condition });
    case 'ConditionCheck': {
      const answer = await call(headers, 'PutItem', { TableName: action.TableName, Item: old ?? item.key, ...condition });
      if (answer.status === 200 && old === undefined) await call(headers, 'DeleteItem', { TableName: action.TableName, Key: item.key });
      return answer;
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

function validationError(message: string): Record<string, unknown> {
  return { __type: 'com.amazon.coral.validate#ValidationException', message };
}

function reply(res: http.ServerResponse, status: number, body: Record<string, unknown>): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(payload.length) });
  res.end(payload);
}
