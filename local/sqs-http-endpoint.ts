/**
 * The SQS simulator's queues behind an HTTP endpoint that speaks the AWS JSON 1.0 protocol of
 * SDK v3 and of current AWS CLI versions (`POST /`, `x-amz-target: AmazonSQS.<Operation>`), so
 * that the operator CLI (`redrive`) and `aws sqs ...` work against the local stack by
 * `AWS_ENDPOINT_URL_SQS` alone. Only the operations a person or the CLI needs are served:
 * GetQueueUrl, ListQueues, GetQueueAttributes, SendMessage(Batch), ReceiveMessage (with long
 * polling), DeleteMessage(Batch) and ChangeMessageVisibility. Bodies are validated with zod and
 * every refusal names the operation, the queue and what to send instead.
 *
 * Queue URLs are `http://127.0.0.1:<port>/<account>/<queue name>`: the SDK sends each request
 * to its QueueUrl's host, so the URL must point here. Message bodies come back with their MD5,
 * which the SDK verifies.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { MAX_RECEIVE_BATCH, type SqsSimulator } from './sqs-simulator.js';

export const LOCAL_ACCOUNT_ID = '000000000000';
/** SQS's longest long-poll wait. */
const MAX_WAIT_SECONDS = 20;
/** How often a long poll looks at the queue again. */
const LONG_POLL_INTERVAL_MS = 50;
const MAX_REQUEST_BYTES = 2 * 1024 * 1024;
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

export interface SqsHttpEndpointOptions {
  /** The queues to serve, by their simulator's queue name. */
  queues: readonly SqsSimulator[];
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
}

export interface SqsHttpEndpoint {
  /** e.g. http://127.0.0.1:4013 */
  endpoint: string;
  /** The URL a client passes as QueueUrl for a queue of this endpoint. */
  queueUrl(queueName: string): string;
  stop(): Promise<void>;
}

/** A refusal in SQS's terms: HTTP status, the JSON error type and the query-compatible code. */
class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryCode: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const queueUrlField = z.string().min(1);
const GetQueueUrlInput = z.object({ QueueName: z.string().min(1) });
const ListQueuesInput = z.object({ QueueNamePrefix: z.string().optional() });
const GetQueueAttributesInput = z.object({ QueueUrl: queueUrlField, AttributeNames: z.array(z.string()).optional() });
const SendMessageInput = z.object({ QueueUrl: queueUrlField, MessageBody: z.string(), DelaySeconds: z.number().int().optional() });
const SendMessageBatchInput = z.object({
  QueueUrl: queueUrlField,
  Entries: z
    .array(z.object({ Id: z.string().min(1), MessageBody: z.string(), DelaySeconds: z.number().int().optional() }))
    .min(1)
    .max(10),
});
const ReceiveMessageInput = z.object({
  QueueUrl: queueUrlField,
  MaxNumberOfMessages: z.number().int().min(1).max(MAX_RECEIVE_BATCH).optional(),
  VisibilityTimeout: z.number().int().min(0).max(43_200).optional(),
  WaitTimeSeconds: z.number().int().min(0).max(MAX_WAIT_SECONDS).optional(),
});
const DeleteMessageInput = z.object({ QueueUrl: queueUrlField, ReceiptHandle: z.string().min(1) });
const DeleteMessageBatchInput = z.object({
  QueueUrl: queueUrlField,
  Entries: z
    .array(z.object({ Id: z.string().min(1), ReceiptHandle: z.string().min(1) }))
    .min(1)
    .max(10),
});
const ChangeMessageVisibilityInput = z.object({
  QueueUrl: queueUrlField,
  ReceiptHandle: z.string().min(1),
  VisibilityTimeout: z.number().int(),
});

