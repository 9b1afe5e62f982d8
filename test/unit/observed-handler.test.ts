/**
 * The one middleware chain of the three Lambda handlers: log lines name the invocation, stored
 * metrics are flushed whether the work returns or throws, a cold start counts once, and every
 * handler the stack deploys runs in it.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics } from '../../shared/observability/metrics.js';
import { observedHandler } from '../../shared/observability/observed-handler.js';
import { POWERTOOLS_CAPTURE_ENV, captureConsole, emfDatapoints, sumOf, type ConsoleCapture } from '../helpers/powertools-output.js';

function lambdaContext(functionName: string, awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-north-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 600_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

let output: ConsoleCapture;

beforeEach(() => {
  for (const [name, value] of Object.entries(POWERTOOLS_CAPTURE_ENV)) vi.stubEnv(name, value);
  // What Lambda sets on an on-demand instance; Powertools reports no cold start without it.
  vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
  for (const name of ['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'PIPELINE_CONFIG', 'POWERTOOLS_LOG_LEVEL'])
    vi.stubEnv(name, undefined);
  output = captureConsole();
});
afterEach(() => {
  output.restore();
  vi.unstubAllEnvs();
});

describe('observedHandler', () => {
  it('names the invocation on every log line and drops keys a previous invocation appended', async () => {
    const logger = new Logger({ serviceName: 'chain-test' });
    const handler = observedHandler(
      async (event: { appendKey: boolean }) => {
        if (event.appendKey) logger.appendKeys({ leftOver: 'from the first invocation' });
        logger.info('working');
        return 'done';
      },
      { metrics: createMetrics('chain-test'), logger },
    );

    await expect(handler({ appendKey: true }, lambdaContext('chain-fn', 'request-1'))).resolves.toBe('done');
    await handler({ appendKey: false }, lambdaContext('chain-fn', 'request-2'));

    const lines = output.json().filter((line) => line.message === 'working');
    expect(lines.map((line) => [line.function_name, line.function_request_id, line.cold_start])).toEqual([
      ['chain-fn', 'request-1', true],
      ['chain-fn', 'request-2', false],
    ]);
    expect(lines[1]).not.toHaveProperty('leftOver');
  });

  it('flushes stored metrics after the work returns and after it throws, and counts the cold start once', async () => {
    const metrics = createMetrics('chain-test');
    const handler = observedHandler(
      async (event: { fail: boolean }) => {
        metrics.addMetric('WorkDone', MetricUnit.Count, 1);
        if (event.fail) throw new Error('the work failed');
        return 'ok';
      },
      { metrics, logger: new Logger({ serviceName: 'chain-test', logLevel: 'SILENT' }) },
    );

    await handler({ fail: false }, lambdaContext('chain-fn', 'request-1'));
    await expect(handler({ fail: true }, lambdaContext('chain-fn', 'request-2'))).rejects.toThrow('the work failed');

    const points = emfDatapoints(output.json());
    expect(sumOf(points, 'WorkDone', { service: 'chain-test' })).toBe(2);
    expect(sumOf(points, 'ColdStart', { service: 'chain-test', function_name: 'chain-fn' })).toBe(1);
  });
});

describe('the deployed handlers', () => {
  // Each module creates its Metrics at import: import them after the capture variables are set.
  const entries = [
    { name: 'ingest', service: SERVICE_NAMES.ingest, load: () => import('../../functions/ingest/handler.js') },
    { name: 'export planner', service: SERVICE_NAMES.exportPlanner, load: () => import('../../functions/export-planner/handler.js') },
    { name: 'export worker', service: SERVICE_NAMES.exportWorker, load: () => import('../../functions/export-worker/handler.js') },
  ] as const;

  it.each(entries)('$name runs in the shared chain: even a failed first invocation publishes its ColdStart', async ({ service, load }) => {
    vi.resetModules();
    const { handler } = await load();
    // The module graph was loaded afresh: ask the copy of the chain the handler was built with.
    const chain = await import('../../shared/observability/observed-handler.js');
    expect(chain.isObservedHandler(handler)).toBe(true);

    // Without PIPELINE_CONFIG (or, for the planner, with an event it does not understand) the work throws at once.
    await expect(handler({ Records: [], source: 'neither' } as never, lambdaContext(`${service}-fn`, 'request-1'))).rejects.toThrow();

    const points = emfDatapoints(output.json());
    expect(sumOf(points, 'ColdStart', { service, function_name: `${service}-fn` })).toBe(1);
  });
});
