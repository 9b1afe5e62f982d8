/**
 * iBinder credentials for the local stack: the emulator's client id and secret, passed
 * in-process through the same `IBINDER_CLIENT_ID` / `IBINDER_CLIENT_SECRET` reading the
 * functions use locally — but from a private environment object, never `process.env`, never
 * printed, and never a Secrets Manager call.
 */
import { CLIENT_ID_ENV, CLIENT_SECRET_ENV, credentialsFromEnv, type CredentialsProvider } from '../shared/credentials.js';
import type { Emulator } from '../emulator/types.js';
import type { BynderEmulator } from '../emulator/bynder/types.js';
import type { BynderCredentialsProvider } from '../shared/connectors/bynder/index.js';

export function emulatorCredentials(emulator: Pick<Emulator, 'clientId' | 'clientSecret'>): CredentialsProvider {
  const credentials = credentialsFromEnv({ [CLIENT_ID_ENV]: emulator.clientId, [CLIENT_SECRET_ENV]: emulator.clientSecret });
  return () => Promise.resolve(credentials);
}

/** The Bynder emulator's client credentials, handed in the same way (never a Secrets Manager call). */
export function bynderEmulatorCredentials(bynder: Pick<BynderEmulator, 'clientId' | 'clientSecret'>): BynderCredentialsProvider {
  const credentials = { clientId: bynder.clientId, clientSecret: bynder.clientSecret };
  return () => Promise.resolve(credentials);
}
