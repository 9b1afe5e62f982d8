/**
 * `check` chooses the file's connector as the ingest does, from the config alone, and asks only
 * that system: a `bynder:` file never builds the iBinder client, an `ibinder:` file never the
 * Bynder connector, and a refused choice (tags of two systems) asks neither. The Bynder answer is
 * rendered with its brand, its asset (new or new version) and the options a problem is about.
 */
import { describe, expect, it } from 'vitest';
import { type BynderCheckResult, checkBynderIngest } from '../../shared/connectors/bynder/index.js';
import { checkObject, type ObjectCheckSystems } from '../../cli/object-check.js';
import { renderObjectCheck } from '../../cli/render-check.js';
import { PipelineConfigSchema } from '../../shared/config/runtime.js';
import type { BynderMetaproperty } from '../../shared/connectors/bynder/index.js';
import type { Assessment } from '../../shared/connectors/types.js';

const config = PipelineConfigSchema.parse({
  environment: 'test',
  tenantId: '5f0c2a7e-3b1d-4c8e-9a6f-2d4b7e1c0a93',
  apiBaseUrl: 'https://api.example.test',
  tokenUrl: 'https://auth.example.test/token',
  credentialsSecretName: 'ibinder',
  bynder: { portalUrl: 'https://portal.example.test', credentialsSecretName: 'bynder' },
});

const REGION: BynderMetaproperty = {
  id: 'MP-REGION',
  name: 'region',
  label: 'Sales region',
  isMultiselect: false,
  isRequired: true,
  type: 'select',
  options: [
    { id: 'OPT-N', name: 'nordics', label: 'Nordics' },
    { id: 'OPT-UK', name: 'uk', label: 'UK' },
  ],
};

/** Systems that record which one was asked for; the Bynder connector answers `assessment`. */
function systems(assessment: Assessment): ObjectCheckSystems & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    ibinder: () => {
      asked.push('ibinder');
      throw new Error('the iBinder client was built for a file that does not go to iBinder');
    },
    bynder: async () => {
      asked.push('bynder');
      const connector = { assess: async () => assessment, metaproperties: async () => [REGION] };
      return { check: (request) => checkBynderIngest({ ...request, connector }) };
    },
  };
}

const input = (tags: Record<string, string>) => ({
  key: 'inbox/marketing/terrace.jpg',
  tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  sizeBytes: 10,
  config,
  now: new Date('2026-01-01T00:00:00Z'),
  tagsNotYetWritten: true,
});

describe('checkObject', () => {
  it('asks the Bynder connector alone for a bynder: file, and maps the plan to names and ids', async () => {
    const sys = systems({
      kind: 'accept',
      plan: {
        connector: 'bynder',
        fileName: 'terrace.jpg',
        target: { brandId: 'BR-1' },
        labels: { brandName: 'Harbour Living' },
        metadata: [{ id: 'MP-REGION', value: 'OPT-N' }],
        options: { name: 'Terrace', tags: JSON.stringify(['terrace']) },
      },
      target: { connector: 'bynder', ids: { brandId: 'BR-1' }, labels: { brandName: 'Harbour Living' }, source: { kind: 'tags' } },
    });
    const result = await checkObject(input({ 'bynder:brand': 'Harbour Living', 'bynder:meta:region': 'Nordics' }), sys);
    expect(sys.asked).toEqual(['bynder']);
    expect(result).toMatchObject({
      connector: 'bynder',
      accepted: true,
      brand: { id: 'BR-1', name: 'Harbour Living' },
      asset: { name: 'Terrace', tags: ['terrace'] },
      metaproperties: [{ id: 'MP-REGION', name: 'region', optionIds: ['OPT-N'], options: ['nordics'] }],
    });
  });

  it('lists the options of the metaproperty a problem names, and renders them', async () => {
    const sys = systems({
      kind: 'reject',
      cause: 'invalid-request',
      problems: [{ code: 'metadata', field: 'bynder:meta:region', message: '"Scandinavia" is not an option', fix: 'use nordics or uk' }],
      target: { connector: 'bynder', ids: { brandId: 'BR-1' }, labels: { brandName: 'Harbour Living' }, source: { kind: 'tags' } },
    });
    const result = (await checkObject(
      input({ 'bynder:brand': 'Harbour Living', 'bynder:meta:region': 'Scandinavia' }),
      sys,
    )) as BynderCheckResult;
    expect(result.accepted).toBe(false);
    expect(result.allowedOptions).toEqual([
      {
        metaproperty: { id: 'MP-REGION', name: 'region', label: 'Sales region' },
        selection: 'single-select',
        required: true,
        options: [
          { id: 'OPT-N', name: 'nordics', label: 'Nordics' },
          { id: 'OPT-UK', name: 'uk', label: 'UK' },
        ],
      },
    ]);
    const text = renderObjectCheck(result, './terrace.jpg').join('\n');
    expect(text).toContain('REJECTED  ./terrace.jpg would be rejected by the Bynder connector: 1 problem(s)');
    expect(text).toContain("brand     Harbour Living (id BR-1) (from the object's bynder:brand tag)");
    expect(text).toContain('1. bynder:meta:region: "Scandinavia" is not an option');
    expect(text).toContain('allowed options of region (single-select, required): nordics, uk');
  });

  it('adds S3 tag rules and the key check to the Bynder problems', async () => {
    const sys = systems({
      kind: 'accept',
      plan: { connector: 'bynder', fileName: 'terrace.jpg', target: { brandId: 'BR-1', mediaId: 'M-1' }, metadata: [] },
      target: { connector: 'bynder', ids: { brandId: 'BR-1', mediaId: 'M-1' }, labels: { assetName: 'Terrace' } },
    });
    const result = await checkObject({ ...input({ 'bynder:asset': 'M-1', 'bynder:tags': 'a,b' }), key: 'outside/terrace.jpg' }, sys);
    expect(result.accepted).toBe(false);
    expect(result.problems.map((p) => p.field)).toEqual(expect.arrayContaining(['key']));
    expect(result).toMatchObject({ newVersionOf: { id: 'M-1', name: 'Terrace' } });
    expect(renderObjectCheck(result, 'x').join('\n')).toContain('asset     new version of asset M-1 "Terrace"');
  });

  it('asks no system when the tags name two systems', async () => {
    const sys = systems({ kind: 'reject', cause: 'unused', problems: [] });
    const result = await checkObject(input({ 'bynder:brand': 'Harbour Living', 'ibinder:binder': 'PRJ0001AB' }), sys);
    expect(sys.asked).toEqual([]);
    expect(result).toMatchObject({ connector: 'ibinder', accepted: false });
    expect(result.problems[0]?.message).toContain('tags of two systems');
  });
});
