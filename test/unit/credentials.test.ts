import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CredentialsError, createCredentialsProvider, credentialsFromEnv, resolveCredentialsProvider } from '../../shared/credentials.js';
import { logger } from '../../shared/observability/logger.js';

const SECRET_NAME = 'ibinder/dev/api-client';
const SECRET_VALUE = 'client-secret-must-not-leak';

const sm = mockClient(SecretsManagerClient);
let clock: number;

beforeEach(() => {
  sm.reset();
  clock = 1_700_000_000_000;
});
afterEach(() => {
  sm.reset();
});

const secretJson = (value: unknown) => ({ SecretString: JSON.stringify(value) });
const provider = (ttlMs?: number) =>
  createCredentialsProvider({
    secretName: SECRET_NAME,
    secretsManager: new SecretsManagerClient({ region: 'eu-north-1' }),
    now: () => clock,
    ...(ttlMs !== undefined ? { ttlMs } : {}),
  });

describe('createCredentialsProvider', () => {
  it('reads the named secret and returns its client id and secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves(secretJson({ clientId: 'client-1', clientSecret: SECRET_VALUE }));
    await expect(provider()()).resolves.toEqual({ clientId: 'client-1', clientSecret: SECRET_VALUE });
  });

  it('caches the secret for the TTL (5 minutes by default), then reads it again', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce(secretJson({ clientId: 'client-1', clientSecret: 'first' }))
      .resolves(secretJson({ clientId: 'client-1', clientSecret: 'rotated' }));
    const get = provider();
    await get();
    clock += 4 * 60_000;
    expect((await get()).clientSecret).toBe('first');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    clock += 61_000;
    expect((await get()).clientSecret).toBe('rotated');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('shares one Secrets Manager request between concurrent callers', async () => {
    sm.on(GetSecretValueCommand).resolves(secretJson({ clientId: 'client-1', clientSecret: SECRET_VALUE }));
    const get = provider();
    await Promise.all([get(), get(), get()]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('names the secret and the missing field, never the value', async () => {
    sm.on(GetSecretValueCommand).resolves(secretJson({ clientId: 'client-1', client_secret: SECRET_VALUE }));
    const err = await provider()().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toContain(`"${SECRET_NAME}"`);
    expect((err as Error).message).toContain('clientSecret');
    expect((err as Error).message).not.toContain(SECRET_VALUE);
  });

  it('does not quote a secret that is not JSON', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: SECRET_VALUE });
    const err = await provider()().catch((e: unknown) => e);
    expect((err as Error).message).toContain('is not valid JSON');
    expect((err as Error).message).not.toContain(SECRET_VALUE);
  });

  it('explains a secret that cannot be read, and does not cache the failure', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'not found', $metadata: {} }))
      .resolves(secretJson({ clientId: 'client-1', clientSecret: SECRET_VALUE }));
    const get = provider();
    await expect(get()).rejects.toThrow(`could not read Secrets Manager secret "${SECRET_NAME}" (ResourceNotFoundException)`);
    await expect(get()).resolves.toMatchObject({ clientId: 'client-1' });
  });
});

describe('credentialsFromEnv', () => {
  it('reads IBINDER_CLIENT_ID and IBINDER_CLIENT_SECRET', () => {
    expect(credentialsFromEnv({ IBINDER_CLIENT_ID: 'client-1', IBINDER_CLIENT_SECRET: SECRET_VALUE })).toEqual({
      clientId: 'client-1',
      clientSecret: SECRET_VALUE,
    });
  });

  it('names every missing variable', () => {
    expect(() => credentialsFromEnv({})).toThrow('IBINDER_CLIENT_ID and IBINDER_CLIENT_SECRET are not set');
    expect(() => credentialsFromEnv({ IBINDER_CLIENT_ID: 'client-1' })).toThrow(/^IBINDER_CLIENT_SECRET is not set/);
  });
});

describe('resolveCredentialsProvider', () => {
  const config = { credentialsSecretName: SECRET_NAME };
  const client = () => new SecretsManagerClient({ region: 'eu-north-1' });

  it('uses the environment variables when both are set, without reading the secret', async () => {
    const get = resolveCredentialsProvider(config, { IBINDER_CLIENT_ID: 'local', IBINDER_CLIENT_SECRET: 'local-secret' }, client());
    await expect(get()).resolves.toEqual({ clientId: 'local', clientSecret: 'local-secret' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('uses the secret otherwise, and warns when only one variable is set', async () => {
    sm.on(GetSecretValueCommand, { SecretId: SECRET_NAME }).resolves(secretJson({ clientId: 'from-secret', clientSecret: SECRET_VALUE }));
    const warn = vi.spyOn(logger, 'warn');
    const get = resolveCredentialsProvider(config, { IBINDER_CLIENT_ID: 'local' }, client());
    await expect(get()).resolves.toEqual({ clientId: 'from-secret', clientSecret: SECRET_VALUE });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls)).toContain('IBINDER_CLIENT_ID');
  });
});
