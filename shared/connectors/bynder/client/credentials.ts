/**
 * Where the Bynder credentials come from: a Secrets Manager secret holding either
 * `{"clientId": "...", "clientSecret": "..."}` (OAuth client credentials) or
 * `{"permanentToken": "..."}` (a permanent token, which carries its issuing user's rights).
 *
 * Read on first use and kept for a TTL, like the iBinder secret (shared/credentials.ts), so a
 * warm Lambda does not call Secrets Manager per record yet picks up a rotation within minutes.
 * Errors name the secret and the fields, never a value.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CredentialsError, cachedSecretReader } from '../../../credentials.js';
import * as z from '../../../validation/zod.js';
import { lazySchema } from '../../../validation/lazy-schema.js';
import type { BynderCredentials, BynderCredentialsProvider } from './types.js';

const nonEmpty = () => z.string().check(z.trim(), z.minLength(1));

const ClientCredentialsShape = lazySchema(() => z.object({ clientId: nonEmpty(), clientSecret: nonEmpty() }));
const PermanentTokenShape = lazySchema(() => z.object({ permanentToken: nonEmpty() }));

const EXPECTED = 'expected JSON {"clientId": "...", "clientSecret": "..."} or {"permanentToken": "..."}';

/** Validates the secret's JSON; client credentials win when both forms are present. */
export function parseBynderSecret(secretName: string, secretString: string | undefined): BynderCredentials {
  if (secretString === undefined || secretString === '') {
    throw new CredentialsError(`Secrets Manager secret "${secretName}" has no string value: ${EXPECTED}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    // JSON.parse quotes the input in its message: that would be the secret.
    throw new CredentialsError(`Secrets Manager secret "${secretName}" is not valid JSON: ${EXPECTED}`);
  }
  const client = ClientCredentialsShape.safeParse(json);
  if (client.success) return client.data;
  const permanent = PermanentTokenShape.safeParse(json);
  if (permanent.success) return permanent.data;
  const present =
    typeof json === 'object' && json !== null
      ? Object.keys(json)
          .filter((k) => k.length <= 40)
          .slice(0, 10)
      : [];
  throw new CredentialsError(
    `Secrets Manager secret "${secretName}" has neither a non-empty clientId and clientSecret nor a non-empty permanentToken ` +
      `(fields present: ${present.length > 0 ? present.join(', ') : 'none'}): ${EXPECTED}`,
  );
}

export interface BynderSecretOptions {
  secretName: string;
  secretsManager: SecretsManagerClient;
  /** How long a fetched secret is used before it is read again. Default 5 minutes. */
  ttlMs?: number | undefined;
  now?: (() => number) | undefined;
}

/** A provider that reads the secret on first use and serves it for `ttlMs`; concurrent callers share one read. */
export function createBynderCredentialsProvider(options: BynderSecretOptions): BynderCredentialsProvider {
  return cachedSecretReader(options, parseBynderSecret);
}
