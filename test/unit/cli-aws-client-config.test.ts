import { describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../cli/aws-client-config.js';

const keys = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'example-secret' };

describe('awsClientConfig', () => {
  it("takes --region over the environment's region, and that over AWS_REGION", () => {
    expect(awsClientConfig({ region: 'eu-north-1' }, 'eu-west-1', { AWS_REGION: 'us-east-1' }, 'S3').region).toBe('eu-north-1');
    expect(awsClientConfig({}, 'eu-west-1', { AWS_REGION: 'us-east-1' }, 'S3').region).toBe('eu-west-1');
    expect(awsClientConfig({}, undefined, { AWS_REGION: 'us-east-1' }, 'S3').region).toBe('us-east-1');
  });

  it('takes --endpoint-url over AWS_ENDPOINT_URL_<SERVICE>, and that over AWS_ENDPOINT_URL', () => {
    const env = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:5000' };
    expect(awsClientConfig({ endpointUrl: 'http://127.0.0.1:9000' }, undefined, env, 'S3').endpoint).toBe('http://127.0.0.1:9000');
    expect(awsClientConfig({}, undefined, env, 'S3').endpoint).toBe('http://127.0.0.1:5000');
    expect(awsClientConfig({}, undefined, env, 'DYNAMODB').endpoint).toBe('http://127.0.0.1:4566');
  });

  it('lets an explicit --profile win over keys in the variables, as the AWS CLI does', () => {
    const config = awsClientConfig({ profile: 'prod-operator' }, undefined, { ...keys, AWS_PROFILE: 'other' }, 'S3');
    expect(config.profile).toBe('prod-operator');
    expect(config.credentials).toBeUndefined();
  });

  it('without --profile, uses keys from the variables before AWS_PROFILE, as the SDK does', () => {
    const config = awsClientConfig({}, undefined, { ...keys, AWS_SESSION_TOKEN: 'token', AWS_PROFILE: 'other' }, 'S3');
    expect(config.credentials).toEqual({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret', sessionToken: 'token' });
    expect(config.profile).toBeUndefined();
    expect(awsClientConfig({}, undefined, { AWS_PROFILE: 'other' }, 'S3')).toEqual({ profile: 'other' });
  });
});
