/**
 * Where the iBinder client id and secret come from: a Secrets Manager secret holding
 * `{"clientId": "...", "clientSecret": "..."}` in AWS, or `IBINDER_CLIENT_ID` /
 * `IBINDER_CLIENT_SECRET` (the names of the vendor's quickstart) locally.
 *
 * The secret is cached with a TTL so that a warm Lambda does not call Secrets Manager per
 * record, yet a rotated secret is picked up within minutes. Errors name the secret and the
 * missing field or variable, never a value.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from './validation/zod.js';
import { lazySchema } from './validation/lazy-schema.js';
import type { PipelineConfig } from './config/runtime.js';
import type { IBinderCredentials } from './connectors/ibinder/client/types.js';
import { logger } from './observability/logger.js';

export const DEFAULT_CREDENTIALS_TTL_MS = 5 * 60 * 1000;
export const CLIENT_ID_ENV = 'IBINDER_CLIENT_ID';
export const CLIENT_SECRET_ENV = 'IBINDER_CLIENT_SECRET';

export type CredentialsProvider = () => Promise<IBinderCredentials>;

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

const SecretShape = lazySchema(() =>
  z.object({
    clientId: z.string().check(z.trim(), z.minLength(1)),
    clientSecret: z.string().check(z.trim(), z.minLength(1)),
  }),
);

export interface SecretCredentialsOptions {
  secretName: string;
  secretsManager: SecretsManagerClient;
  /** How long a fetched secret is used before it is read again. Default 5 minutes. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * A provider that reads and validates the secret on first use, then serves it from memory
 * for `ttlMs`. Concurrent callers share one Secrets Manager request; a failed read is not cached.
 */
export function createCredentialsProvider(options: SecretCredentialsOptions): CredentialsProvider {
  return cachedSecretReader(options, parseSecret);
}

/**
 * A secret read on first use, validated by `parse` (which names the secret and the fields,
 * never a value), and served from memory for `ttlMs`, so that a warm Lambda does not call
 * Secrets Manager per record yet picks up a rotation within minutes. Concurrent callers share
 * one request; a failed read or parse is not cached. Each connector's credentials use it.
 */
export function cachedSecretReader<T>(
  options: { secretName: string; secretsManager: SecretsManagerClient; ttlMs?: number | undefined; now?: (() => number) | undefined },
  parse: (secretName: string, secretString: string | undefined) => T,
): () => Promise<T> {
  const { secretName, secretsManager } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_CREDENTIALS_TTL_MS;
  const now = options.now ?? Date.now;
  let cached: { credentials: T; fetchedAt: number } | undefined;
  let inFlight: Promise<T> | undefined;

  const load = async (): Promise<T> => {
    let secretString: string | undefined;
    try {
      const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretName }));
      secretString = out.SecretString;
    } catch (err) {
      const reason = err instanceof Error ? err.name : 'unknown error';
      throw new CredentialsError(
        `could not read Secrets Manager secret "${secretName}" (${reason}): check that it exists in this account and region and that the function's role may read it`,
        { cause: err },
      );
    }
    return parse(secretName, secretString);
  };

  return async () => {
    if (cached && now() - cached.fetchedAt < ttlMs) return cached.credentials;
    inFlight ??= load()
      .then((credentials) => {
        cached = { credentials, fetchedAt: now() };
        return credentials;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

/** Validates the secret's JSON; the message names the secret and the fields, never a value. */
export function parseSecret(secretName: string, secretString: string | undefined): IBinderCredentials {
  const expected = 'expected JSON {"clientId": "...", "clientSecret": "..."}';
  if (secretString === undefined || secretString === '') {
    throw new CredentialsError(`Secrets Manager secret "${secretName}" has no string value: ${expected}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // JSON.parse quotes the input in its message: that would be the secret.
    throw new CredentialsError(`Secrets Manager secret "${secretName}" is not valid JSON: ${expected}`);
  }
  const parsed = SecretShape.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => (i.path.length > 0 ? i.path.join('.') : '(root)')))];
    throw new CredentialsError(`Secrets Manager secret "${secretName}" is missing or has an empty ${fields.join(', ')}: ${expected}`);
  }
  return parsed.data;
}

/** Credentials from `IBINDER_CLIENT_ID` / `IBINDER_CLIENT_SECRET`; the error names every missing one. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): IBinderCredentials {
  const clientId = env[CLIENT_ID_ENV]?.trim();
  const clientSecret = env[CLIENT_SECRET_ENV]?.trim();
  const missing = [!clientId ? CLIENT_ID_ENV : undefined, !clientSecret ? CLIENT_SECRET_ENV : undefined].filter(
    (name): name is string => name !== undefined,
  );
  if (!clientId || !clientSecret) {
    throw new CredentialsError(
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: set both to use local iBinder credentials`,
    );
  }
  return { clientId, clientSecret };
}

/**
 * The provider a function should use: the environment variables when both are set (local
 * runs, the demo), otherwise the secret named in the pipeline config.
 */
export function resolveCredentialsProvider(
  config: Pick<PipelineConfig, 'credentialsSecretName'>,
  env: NodeJS.ProcessEnv,
  secretsManager: SecretsManagerClient,
  options: { ttlMs?: number; now?: () => number } = {},
): CredentialsProvider {
  if (env[CLIENT_ID_ENV]?.trim() && env[CLIENT_SECRET_ENV]?.trim()) {
    const credentials = credentialsFromEnv(env);
    return () => Promise.resolve(credentials);
  }
  const half = [CLIENT_ID_ENV, CLIENT_SECRET_ENV].filter((name) => env[name]?.trim());
  if (half.length > 0) {
    logger.warn('only one of the local iBinder credential variables is set; using the Secrets Manager secret instead', {
      set: half,
      secretName: config.credentialsSecretName,
    });
  }
  return createCredentialsProvider({ secretName: config.credentialsSecretName, secretsManager, ...options });
}
