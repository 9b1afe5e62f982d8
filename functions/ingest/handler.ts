/**
 * Lambda entry point of the ingest: SQS batch of S3 event notifications in, partial batch
 * response out. Thin on purpose: the work is in `processBatch`, which tests and the local demo
 * call with their own dependencies.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { observedHandler } from '../../shared/observability/observed-handler.js';
import { processBatch } from './batch.js';
import { getIngestDependencies, metrics } from './dependencies.js';

export const handler = observedHandler(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processBatch(event, context, getIngestDependencies()),
  { metrics },
);
