/**
 * Which AWS service and operation an error came from. The SDK's network errors carry neither
 * (`Error: connect ECONNREFUSED 127.0.0.1:4566`), so an operator could not tell whether S3,
 * DynamoDB or SQS was unreachable, nor where the CLI was sending the request. Every client the
 * CLI builds gets a middleware that labels an error on its way out with the service, the
 * operation and where the requests go (endpoint override or region); `toCliError` reads it.
 */

/** What a labelled error says about its request. */
export interface AwsRequestLabel {
  /** The service as AWS names it, e.g. "Amazon S3". */
  service: string;
  /** The API operation, e.g. "HeadObject". */
  operation: string;
  /** Where requests went: the endpoint override, or the region. */
  destination: string;
}

const LABEL = Symbol.for('ibinder-pipeline.awsRequestLabel');

/** The label a client's middleware put on this error, if any. */
export function awsRequestLabelOf(err: unknown): AwsRequestLabel | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const label: unknown = (err as Record<symbol, unknown>)[LABEL];
  return typeof label === 'object' && label !== null ? (label as AwsRequestLabel) : undefined;
}

type Next = (args: unknown) => Promise<unknown>;
type LabellingMiddleware = (next: Next, context: { commandName?: string }) => Next;

/** The one method of an SDK v3 client this needs (every client has it). */
export interface MiddlewareHost {
  middlewareStack: { add(middleware: LabellingMiddleware, options: { step: 'initialize'; name: string; override: boolean }): void };
}

/** Adds the labelling middleware to a client; returns the client. */
export function labelAwsErrors<T extends object>(client: T, service: string, destination: string): T {
  const middleware: LabellingMiddleware = (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (err) {
      if (typeof err === 'object' && err !== null && awsRequestLabelOf(err) === undefined) {
        const operation = (context.commandName ?? 'request').replace(/Command$/, '');
        Object.defineProperty(err, LABEL, { value: { service, operation, destination } satisfies AwsRequestLabel, enumerable: false });
      }
      throw err;
    }
  };
  (client as unknown as MiddlewareHost).middlewareStack.add(middleware, { step: 'initialize', name: 'cliAwsRequestLabel', override: true });
  return client;
}

/** Node's codes for a request that never got an answer: nothing listens, no such host, no route, cut off. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** True for an error that means the service could not be reached (as opposed to one it answered with). */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined && (err.name === 'TimeoutError' || err.name === 'RequestTimeout');
}
