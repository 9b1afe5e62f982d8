import { describe, expect, it } from 'vitest';
import { connectorRecordsInFlight, connectorSlots, recordsInFlight } from '../../functions/ingest/connector-concurrency.js';
import { PipelineConfigSchema } from '../../shared/config/runtime.js';
import { IBINDER_MAX_CONCURRENT_RECORDS } from '../../shared/connectors/ibinder/index.js';

const IBINDER = { name: 'ibinder' as const, maxConcurrentRecords: IBINDER_MAX_CONCURRENT_RECORDS };
const BYNDER = { name: 'bynder' as const, maxConcurrentRecords: 4 };

describe('recordsInFlight', () => {
  it('is the setting, at most the largest connector cap, and never below 1', () => {
    expect(recordsInFlight(4, [IBINDER])).toBe(4);
    expect(recordsInFlight(100, [IBINDER])).toBe(IBINDER_MAX_CONCURRENT_RECORDS);
    expect(recordsInFlight(100, [BYNDER])).toBe(4);
    expect(recordsInFlight(100, [IBINDER, BYNDER])).toBe(IBINDER_MAX_CONCURRENT_RECORDS);
    expect(recordsInFlight(0, [IBINDER])).toBe(1);
  });

  it("bounds each connector by its own cap (the connector's maxConcurrentRecords)", () => {
    expect(connectorRecordsInFlight(100, BYNDER)).toBe(4);
    expect(connectorRecordsInFlight(3, BYNDER)).toBe(3);
    expect(connectorRecordsInFlight(100, IBINDER)).toBe(10);
  });

  it('runs no more records of one connector at once than its cap, while another connector runs beside it', async () => {
    const run = connectorSlots(10, [IBINDER, BYNDER]);
    const inFlight = { ibinder: 0, bynder: 0 };
    const most = { ibinder: 0, bynder: 0 };
    const work = (name: 'ibinder' | 'bynder') =>
      run(name, async () => {
        inFlight[name] += 1;
        most[name] = Math.max(most[name], inFlight[name]);
        for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
        inFlight[name] -= 1;
      });
    await Promise.all([...Array.from({ length: 12 }, () => work('bynder')), ...Array.from({ length: 12 }, () => work('ibinder'))]);
    expect(most).toEqual({ ibinder: 10, bynder: 4 });
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
    expect(recordsInFlight(config.recordConcurrency, [IBINDER])).toBe(10);
  });
});
