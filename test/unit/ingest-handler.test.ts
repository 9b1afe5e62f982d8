import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/ingest/handler.js';
import { sqsEvent, sqsMessage, testEventBody } from '../helpers/ingest-factories.js';

function context(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-north-1:123456789012:function:ingest',
    memoryLimitInMB: '1024',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/ingest',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 600_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

afterEach(() => vi.unstubAllEnvs());

describe('ingest handler', () => {
  it('wires config, middleware and the batch: a TestEvent is acknowledged, a malformed body fails alone', async () => {
    vi.stubEnv(
      'PIPELINE_CONFIG',
      JSON.stringify({
        environment: 'test',
        tenantId: 'tenant-1',
        apiBaseUrl: 'https://api.ibinder.test/api',
        tokenUrl: 'https://signin.ibinder.test/connect/token',
        credentialsSecretName: 'ibinder/test',
      }),
    );
    vi.stubEnv('LEDGER_TABLE_NAME', 'ledger');
    vi.stubEnv('INBOX_BUCKET_NAME', 'inbox-bucket');
    vi.stubEnv('AWS_REGION', 'eu-north-1');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    const output = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const errors = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const result = await handler(sqsEvent(sqsMessage(testEventBody(), 'msg-test'), sqsMessage('not json', 'msg-bad')), context());
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-bad' }] });
    } finally {
      output.mockRestore();
      errors.mockRestore();
    }
  });
});
