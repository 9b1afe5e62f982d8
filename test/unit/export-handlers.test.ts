import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeExportJob } from '../../shared/export/job.js';

const ENV_KEYS = [
  'PIPELINE_CONFIG',
  'EXPORT_LEDGER_TABLE_NAME',
  'ARCHIVE_BUCKET_NAME',
  'EXPORT_QUEUE_URL',
  'IBINDER_CLIENT_ID',
  'IBINDER_CLIENT_SECRET',
  'AWS_REGION',
  'POWERTOOLS_METRICS_DISABLED',
  'POWERTOOLS_LOG_LEVEL',
] as const;
const saved = new Map<string, string | undefined>();

beforeAll(() => {
  for (const key of ENV_KEYS) saved.set(key, process.env[key]);
  process.env.PIPELINE_CONFIG = JSON.stringify({
    environment: 'test',
    tenantId: 'acme',
    apiBaseUrl: 'https://api.example.test/api',
    tokenUrl: 'https://signin.example.test/connect/token',
    credentialsSecretName: 'ibinder/test',
  });
  process.env.EXPORT_LEDGER_TABLE_NAME = 'export-ledger';
  process.env.ARCHIVE_BUCKET_NAME = 'archive';
  process.env.EXPORT_QUEUE_URL = 'https://sqs.eu-north-1.amazonaws.com/123456789012/export';
  process.env.IBINDER_CLIENT_ID = 'client';
  process.env.IBINDER_CLIENT_SECRET = 'secret';
  process.env.AWS_REGION = 'eu-north-1';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

afterAll(() => {
  for (const [key, value] of saved) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const context = { getRemainingTimeInMillis: () => 600_000, awsRequestId: 'req-1' } as unknown as Context;

function record(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: 'r',
    body,
    attributes: {
      ApproximateReceiveCount: '2',
      SentTimestamp: '0',
      SenderId: 's',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: 'x',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-north-1:123456789012:export',
    awsRegion: 'eu-north-1',
  };
}

describe('export worker handler', () => {
  it('acknowledges a message that is not a job and reports a transient failure as a batch item failure', async () => {
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo
      .on(PutCommand)
      .rejects(
        Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' }),
      );
    dynamo.on(DeleteCommand).resolves({});
    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).resolves({});
    try {
      const { handler } = await import('../../functions/export-worker/handler.js');
      const job = {
        runId: 'run-1',
        runStartedAt: '2026-11-22T02:00:00.000Z',
        tenantId: 'acme',
        binderId: 'Bx7kQ2mZp',
        documentId: 'd-1',
        versionId: 'v-1',
        fileName: 'a.pdf',
        metadata: [],
      };
      const event: SQSEvent = { Records: [record('not-a-job', '{"hello":1}'), record('job', serializeExportJob(job))] };

      const response = await handler(event, context);

      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'job' }] });
      expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
        TableName: 'export-ledger',
        Item: { pk: 'version#v-1', state: 'claimed' },
      });
      // The retry is recorded in the run's manifest part.
      const partPut = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
      expect(partPut?.Bucket).toBe('archive');
      expect(partPut?.Key).toMatch(/^manifests\/2026-11-22\/run-1\/parts\/.+-worker-.+\.jsonl$/);
      expect(String(partPut?.Body)).toContain('"status":"retrying"');
    } finally {
      dynamo.restore();
      s3.restore();
    }
  });
});

describe('export planner handler', () => {
  it('refuses an event it does not understand, saying what to send', async () => {
    const { handler } = await import('../../functions/export-planner/handler.js');
    await expect(handler({ source: 'manual', binderIds: [] }, context)).rejects.toThrow(
      /binderIds.*send \{"source":"schedule"\} or \{"source":"manual"/s,
    );
  });
});
