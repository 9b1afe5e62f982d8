import { describe, expect, it } from 'vitest';
import { CONNECTOR_RECORD_CAPS, recordsInFlight, UNKNOWN_CONNECTOR_RECORD_CAP } from '../../functions/ingest/connector-concurrency.js';
import { PipelineConfigSchema } from '../../shared/config/runtime.js';

describe('recordsInFlight', () => {
  it("takes the setting up to the connector's cap, and never less than one", () => {
    expect(recordsInFlight(4, 'ibinder')).toBe(4);
    expect(recordsInFlight(100, 'ibinder')).toBe(CONNECTOR_RECORD_CAPS.ibinder);
    expect(recordsInFlight(100, 'bynder')).toBe(CONNECTOR_RECORD_CAPS.bynder);
    expect(recordsInFlight(0, 'ibinder')).toBe(1);
  });

  it('gives a connector it does not know the most cautious cap', () => {
    expect(UNKNOWN_CONNECTOR_RECORD_CAP).toBe(Math.min(...Object.values(CONNECTOR_RECORD_CAPS)));
    expect(recordsInFlight(100, 'another-system')).toBe(UNKNOWN_CONNECTOR_RECORD_CAP);
  });

  it("defaults the setting to the batch size of 10, all of which iBinder's cap lets run at once", () => {
    const config = PipelineConfigSchema.parse({
      environment: 'test',
      tenantId: 't',
      apiBaseUrl: 'https://api.example.test/api',
      tokenUrl: 'https://signin.example.test/connect/token',
      credentialsSecretName: 's',
    });
    expect(config.recordConcurrency).toBe(10);
    expect(recordsInFlight(config.recordConcurrency, 'ibinder')).toBe(10);
  });
});
