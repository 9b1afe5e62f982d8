/**
 * An AWS service that does not answer is named in the error, with the operation and where the
 * request went, instead of Node's bare "connect ECONNREFUSED". Real SDK clients against a port
 * on 127.0.0.1 that nothing listens on.
 */
import { createServer } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { awsRequestLabelOf, isUnreachable, labelAwsErrors } from '../../cli/aws-request-label.js';
import { toCliError } from '../../cli/to-cli-error.js';

/** A port that was free a moment ago and has nothing listening on it now. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('labelled AWS errors', () => {
  it('names the service, operation and endpoint of a request nothing answered', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const s3 = labelAwsErrors(
      new S3Client({ region: 'eu-west-1', endpoint, forcePathStyle: true, credentials, maxAttempts: 1 }),
      'Amazon S3',
      endpoint,
    );
    const err = await s3.send(new HeadObjectCommand({ Bucket: 'inbox', Key: 'a.pdf' })).catch((e: unknown) => e);
    expect(isUnreachable(err)).toBe(true);
    expect(awsRequestLabelOf(err)).toEqual({ service: 'Amazon S3', operation: 'HeadObject', destination: endpoint });

    const cliError = toCliError(err);
    expect(cliError.exitCode).toBe(3);
    expect(cliError.message).toContain(`could not reach Amazon S3 at ${endpoint} (HeadObject: ECONNREFUSED`);
    expect(cliError.message).not.toMatch(/^Error:/);
    expect(cliError.hint).toContain('AWS_ENDPOINT_URL_S3');
  });

  it("keeps a service's own error as it was, with the service and operation in front", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const dynamo = labelAwsErrors(
      new DynamoDBClient({ region: 'eu-west-1', endpoint, credentials, maxAttempts: 1 }),
      'Amazon DynamoDB',
      'region eu-west-1',
    );
    const err = await dynamo.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } })).catch((e: unknown) => e);
    const cliError = toCliError(err);
    expect(cliError.message).toContain('could not reach Amazon DynamoDB at region eu-west-1 (GetItem: ECONNREFUSED');
    // Not an endpoint override: the hint is about the network and region, not a local server.
    expect(cliError.hint).toContain('--region');

    const refused = Object.assign(new Error('User is not authorized'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    Object.defineProperty(refused, Symbol.for('ibinder-pipeline.awsRequestLabel'), {
      value: { service: 'Amazon SQS', operation: 'ReceiveMessage', destination: 'region eu-west-1' },
    });
    expect(isUnreachable(refused)).toBe(false);
    expect(toCliError(refused).message).toBe('Amazon SQS ReceiveMessage: AccessDeniedException (HTTP 400): User is not authorized');
  });
});
