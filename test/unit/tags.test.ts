import { describe, expect, it } from 'vitest';
import { buildIngestTags, parseIngestTags, TagConventionError } from '../../shared/connectors/ibinder/tags.js';
import { checkS3TagSet, toTaggingHeader, withDispositionTags } from '../../shared/s3/tags.js';

describe('parseIngestTags', () => {
  it('reads every key of the convention', () => {
    const { tags, problems } = parseIngestTags([
      { Key: 'ibinder:binder', Value: 'BndrAAAA1' },
      { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
      { Key: 'ibinder:filename', Value: 'plan.pdf' },
      { Key: 'ibinder:version', Value: 'B' },
      { Key: 'ibinder:meta:discipline', Value: 'd-struct' },
      { Key: 'ibinder:meta:note', Value: ' trimmed ' },
      { Key: 'producer', Value: 'scanner-3' },
    ]);
    expect(problems).toEqual([]);
    expect(tags).toEqual({
      binderId: 'BndrAAAA1',
      folderPath: 'Drawings/Structural',
      fileName: 'plan.pdf',
      version: 'B',
      metadata: { discipline: 'd-struct', note: 'trimmed' },
      present: true,
    });
    expect(parseIngestTags([{ Key: 'ibinder:folder', Value: '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60' }]).tags.folderId).toBe(
      '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60',
    );
  });

  it('ignores tags outside the ibinder: prefix and says when there are no ingest tags', () => {
    const { tags, problems } = parseIngestTags([{ Key: 'owner', Value: 'erp' }]);
    expect(problems).toEqual([]);
    expect(tags.present).toBe(false);
  });

  it('reports unknown ibinder: keys and keys with the wrong case', () => {
    const { tags, problems } = parseIngestTags([
      { Key: 'ibinder:bindr', Value: 'x' },
      { Key: 'IBinder:binder', Value: 'x' },
      { Key: 'ibinder:Folder', Value: 'x' },
    ]);
    expect(tags.present).toBe(true);
    expect(problems.map((p) => p.field)).toEqual(['ibinder:bindr', 'IBinder:binder', 'ibinder:Folder']);
    expect(problems.every((p) => p.code === 'tags')).toBe(true);
    expect(problems[1]?.fix).toContain('"ibinder:binder"');
    expect(problems[2]?.fix).toMatch(/case-sensitive/);
  });

  it('reports both folder forms at once, empty values and a meta key without element id', () => {
    const { problems } = parseIngestTags([
      { Key: 'ibinder:folder', Value: '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60' },
      { Key: 'ibinder:folder-path', Value: 'Drawings' },
      { Key: 'ibinder:version', Value: '  ' },
      { Key: 'ibinder:meta:', Value: 'x' },
    ]);
    expect(problems.map((p) => p.field)).toEqual(['ibinder:version', 'ibinder:meta:', 'ibinder:folder, ibinder:folder-path']);
    expect(problems[2]?.message).toMatch(/ambiguous/);
  });
});

describe('parseIngestTags: id formats and Unicode', () => {
  it('reports a binder id that is not a 9-character NanoId and a folder id that is not a GUID, as malformed ids', () => {
    const { problems, malformedIds } = parseIngestTags([
      { Key: 'ibinder:binder', Value: 'PRJ-1' },
      { Key: 'ibinder:folder', Value: '{0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60}' },
    ]);
    expect(malformedIds).toEqual(['ibinder:binder', 'ibinder:folder']);
    expect(problems.map((p) => `${p.code}:${p.field}`)).toEqual(['tags:ibinder:binder', 'tags:ibinder:folder']);
    expect(problems[0]?.message).toContain('"PRJ-1" is not a binder id');
    expect(problems[1]?.fix).toContain('folders <binderId>');
  });

  it('accepts the whole NanoId alphabet and GUIDs in either case', () => {
    const { problems, malformedIds } = parseIngestTags([
      { Key: 'ibinder:binder', Value: 'aZ09_-xY7' },
      { Key: 'ibinder:folder', Value: '0B6F4C2E-91D3-4A7B-8E5F-3C1D9A2B7E60' },
    ]);
    expect(problems).toEqual([]);
    expect(malformedIds).toEqual([]);
    expect(parseIngestTags([{ Key: 'ibinder:binder', Value: 'PRJ0001ABC' }]).malformedIds).toEqual(['ibinder:binder']);
  });

  it('reads every value in NFC, so a name typed on a Mac equals the same name typed on Windows', () => {
    const nfd = (text: string) => text.normalize('NFD');
    const { tags } = parseIngestTags([
      { Key: 'ibinder:folder-path', Value: nfd('Ritningar/Årsta') },
      { Key: 'ibinder:filename', Value: nfd('Översikt.pdf') },
      { Key: 'ibinder:version', Value: nfd('Å1') },
      { Key: nfd('ibinder:meta:område'), Value: nfd('Söder') },
    ]);
    expect(tags).toMatchObject({
      folderPath: 'Ritningar/Årsta'.normalize('NFC'),
      fileName: 'Översikt.pdf'.normalize('NFC'),
      version: 'Å1'.normalize('NFC'),
      metadata: { ['område'.normalize('NFC')]: 'Söder'.normalize('NFC') },
    });
    expect(tags.fileName).not.toBe(nfd('Översikt.pdf'));
  });
});

describe('buildIngestTags', () => {
  it('builds a valid tag set for a producer', () => {
    const tags = buildIngestTags({
      binderId: 'BndrAAAA1',
      folderPath: 'Drawings/Structural',
      fileName: 'plan B.pdf',
      metadata: { discipline: 'd-struct' },
      extra: { source: 'erp' },
    });
    expect(tags).toEqual([
      { Key: 'ibinder:binder', Value: 'BndrAAAA1' },
      { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
      { Key: 'ibinder:filename', Value: 'plan B.pdf' },
      { Key: 'ibinder:meta:discipline', Value: 'd-struct' },
      { Key: 'source', Value: 'erp' },
    ]);
    expect(toTaggingHeader(tags)).toBe(
      'ibinder%3Abinder=BndrAAAA1&ibinder%3Afolder-path=Drawings%2FStructural&ibinder%3Afilename=plan%20B.pdf&ibinder%3Ameta%3Adiscipline=d-struct&source=erp',
    );
  });

  it('refuses characters S3 does not allow, both folder forms and more than 10 tags, all at once', () => {
    let error: unknown;
    try {
      buildIngestTags({
        binderId: 'BndrAAAA1',
        folderId: '0b6f4c2e-91d3-4a7b-8e5f-3c1d9a2b7e60',
        folderPath: 'Drawings',
        fileName: 'report (final), v2.pdf',
        metadata: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`e${i}`, 'v'])),
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TagConventionError);
    const problems = (error as TagConventionError).problems;
    expect(problems.some((p) => p.field === 'tags' && /at most 10/.test(p.message))).toBe(true);
    expect(problems.some((p) => p.field === 'ibinder:filename' && p.message.includes('"("') && p.message.includes('","'))).toBe(true);
    expect(problems.some((p) => /ambiguous/.test(p.message))).toBe(true);
  });

  it('checks lengths and duplicates of a tag set', () => {
    const problems = checkS3TagSet([
      { Key: 'a', Value: 'x'.repeat(257) },
      { Key: 'a', Value: 'y' },
      { Key: 'k'.repeat(129), Value: 'z' },
    ]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/257 characters long/),
      expect.stringMatching(/given twice/),
      expect.stringMatching(/1 to 128 characters/),
    ]);
  });
});

