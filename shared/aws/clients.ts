/**
 * AWS SDK v3 client factories. The SDK itself honours `AWS_ENDPOINT_URL` and
 * `AWS_ENDPOINT_URL_<SERVICE>`; when an endpoint is overridden (local S3 server, local
 * DynamoDB) S3 switches to path-style addressing and the flexible-checksum defaults drop to
 * "when required", which local servers understand.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** The endpoint the SDK will use for a service, if the environment overrides it. */
export function endpointOverride(serviceEnvSuffix: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[`AWS_ENDPOINT_URL_${serviceEnvSuffix}`] ?? env.AWS_ENDPOINT_URL;
}

export function createS3Client(overrides: S3ClientConfig = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const local = endpointOverride('S3', env) !== undefined || overrides.endpoint !== undefined;
  return new S3Client({
    ...(local
      ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
    ...overrides,
  });
}

export function createDocumentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSqsClient(): SQSClient {
  return new SQSClient({});
}

export function createSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}
