/**
 * Lambda entry point of the ingest: SQS batch of S3 event notifications in, partial batch
 * response out. Thin on purpose: the work is in `processBatch`, which tests and the local demo
 * call with their own dependencies.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../../shared/observability/logger.js';
import { processBatch } from './batch.js';
import { getIngestDependencies, metrics } from './dependencies.js';

export const handler = middy(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processBatch(event, context, getIngestDependencies()),
)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
