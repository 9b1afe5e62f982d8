/** `check` chooses the file's connector as the ingest does, before it reads any system. */
import { describe, expect, it } from 'vitest';
import { checkIngest } from '../../cli/ingest-check.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, makeConfig } from '../helpers/ingest-factories.js';

const NOW = new Date('2025-01-15T09:00:00Z');

describe('checkIngest: the connector choice', () => {
  it('rejects an object tagged for two systems without a lookup, naming both keys', async () => {
    const client = new FakeIBinderClient(BINDERS);
    const result = await checkIngest({
      key: 'inbox/a.pdf',
      tags: [
        { Key: 'ibinder:binder', Value: BINDER_ID },
        { Key: 'bynder:brand', Value: 'Acme' },
      ],
      sizeBytes: 10,
      config: makeConfig(),
      client,
      now: NOW,
      tagsNotYetWritten: false,
    });
    expect(result.accepted).toBe(false);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'tags', field: 'ibinder:binder, bynder:brand' })]);
    expect(client.callCount('getMetadataElements')).toBe(0);
  });

  it('still assesses an iBinder file as the ingest does', async () => {
    const result = await checkIngest({
      key: 'inbox/a.pdf',
      tags: [
        { Key: 'ibinder:binder', Value: BINDER_ID },
        { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
        { Key: 'ibinder:meta:discipline', Value: 'Structural' },
      ],
      sizeBytes: 10,
      config: makeConfig(),
      client: new FakeIBinderClient(BINDERS),
      now: NOW,
      tagsNotYetWritten: false,
    });
    expect(result).toMatchObject({ accepted: true, target: { binderId: BINDER_ID } });
  });
});
