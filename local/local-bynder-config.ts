/**
 * The `bynder` block of the local environment: the Bynder emulator's portal and token URLs, a
 * secret name that is never read (the credentials are handed in, see local-credentials.ts), and
 * a request budget that does not slow a demo down (the emulator is no shared portal). Validated
 * by the connector's own schema, so a wrong override fails with the field's name.
 */
import { BynderConfigSchema, type BynderConfig, type BynderConfigInput } from '../shared/connectors/bynder/index.js';
import type { LocalServices } from './services.js';

export function localBynderConfig(services: Pick<LocalServices, 'bynder'>, overrides: Partial<BynderConfigInput> = {}): BynderConfig {
  return BynderConfigSchema.parse({
    portalUrl: services.bynder.url,
    tokenUrl: services.bynder.tokenUrl,
    credentialsSecretName: 'local/bynder-credentials',
    requestsPerSecond: 200,
    ...overrides,
  } satisfies BynderConfigInput);
}
