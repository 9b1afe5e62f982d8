/**
 * A Lambda `Context` for invoking handlers in-process. Remaining time counts down in real
 * time from the configured timeout, so a handler's "stop starting records when time runs low"
 * logic behaves as it would in Lambda (and can be exercised with a short timeout).
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LambdaContextOptions {
  functionName?: string;
  /** The function's timeout (ms). Default 15 minutes, the Lambda maximum. */
  timeoutMs?: number;
  memoryLimitInMB?: number;
  region?: string;
  accountId?: string;
  /** Real-time source for the countdown; injected by tests. */
  now?: () => number;
}

export function createLambdaContext(options: LambdaContextOptions = {}): Context {
  const functionName = options.functionName ?? 'ingest-local';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const now = options.now ?? Date.now;
  const deadline = now() + (options.timeoutMs ?? 15 * 60_000);
  const fail = (what: string) => (): never => {
    throw new Error(
      `context.${what}() is a legacy callback API and is not supported by the local stack; return a value from the async handler instead`,
    );
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${randomUUID()}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: fail('done'),
    fail: fail('fail'),
    succeed: fail('succeed'),
  };
}
