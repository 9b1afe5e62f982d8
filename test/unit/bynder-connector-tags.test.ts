import { describe, expect, it } from 'vitest';
import { BynderTagConventionError, buildBynderTags, parseBynderTags, splitList } from '../../shared/connectors/bynder/tags.js';

describe('parseBynderTags', () => {
  it('reads every key of the convention, in NFC and trimmed, and leaves other tags alone', () => {
    const { tags, problems } = parseBynderTags([
      { Key: 'bynder:brand', Value: ' Marketing ' },
      { Key: 'bynder:name', Value: 'A\u030Arsta hero' },
      { Key: 'bynder:description', Value: 'Spring' },
      { Key: 'bynder:tags', Value: 'spring + hero,,spring' },
      { Key: 'bynder:asset', Value: 'ABCDEF01-0000-1111-2222333344445555' },
      { Key: 'bynder:meta:Colours', Value: 'Red, Blue+Green' },
      { Key: 'producer', Value: 'erp' },
    ]);
    expect(problems).toEqual([]);
    expect(tags).toMatchObject({
      present: true,
      brand: 'Marketing',
      name: '\u00C5rsta hero',
      description: 'Spring',
      tags: ['spring', 'hero'],
      assetId: 'ABCDEF01-0000-1111-2222333344445555',
    });
    expect(tags.metadata).toEqual([
      { field: 'bynder:meta:Colours', metaproperty: 'Colours', value: 'Red, Blue+Green', values: ['Red', 'Blue+Green'] },
    ]);
  });

  it('reports unknown bynder: keys, wrong case, empty values, a nameless meta tag, a malformed asset id and a repeated metaproperty', () => {
    const { problems, tags } = parseBynderTags([
      { Key: 'bynder:colour', Value: 'red' },
      { Key: 'Bynder:brand', Value: 'x' },
      { Key: 'bynder:name', Value: '  ' },
      { Key: 'bynder:meta:', Value: 'x' },
      { Key: 'bynder:meta:Size', Value: ' , ' },
      { Key: 'bynder:asset', Value: 'not an id!' },
      { Key: 'bynder:meta:Colours', Value: 'Red' },
      { Key: 'bynder:meta:colours', Value: 'Blue' },
    ]);
    expect(tags.present).toBe(true);
    const byField = Object.fromEntries(problems.map((p) => [p.field, p]));
    expect(byField['bynder:colour']?.message).toContain('not part of the Bynder ingest tag convention');
    expect(byField['Bynder:brand']?.fix).toContain('"bynder:brand"');
    expect(byField['bynder:name']?.message).toContain('empty value');
    expect(byField['bynder:meta:']?.message).toContain('names no metaproperty');
    expect(byField['bynder:meta:Size']?.message).toContain('empty value');
    expect(byField['bynder:asset']?.message).toContain('"not an id!" is not a Bynder asset id');
    expect(byField['bynder:meta:colours']?.message).toContain('name the same metaproperty');
    expect(problems.every((p) => p.code === 'tags' && p.fix.length > 0)).toBe(true);
  });

  it('says an object without bynder: tags has none', () => {
    expect(parseBynderTags([{ Key: 'ibinder:binder', Value: 'x' }]).tags.present).toBe(false);
  });

  it('splits lists keeping the first spelling of each item', () => {
    expect(splitList(' a ,b,, a,c ')).toEqual(['a', 'b', 'c']);
    expect(splitList('a + b', /[,+]/)).toEqual(['a', 'b']);
  });
});

describe('buildBynderTags', () => {
  it('builds a tag set the parser reads back', () => {
    const tags = buildBynderTags({
      brand: 'B1',
      name: 'hero',
      tags: ['a', 'b'],
      metadata: { Colours: ['red', 'blue'] },
      extra: { producer: 'erp' },
    });
    expect(tags).toEqual([
      { Key: 'bynder:brand', Value: 'B1' },
      { Key: 'bynder:name', Value: 'hero' },
      { Key: 'bynder:tags', Value: 'a+b' },
      { Key: 'bynder:meta:Colours', Value: 'red+blue' },
      { Key: 'producer', Value: 'erp' },
    ]);
    expect(parseBynderTags(tags).problems).toEqual([]);
  });

  it("refuses S3's limits and the convention's mistakes at once", () => {
    const metadata = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`M${i}`, 'x']));
    let error: unknown;
    try {
      buildBynderTags({ brand: 'B1', name: 'hero#1', metadata });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BynderTagConventionError);
    const messages = (error as BynderTagConventionError).problems.map((p) => p.message).join('\n');
    expect(messages).toContain('S3 allows at most 10');
    expect(messages).toContain('characters S3 does not allow');
  });
});
