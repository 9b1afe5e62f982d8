/**
 * The one middleware chain every Lambda handler of the pipeline runs in, so that the three
 * functions log and count alike:
 *
 * - `injectLambdaContext`: every log line of the invocation names the function, its request id
 *   and whether it was a cold start; `resetKeys` drops keys a previous invocation appended.
 * - `logMetrics`: the function's stored metrics are flushed after the handler returns and also
 *   when it throws (a failed planning run still publishes ExportPlanningFailed), and each cold
 *   start counts once as ColdStart.
 *
 * There is deliberately no Powertools Tracer here and no active X-Ray tracing on the functions
 * (README, "Tracing"): the Tracer loads the X-Ray SDK and patches every AWS client on each cold
 * start, which the cold-start budget cannot pay for, and without it a trace would hold only
 * Lambda's own segments.
 */
import middy from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { logger as sharedLogger } from './logger.js';

/** What a function's own code is: an event and Lambda's context in, a result out. */
export type LambdaWork<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

/** A handler as Lambda calls it. */
export type ObservedHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

export interface ObservedHandlerOptions {
  /** The function's Metrics instance, flushed at the end of every invocation. */
  metrics: Metrics;
  /** @default the shared logger (logger.ts) */
  logger?: Logger;
}

const observedHandlers = new WeakSet<object>();

/** Wraps a function's work in the pipeline's middleware chain (see the module's comment). */
export function observedHandler<TEvent, TResult>(
  work: LambdaWork<TEvent, TResult>,
  options: ObservedHandlerOptions,
): ObservedHandler<TEvent, TResult> {
  const chain = middy<TEvent, TResult, Error, Context>(work)
    .use(injectLambdaContext(options.logger ?? sharedLogger, { resetKeys: true }))
    .use(logMetrics(options.metrics, { captureColdStartMetric: true }));
  const handler: ObservedHandler<TEvent, TResult> = (event, context) => chain(event, context);
  observedHandlers.add(handler);
  return handler;
}

/**
 * True for a handler made by `observedHandler`. Lets a test hold every entry point to the
 * chain without invoking it against AWS.
 */
export function isObservedHandler(handler: unknown): boolean {
  return typeof handler === 'function' && observedHandlers.has(handler);
}
