import { describe, expect, it } from 'vitest';
import type { BynderMetaproperty } from '../../shared/connectors/bynder/client/types.js';
import {
  type MetadataEntry,
  validateAssetName,
  validateFileName,
  validateMetadata,
  validateSize,
} from '../../shared/connectors/bynder/validate.js';
import { selectProperty } from '../helpers/fake-bynder.js';

const COLOURS = selectProperty(
  'mp-col',
  'Colours',
  [
    ['o-red', 'red', 'Red'],
    ['o-blue', 'blue', 'Blue'],
    ['o-aplus', 'A+'],
  ],
  { multi: true },
);
const REGION = selectProperty(
  'mp-reg',
  'Region',
  [
    ['o-eu', 'europe', 'Europe'],
    ['o-us', 'usa', 'United States'],
  ],
  { required: true, label: 'Sales region' },
);
const CAPTION: BynderMetaproperty = { id: 'mp-cap', name: 'Caption', isMultiselect: false, isRequired: false, type: 'text', options: [] };
const PORTAL = [COLOURS, REGION, CAPTION];

function tag(metaproperty: string, value: string): MetadataEntry {
  return { field: `bynder:meta:${metaproperty}`, metaproperty, value, values: value.split(',').map((v) => v.trim()) };
}

describe('validateMetadata', () => {
  it('maps metaproperty and option names, labels and ids to ids, NFC and without case, tags over rule', () => {
    const result = validateMetadata({
      tags: [tag('colours', 'RED + o-blue'), tag('Sales region', 'United States'), tag('mp-cap', 'Sunset, 2026')],
      rule: [{ field: 'bynder.routingRules[prefix="a/"].metadata.Region', metaproperty: 'Region', value: 'nowhere', values: ['nowhere'] }],
      metaproperties: PORTAL,
      checkRequired: true,
    });
    expect(result.problems).toEqual([]);
    expect(result.metadata).toEqual([
      { id: 'mp-col', value: 'o-red,o-blue' },
      { id: 'mp-reg', value: 'o-us' },
      { id: 'mp-cap', value: 'Sunset, 2026' },
    ]);
  });

  it('keeps an option whose own name holds a "+" whole', () => {
    const result = validateMetadata({ tags: [tag('Colours', 'A+')], rule: [], metaproperties: [COLOURS], checkRequired: true });
    expect(result).toEqual({ problems: [], metadata: [{ id: 'mp-col', value: 'o-aplus' }] });
  });

  it('counts the rule metadata for required metaproperties', () => {
    const result = validateMetadata({
      tags: [],
      rule: [{ field: 'bynder.routingRules[prefix="a/"].metadata.Region', metaproperty: 'Region', value: 'europe', values: ['europe'] }],
      metaproperties: PORTAL,
      checkRequired: true,
    });
    expect(result).toEqual({ problems: [], metadata: [{ id: 'mp-reg', value: 'o-eu' }] });
  });

  it('reports an unknown metaproperty with the portal list, naming the tag key and value', () => {
    const { problems } = validateMetadata({ tags: [tag('Colour', 'red')], rule: [], metaproperties: PORTAL, checkRequired: false });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'metadata', field: 'bynder:meta:Colour' });
    expect(problems[0]?.message).toContain('"Colour" (given "red") is not a metaproperty');
    expect(problems[0]?.fix).toContain('Colours (mp-col)');
  });

  it('reports an unknown option with the allowed options, and keeps the known ones out of the commit', () => {
    const { problems, metadata } = validateMetadata({
      tags: [tag('Colours', 'red+green')],
      rule: [],
      metaproperties: PORTAL,
      checkRequired: false,
    });
    expect(metadata).toEqual([]);
    expect(problems[0]?.field).toBe('bynder:meta:Colours');
    expect(problems[0]?.message).toContain('"green" is not an option of "Colours"');
    expect(problems[0]?.fix).toContain('red "Red" (o-red), blue "Blue" (o-blue), A+ (o-aplus)');
  });

  it('reports several options on a single-select', () => {
    const { problems } = validateMetadata({ tags: [tag('Region', 'europe+usa')], rule: [], metaproperties: PORTAL, checkRequired: true });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain('gives 2 options, but "Region" "Sales region" (id mp-reg) takes only one (it is single-select)');
    expect(problems[0]?.fix).toContain('europe "Europe" (o-eu)');
  });

  it('reports a required metaproperty missing with its options and where to give it', () => {
    const { problems } = validateMetadata({
      tags: [],
      rule: [],
      metaproperties: PORTAL,
      checkRequired: true,
      ruleField: 'bynder.routingRules[prefix="a/"].metadata',
    });
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'metadata',
        field: 'bynder:meta:Region',
        message: expect.stringContaining('is required in this portal but has no value'),
        fix: expect.stringContaining('bynder.routingRules[prefix="a/"].metadata'),
      }),
    ]);
    expect(validateMetadata({ tags: [], rule: [], metaproperties: PORTAL, checkRequired: false }).problems).toEqual([]);
  });

  it("reports a bad rule value under the rule's field", () => {
    const { problems } = validateMetadata({
      tags: [],
      rule: [{ field: 'bynder.routingRules[prefix="a/"].metadata.Region', metaproperty: 'Region', value: 'mars', values: ['mars'] }],
      metaproperties: PORTAL,
      checkRequired: true,
    });
    expect(problems.map((p) => p.field)).toEqual(['bynder.routingRules[prefix="a/"].metadata.Region']);
  });
});

describe('file checks', () => {
  it('refuses an empty or unusable file name, asset name and size', () => {
    expect(validateFileName('', 'key')[0]?.code).toBe('file-name');
    expect(validateFileName('a\u0001.pdf', 'key')[0]?.message).toContain('control characters');
    expect(validateFileName('x'.repeat(256), 'key')[0]?.message).toContain('256 characters');
    expect(validateAssetName(' ', 'bynder:name')[0]).toMatchObject({ field: 'bynder:name', fix: expect.stringContaining('bynder:name') });
    expect(validateSize(0)[0]?.code).toBe('empty-file');
    expect(validateSize(11, 10)[0]?.code).toBe('too-large');
    expect(validateSize(10, 10)).toEqual([]);
  });
});
