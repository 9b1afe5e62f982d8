/**
 * Region, endpoint and credentials of the CLI's AWS clients, picked the way the AWS CLI picks
 * them: flags (--region, --profile, --endpoint-url) first, then the variables the SDK reads
 * (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL[_<SERVICE>], AWS_ACCESS_KEY_ID...), then the
 * environment's region from cdk.json. The variables come from the CLI's io.env rather than
 * process.env, so that tests and the demo run the CLI with their own.
 */
import { endpointOverride } from '../shared/aws/clients.js';
import type { GlobalOptions } from './options.js';

export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
}

/**
 * `serviceEnvSuffix` is the service's AWS_ENDPOINT_URL_<SUFFIX> (S3, DYNAMODB, ...).
 * An explicit --profile wins over keys in the variables, as with the AWS CLI; without it, keys
 * in the variables win over AWS_PROFILE, as with the SDK.
 */
export function awsClientConfig(
  options: Pick<GlobalOptions, 'region' | 'profile' | 'endpointUrl'>,
  environmentRegion: string | undefined,
  env: NodeJS.ProcessEnv,
  serviceEnvSuffix: string,
): AwsClientConfig {
  const region = options.region ?? environmentRegion ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const endpoint = options.endpointUrl ?? endpointOverride(serviceEnvSuffix, env);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  const profile = options.profile ?? nonEmpty(env.AWS_PROFILE);
  const keysFromVariables = options.profile === undefined && accessKeyId !== undefined && secretAccessKey !== undefined;
  return {
    ...(region !== undefined ? { region } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(keysFromVariables
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) } }
      : profile !== undefined
        ? { profile }
        : {}),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}