export async function startSqsHttpEndpoint(options: SqsHttpEndpointOptions): Promise<SqsHttpEndpoint> {
  const queues = new Map(options.queues.map((q) => [q.queueName, q]));
  let endpoint = '';
  let closing = false;
  const queueUrl = (name: string): string => `${endpoint}/${LOCAL_ACCOUNT_ID}/${name}`;

  const queueOf = (operation: string, url: string): SqsSimulator => {
    const name = url.replace(/\/+$/, '').split('/').pop() ?? '';
    const queue = queues.get(name);
    if (!queue) {
      throw new SqsError(
        'com.amazonaws.sqs#QueueDoesNotExist',
        'AWS.SimpleQueueService.NonExistentQueue',
        `${operation}: no queue "${name}" here (QueueUrl ${url}); this local endpoint serves ${[...queues.keys()].map(queueUrl).join(', ')}`,
      );
    }
    return queue;
  };

  const operations: Record<string, (operation: string, body: unknown) => Promise<unknown> | unknown> = {
    GetQueueUrl: (operation, body) => {
      const input = parse(operation, GetQueueUrlInput, body);
      return { QueueUrl: queueUrl(queueOf(operation, input.QueueName).queueName) };
    },
    ListQueues: (operation, body) => {
      const input = parse(operation, ListQueuesInput, body);
      return { QueueUrls: [...queues.keys()].filter((name) => name.startsWith(input.QueueNamePrefix ?? '')).map(queueUrl) };
    },
    GetQueueAttributes: (operation, body) => {
      const queue = queueOf(operation, parse(operation, GetQueueAttributesInput, body).QueueUrl);
      const depth = queue.depth();
      return {
        Attributes: {
          QueueArn: queue.arn,
          ApproximateNumberOfMessages: String(depth.visible),
          ApproximateNumberOfMessagesNotVisible: String(depth.inFlight),
          ApproximateNumberOfMessagesDelayed: String(depth.delayed),
          VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        },
      };
    },
    SendMessage: (operation, body) => {
      const input = parse(operation, SendMessageInput, body);
      const queue = queueOf(operation, input.QueueUrl);
      const { messageId } = send(operation, queue, input.MessageBody, input.DelaySeconds);
      return { MessageId: messageId, MD5OfMessageBody: md5(input.MessageBody) };
    },
    SendMessageBatch: (operation, body) => {
      const input = parse(operation, SendMessageBatchInput, body);
      const queue = queueOf(operation, input.QueueUrl);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const entry of input.Entries) {
        try {
          const { messageId } = send(operation, queue, entry.MessageBody, entry.DelaySeconds);
          Successful.push({ Id: entry.Id, MessageId: messageId, MD5OfMessageBody: md5(entry.MessageBody) });
        } catch (err) {
          if (!(err instanceof SqsError)) throw err;
          Failed.push({ Id: entry.Id, SenderFault: true, Code: err.queryCode, Message: err.message });
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage: async (operation, body) => {
      const input = parse(operation, ReceiveMessageInput, body);
      const queue = queueOf(operation, input.QueueUrl);
      const deadline = Date.now() + (input.WaitTimeSeconds ?? 0) * 1000;
      const receive = () =>
        queue.receive({
          maxMessages: input.MaxNumberOfMessages ?? 1,
          ...(input.VisibilityTimeout !== undefined ? { visibilityTimeoutSeconds: input.VisibilityTimeout } : {}),
        });
      let messages = receive();
      while (messages.length === 0 && !closing && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, LONG_POLL_INTERVAL_MS));
        messages = receive();
      }
      return {
        Messages: messages.map((m) => ({
          MessageId: m.messageId,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: m.md5OfBody,
          Body: m.body,
          Attributes: { ...m.attributes },
        })),
      };
    },
    DeleteMessage: (operation, body) => {
      const input = parse(operation, DeleteMessageInput, body);
      // As in SQS, a handle from an earlier receive deletes nothing and is not an error.
      queueOf(operation, input.QueueUrl).delete(input.ReceiptHandle);
      return {};
    },
    DeleteMessageBatch: (operation, body) => {
      const input = parse(operation, DeleteMessageBatchInput, body);
      const queue = queueOf(operation, input.QueueUrl);
      for (const entry of input.Entries) queue.delete(entry.ReceiptHandle);
      return { Successful: input.Entries.map((e) => ({ Id: e.Id })), Failed: [] };
    },
    ChangeMessageVisibility: (operation, body) => {
      const input = parse(operation, ChangeMessageVisibilityInput, body);
      const queue = queueOf(operation, input.QueueUrl);
      let changed: boolean;
      try {
        changed = queue.changeVisibility(input.ReceiptHandle, input.VisibilityTimeout);
      } catch (err) {
        throw new SqsError(
          'com.amazonaws.sqs#InvalidParameterValue',
          'InvalidParameterValue',
          `${operation} on ${queue.queueName}: ${(err as Error).message}`,
        );
      }
      if (!changed) {
        throw new SqsError(
          'com.amazonaws.sqs#MessageNotInflight',
          'AWS.SimpleQueueService.MessageNotInflight',
          `${operation} on ${queue.queueName}: the receipt handle is not the message's latest (deleted, or received again since)`,
        );
      }
      return {};
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = headerText(req.headers['x-amz-target']);
    const operation = target?.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
    try {
      if (req.method !== 'POST' || operation === undefined) {
        throw new SqsError(
          'com.amazonaws.sqs#UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `${req.method ?? '?'} ${req.url ?? ''}: this local SQS endpoint speaks the AWS JSON 1.0 protocol only ` +
            '(POST / with x-amz-target: AmazonSQS.<Operation>), as the AWS SDK v3 and AWS CLI 2.15 or newer send it',
        );
      }
      const run = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
      if (!run) {
        throw new SqsError(
          'com.amazonaws.sqs#UnsupportedOperation',
          'AWS.SimpleQueueService.UnsupportedOperation',
          `${operation} is not served by the local SQS endpoint; it serves ${Object.keys(operations).join(', ')}`,
        );
      }
      const body = await readJson(operation, req);
      respond(res, 200, await run(operation, body));
    } catch (err) {
      if (err instanceof SqsError) {
        res.setHeader('x-amzn-query-error', `${err.queryCode};Sender`);
        respond(res, err.status, { __type: err.type, message: err.message });
        return;
      }
      respond(res, 500, {
        __type: 'com.amazonaws.sqs#InternalError',
        message: `${operation ?? 'request'} failed in the local SQS endpoint: ${(err as Error).message}`,
      });
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`the local SQS endpoint could not listen on 127.0.0.1:${options.port ?? 0}: ${err.message}`, { cause: err })),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    closing = true;
    stopping ??= new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
      // Long polls end within one interval once closing; whatever is still open then is cut.
      setTimeout(() => server.closeAllConnections(), 4 * LONG_POLL_INTERVAL_MS).unref();
    });
    return stopping;
  };
  return { endpoint, queueUrl, stop };
}

function parse<T>(operation: string, schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  throw new SqsError('com.amazonaws.sqs#InvalidParameterValue', 'InvalidParameterValue', `${operation}: ${problems}`);
}

function send(operation: string, queue: SqsSimulator, body: string, delaySeconds: number | undefined): { messageId: string } {
  try {
    return queue.send(body, delaySeconds !== undefined ? { delaySeconds } : {});
  } catch (err) {
    throw new SqsError(
      'com.amazonaws.sqs#InvalidParameterValue',
      'InvalidParameterValue',
      `${operation} to ${queue.queueName}: ${(err as Error).message}`,
    );
  }
}

async function readJson(operation: string, req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_REQUEST_BYTES)
      throw new SqsError(
        'com.amazonaws.sqs#InvalidParameterValue',
        'InvalidParameterValue',
        `${operation}: the request body is over ${MAX_REQUEST_BYTES} bytes`,
      );
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SqsError(
      'com.amazonaws.sqs#InvalidParameterValue',
      'InvalidParameterValue',
      `${operation}: the request body is not JSON; send ${JSON_CONTENT_TYPE}`,
    );
  }
}

function respond(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
