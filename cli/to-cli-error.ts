/**
 * Turns whatever a command threw into a CliError a person can act on. The shared code's errors
 * already say what went wrong with which request (and never carry a secret, token or URL
 * signature); this adds the exit code and, where the cause is known, what to do.
 */
import { CredentialsError } from '../shared/credentials.js';
import { IBinderApiError, IBinderError, IBinderNetworkError } from '../shared/connectors/ibinder/index.js';
import { CLIENT_ID_ENV, CLIENT_SECRET_ENV } from '../shared/credentials.js';
import { BynderApiError, BynderError, BynderNetworkError } from '../shared/connectors/bynder/index.js';
import { awsRequestLabelOf, isUnreachable } from './aws-request-label.js';
import { CliError, ServiceError, UsageError } from './errors.js';

export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  // The iBinder client wraps a failing credentials provider; the provider's error says more.
  if (err instanceof IBinderError && err.cause instanceof CliError) return err.cause;
  if (err instanceof CredentialsError) {
    return new UsageError(err.message, `set ${CLIENT_ID_ENV} and ${CLIENT_SECRET_ENV}, or check the environment's secret`, { cause: err });
  }
  if (err instanceof IBinderApiError && err.kind === 'auth') {
    return new UsageError(
      `iBinder refused the credentials: ${err.message}`,
      `check the client id and secret (${CLIENT_ID_ENV} / ${CLIENT_SECRET_ENV}, or the environment's Secrets Manager secret), the token URL and the tenant`,
      { cause: err },
    );
  }
  if (err instanceof IBinderNetworkError) {
    return new ServiceError(err.message, 'check the API URL (--api-url / IBINDER_API_URL) and your network', { cause: err });
  }
  if (err instanceof IBinderError) {
    const trace = err instanceof IBinderApiError && err.traceId ? ` (give iBinder support the traceId ${err.traceId})` : '';
    return new ServiceError(err.message, `try again later if iBinder is unavailable${trace}`, { cause: err });
  }
  if (err instanceof BynderError) return bynderError(err);
  if (isUnreachable(err)) return unreachableError(err as Error);
  if (isAwsError(err)) return awsError(err);
  if (err instanceof Error) return new ServiceError(`${err.name}: ${err.message}`, undefined, { cause: err });
  return new ServiceError(String(err));
}

/** Bynder's errors name the request (method and path, never a query string) and its correlation id. */
function bynderError(err: BynderError): CliError {
  // The client wraps a failing credentials provider; the provider's error says more.
  if (err.cause instanceof CliError) return err.cause;
  if (err.kind === 'auth') {
    return new UsageError(
      `Bynder refused the credentials: ${err.message}`,
      "check the Bynder client id and secret (BYNDER_CLIENT_ID / BYNDER_CLIENT_SECRET, or the environment's Bynder secret), their scopes and the portal URL",
      { cause: err },
    );
  }
  if (err.operator) {
    return new UsageError(err.message, "check the portal URL (bynder.portalUrl, or BYNDER_PORTAL_URL) and the integration's settings", {
      cause: err,
    });
  }
  if (err instanceof BynderNetworkError) {
    return new ServiceError(err.message, 'check the portal URL (bynder.portalUrl, or BYNDER_PORTAL_URL) and your network', { cause: err });
  }
  const correlation =
    err instanceof BynderApiError && err.correlationId ? ` (give Bynder support the correlation id ${err.correlationId})` : '';
  const wait =
    err.kind === 'throttled'
      ? 'Bynder blocked the integration for a while: wait five quiet minutes, then try again'
      : 'try again later if Bynder is unavailable';
  return new ServiceError(err.message, `${wait}${correlation}`, { cause: err });
}

interface AwsError extends Error {
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

function isAwsError(err: unknown): err is AwsError {
  return err instanceof Error && ('$metadata' in err || err.name === 'CredentialsProviderError');
}

/**
 * No answer at all (refused, no such host, timed out): names the service, the operation and
 * where the request went, instead of Node's bare `connect ECONNREFUSED`.
 */
function unreachableError(err: Error): CliError {
  const label = awsRequestLabelOf(err);
  const cause = (err as NodeJS.ErrnoException).code ?? err.name;
  if (!label) {
    return new ServiceError(
      `could not reach an AWS service (${cause}: ${err.message})`,
      'check your network, the region (--region) and any endpoint override (--endpoint-url, AWS_ENDPOINT_URL[_<SERVICE>])',
      { cause: err },
    );
  }
  const overridden = !label.destination.startsWith('region ') && label.destination !== 'the default region';
  return new ServiceError(
    `could not reach ${label.service} at ${label.destination} (${label.operation}: ${cause}: ${err.message})`,
    overridden
      ? `is the local server running? check --endpoint-url / AWS_ENDPOINT_URL_${envSuffixOf(label.service)} (or AWS_ENDPOINT_URL)`
      : 'check your network or proxy and the region (--region); try again if AWS had a hiccup',
    { cause: err },
  );
}

/** The AWS_ENDPOINT_URL_<SERVICE> suffix the SDK reads for a service. */
function envSuffixOf(service: string): string {
  return service
    .replace(/^(Amazon|AWS) /, '')
    .replace(/ /g, '_')
    .toUpperCase();
}

function awsError(err: AwsError): CliError {
  const status = err.$metadata?.httpStatusCode;
  const request = err.$metadata?.requestId ? ` (request id ${err.$metadata.requestId})` : '';
  const label = awsRequestLabelOf(err);
  const text = `${label ? `${label.service} ${label.operation}: ` : ''}${err.name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${err.message}${request}`;
  if (err.name === 'CredentialsProviderError' || /could not load credentials/i.test(err.message)) {
    return new UsageError(
      `no AWS credentials: ${err.message}`,
      "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the environment's account",
      { cause: err },
    );
  }
  if (/region is missing/i.test(err.message)) {
    return new UsageError('no AWS region', 'pass --env <name> or --region <region>, or set AWS_REGION', { cause: err });
  }
  if (
    [
      'AccessDenied',
      'AccessDeniedException',
      'UnrecognizedClientException',
      'InvalidClientTokenId',
      'ExpiredToken',
      'ExpiredTokenException',
    ].includes(err.name) ||
    status === 403
  ) {
    return new UsageError(text, "check that your AWS credentials belong to the environment's account and may do this", { cause: err });
  }
  if (['NoSuchBucket', 'ResourceNotFoundException', 'AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExist'].includes(err.name)) {
    return new UsageError(text, 'check the resource name (flag or stack output) and the region', { cause: err });
  }
  return new ServiceError(text, 'try again; if it persists, check the service status and your network', { cause: err });
}
