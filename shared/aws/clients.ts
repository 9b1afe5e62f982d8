/**
 * AWS SDK v3 client factories. The SDK itself honours `AWS_ENDPOINT_URL` and
 * `AWS_ENDPOINT_URL_<SERVICE>`; when an endpoint is overridden (local S3 server, local
 * DynamoDB) S3 switches to path-style addressing and the flexible-checksum defaults drop to
 * "when required", which local servers understand.
 *
 * Every client has timeouts: the SDK's default is none, and a hung connection would then hold
 * a Lambda invocation until the function timeout kills the whole batch. They are given in the
 * `requestHandler` options form that SDK v3 clients accept, so no transport package has to be
 * imported directly.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Longest wait for a TCP/TLS connection to an AWS endpoint (ms). */
export const AWS_CONNECTION_TIMEOUT_MS = 5_000;
/** Total budget of one small request (DynamoDB, SQS, Secrets Manager), answer included (ms). */
export const AWS_REQUEST_TIMEOUT_MS = 60_000;
/**
 * Longest silence on an S3 socket (ms). S3 gets an idle timeout rather than a total one:
 * a GetObject body of up to 5 GiB streams for as long as the upload it feeds, and must never be
 * cut off while it moves. Matches the iBinder transfer idle timeout, since a stalled upload
 * stops reading the S3 body for as long.
 */
export const S3_SOCKET_IDLE_TIMEOUT_MS = 120_000;

/** Timeouts of the small-request clients; `throwOnRequestTimeout` makes the budget an error, not a warning. */
const smallRequestHandler = {
  connectionTimeout: AWS_CONNECTION_TIMEOUT_MS,
  requestTimeout: AWS_REQUEST_TIMEOUT_MS,
  throwOnRequestTimeout: true,
} as const;

/** The endpoint the SDK will use for a service, if the environment overrides it. */
export function endpointOverride(serviceEnvSuffix: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[`AWS_ENDPOINT_URL_${serviceEnvSuffix}`] ?? env.AWS_ENDPOINT_URL;
}

export function createS3Client(overrides: S3ClientConfig = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const local = endpointOverride('S3', env) !== undefined || overrides.endpoint !== undefined;
  return new S3Client({
    requestHandler: { connectionTimeout: AWS_CONNECTION_TIMEOUT_MS, socketTimeout: S3_SOCKET_IDLE_TIMEOUT_MS },
    ...(local ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    ...overrides,
  });
}

/** A DynamoDB client with the small-request timeouts. */
export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ requestHandler: smallRequestHandler });
}

export function createDocumentClient(client: DynamoDBClient = createDynamoDbClient()): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function createSqsClient(): SQSClient {
  return new SQSClient({ requestHandler: smallRequestHandler });
}

export function createSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({ requestHandler: smallRequestHandler });
}
