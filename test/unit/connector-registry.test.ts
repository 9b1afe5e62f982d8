/**
 * The registry: which connectors an environment configures (iBinder always, Bynder through the
 * injected factory) and which connector a file goes to (tag namespace > longest routing prefix
 * over all connectors > a default target > iBinder).
 */
import { describe, expect, it } from 'vitest';
import { assessObject, chooseConnector, configuredConnectors, ConnectorConfigError } from '../../shared/connectors/registry.js';
import type { Assessment, IngestConnector } from '../../shared/connectors/types.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDERS, makeConfig } from '../helpers/ingest-factories.js';

/** A connector that only answers the questions the choice asks. */
function stubConnector(fields: Partial<IngestConnector> & Pick<IngestConnector, 'name'>): IngestConnector {
  return {
    tagNamespace: `${fields.name}:`,
    routingPrefixes: [],
    hasDefaultTarget: false,
    maxConcurrentRecords: 1,
    assess: async (): Promise<Assessment> => ({ kind: 'reject', cause: 'stub', problems: [] }),
    destination: {} as IngestConnector['destination'],
    classify: () => ({ kind: 'transient', reason: 'stub' }),
    describePlan: () => ({}),
    ...fields,
  };
}

const ibinder = stubConnector({ name: 'ibinder', routingPrefixes: ['inbox/', 'inbox/projects/'] });
const bynder = stubConnector({ name: 'bynder', routingPrefixes: ['inbox/projects/marketing/'] });

describe('chooseConnector', () => {
  it('follows the tag namespace first, whatever the routing rules say (a case slip still names the system)', () => {
    const tags = [{ Key: 'bynder:brand', Value: 'Acme' }];
    expect(chooseConnector('inbox/projects/x.pdf', tags, [ibinder, bynder])).toMatchObject({
      kind: 'chosen',
      connector: bynder,
      by: { kind: 'tags' },
    });
    expect(chooseConnector('inbox/projects/marketing/x.pdf', [{ Key: 'IBinder:binder', Value: 'B' }], [ibinder, bynder])).toMatchObject({
      kind: 'chosen',
      connector: ibinder,
    });
  });

  it('rejects an object tagged for two systems, naming both keys and the fix', () => {
    const choice = chooseConnector(
      'inbox/x.pdf',
      [
        { Key: 'ibinder:binder', Value: 'B' },
        { Key: 'bynder:brand', Value: 'Acme' },
      ],
      [ibinder, bynder],
    );
    if (choice.kind !== 'reject') throw new Error(`expected a rejection, got ${choice.kind}`);
    expect(choice.rejection.cause).toBe('mixed-namespaces');
    expect(choice.rejection.problems).toEqual([
      expect.objectContaining({
        code: 'tags',
        field: 'ibinder:binder, bynder:brand',
        message: expect.stringContaining('ibinder:binder and bynder:brand'),
        fix: expect.stringContaining('remove the others'),
      }),
    ]);
  });

  it('rejects tags of a system the environment does not configure', () => {
    const choice = chooseConnector('inbox/x.pdf', [{ Key: 'bynder:brand', Value: 'Acme' }], [ibinder]);
    expect(choice).toMatchObject({
      kind: 'reject',
      rejection: { cause: 'connector-not-configured', problems: [{ field: 'bynder:brand' }] },
    });
  });

  it('takes the longest routing prefix over every connector, then a default target, then iBinder', () => {
    expect(chooseConnector('inbox/projects/marketing/x.pdf', [], [ibinder, bynder])).toMatchObject({
      connector: bynder,
      by: { kind: 'rule', prefix: 'inbox/projects/marketing/' },
    });
    expect(chooseConnector('inbox/projects/x.pdf', [], [ibinder, bynder])).toMatchObject({
      connector: ibinder,
      by: { kind: 'rule', prefix: 'inbox/projects/' },
    });
    const plainIBinder = stubConnector({ name: 'ibinder' });
    const bynderWithDefault = stubConnector({ name: 'bynder', hasDefaultTarget: true });
    expect(chooseConnector('elsewhere/x.pdf', [], [plainIBinder, bynderWithDefault])).toMatchObject({
      connector: bynderWithDefault,
      by: { kind: 'default' },
    });
    expect(chooseConnector('elsewhere/x.pdf', [], [plainIBinder, stubConnector({ name: 'bynder' })])).toMatchObject({
      connector: plainIBinder,
      by: { kind: 'fallback' },
    });
  });

  it("hands the chosen connector's assessment back, and the choice's rejection without asking any system", async () => {
    let asked = 0;
    const counting = stubConnector({
      name: 'ibinder',
      assess: async () => {
        asked += 1;
        return { kind: 'reject', cause: 'stub', problems: [] };
      },
    });
    const input = { key: 'inbox/x.pdf', sizeBytes: 1, now: new Date() };
    expect(await assessObject({ ...input, tags: [] }, [counting, bynder])).toMatchObject({
      connector: counting,
      assessment: { cause: 'stub' },
    });
    const mixed = [
      { Key: 'ibinder:binder', Value: 'B' },
      { Key: 'bynder:brand', Value: 'A' },
    ];
    expect(await assessObject({ ...input, tags: mixed }, [counting, bynder])).toMatchObject({ assessment: { cause: 'mixed-namespaces' } });
    expect(asked).toBe(1);
  });
});

describe('configuredConnectors', () => {
  const client = new FakeIBinderClient(BINDERS);

  it('configures iBinder from its client, with the routing prefixes and default of the environment', () => {
    const config = makeConfig({ routingRules: [{ prefix: 'inbox/scans/', target: { binderId: 'BndrAAAA1', folderPath: 'Scans' } }] });
    const [only, ...rest] = configuredConnectors({ config, ibinder: { client } });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ name: 'ibinder', tagNamespace: 'ibinder:', routingPrefixes: ['inbox/scans/'], maxConcurrentRecords: 10 });
  });

  it('builds Bynder through the injected factory when the environment configures it, and refuses without one', () => {
    const config = makeConfig({ bynder: { portalUrl: 'https://example.bynder.com', credentialsSecretName: 'bynder-secret' } });
    expect(() => configuredConnectors({ config, ibinder: { client } })).toThrow(ConnectorConfigError);
    expect(() => configuredConnectors({ config, ibinder: { client } })).toThrow(/bynderConnectorFactory/);
    const seen: string[] = [];
    const connectors = configuredConnectors({
      config,
      ibinder: { client },
      bynderConnectorFactory: (bynderConfig) => {
        seen.push(bynderConfig.portalUrl);
        return stubConnector({ name: 'bynder' });
      },
    });
    expect(connectors.map((c) => c.name)).toEqual(['ibinder', 'bynder']);
    expect(seen).toEqual(['https://example.bynder.com']);
  });
});
