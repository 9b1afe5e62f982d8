/**
 * The PipelineConfig of the local environment: the emulator's tenant and URLs, no default
 * target (so that an untagged file shows the grace period and then the rejection), and the
 * same defaults as a deployed environment otherwise. Validated by the same schema as cdk.json
 * entries, so a wrong override fails with the field's name.
 */
import { PipelineConfigSchema, type PipelineConfig, type PipelineConfigInput } from '../shared/config/runtime.js';
import type { LocalServices } from './services.js';

export function localPipelineConfig(
  services: Pick<LocalServices, 'emulator'>,
  overrides: Partial<PipelineConfigInput> = {},
): PipelineConfig {
  return PipelineConfigSchema.parse({
    environment: 'local',
    tenantId: services.emulator.tenantId,
    apiBaseUrl: services.emulator.apiBaseUrl,
    tokenUrl: services.emulator.tokenUrl,
    // Never read locally: the credentials are handed in (see local-credentials.ts).
    credentialsSecretName: 'local/ibinder-credentials',
    // Shorter than the local queues' 120 s visibility timeout, as the stack keeps the lease
    // shorter than its visibility timeout: a message redriven from the dead-letter list must
    // find the claim expired, not "busy" until it is dead-lettered again.
    claimLeaseSeconds: 90,
    ...overrides,
  } satisfies PipelineConfigInput);
}