describe('withDispositionTags', () => {
  it('keeps existing tags, replaces earlier ingested: tags and adds the ids', () => {
    const { tags, dropped } = withDispositionTags(
      [
        { Key: 'ibinder:binder', Value: 'B' },
        { Key: 'ingested:document-id', Value: 'old' },
      ],
      { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-1' } },
    );
    expect(dropped).toEqual([]);
    expect(tags).toEqual([
      { Key: 'ibinder:binder', Value: 'B' },
      { Key: 'ingested:document-id', Value: 'doc-1' },
      { Key: 'ingested:version-id', Value: 'ver-1' },
      { Key: 'ingested:status', Value: 'committed' },
      { Key: 'ingested:connector', Value: 'ibinder' },
    ]);
  });

  it("never exceeds 10 tags and never drops the producer's tags", () => {
    const existing = Array.from({ length: 9 }, (_, i) => ({ Key: `t${i}`, Value: 'v' }));
    const { tags, dropped } = withDispositionTags(existing, { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'ver-1' } });
    expect(tags).toHaveLength(10);
    expect(tags.slice(0, 9)).toEqual(existing);
    expect(tags[9]).toEqual({ Key: 'ingested:document-id', Value: 'doc-1' });
    expect(dropped).toEqual(['ingested:version-id', 'ingested:status', 'ingested:connector']);
  });
});
