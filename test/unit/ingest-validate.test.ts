import { describe, expect, it } from 'vitest';
import { validateIngestRequest, validateFileName, validateSize } from '../../shared/connectors/ibinder/ingest/validate.js';
import { FIVE_GIB } from '../../shared/config/runtime.js';
import { BINDER_ID, SCHEMA } from '../helpers/ingest-factories.js';

const valid = {
  binderId: BINDER_ID,
  fileName: 'plan.pdf',
  sizeBytes: 1234,
  metadata: [{ elementId: 'discipline', value: 'd-arch' }],
  schema: SCHEMA,
};

describe('validateIngestRequest', () => {
  it('accepts a valid request and returns the metadata for the commit', () => {
    const result = validateIngestRequest(valid);
    expect(result.problems).toEqual([]);
    expect(result.additionalMetadata).toEqual([{ metadataElementId: 'discipline', value: 'd-arch' }]);
  });

  it('maps an allowed value label to its id (exact, then case-insensitive), and passes free text as given', () => {
    const result = validateIngestRequest({
      ...valid,
      metadata: [
        { elementId: 'discipline', value: 'Structural' },
        { elementId: 'status', value: 'final' },
        { elementId: 'note', value: 'Any text' },
      ],
    });
    expect(result.problems).toEqual([]);
    expect(result.additionalMetadata).toEqual([
      { metadataElementId: 'discipline', value: 'd-struct' },
      { metadataElementId: 'status', value: 's-final' },
      { metadataElementId: 'note', value: 'Any text' },
    ]);
  });

  it("reports an unknown element, listing the binder's elements", () => {
    const { problems } = validateIngestRequest({ ...valid, metadata: [...valid.metadata, { elementId: 'colour', value: 'red' }] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: 'metadata', field: 'ibinder:meta:colour' });
    expect(problems[0]?.message).toContain(`"colour" is not a metadata element of binder ${BINDER_ID}`);
    expect(problems[0]?.fix).toContain('discipline (Discipline), status (Status), note (Note)');
  });

  it('reports a value that is not allowed, listing the allowed ids and labels', () => {
    const { problems } = validateIngestRequest({
      ...valid,
      metadata: [{ elementId: 'discipline', value: 'Plumbing', field: 'routingRules[prefix="inbox/"].target.metadata.discipline' }],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe('routingRules[prefix="inbox/"].target.metadata.discipline');
    expect(problems[0]?.message).toContain('"Plumbing" is not an allowed value of "Discipline"');
    expect(problems[0]?.fix).toContain('d-arch (Architecture), d-struct (Structural)');
  });

  it('reports a missing required element (also when given empty)', () => {
    for (const metadata of [[], [{ elementId: 'discipline', value: ' ' }]]) {
      const { problems } = validateIngestRequest({ ...valid, metadata });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatchObject({ code: 'metadata', field: 'ibinder:meta:discipline' });
      expect(problems[0]?.message).toContain('"Discipline" (discipline) is required');
      expect(problems[0]?.fix).toContain('d-arch (Architecture)');
    }
  });

  it("advises the config for a missing required value only when the config's metadata applies to the file", () => {
    const applies = validateIngestRequest({ ...valid, metadata: [] });
    expect(applies.problems[0]?.fix).toContain('or give it in the routing rule or default target of the environment config');

    const why =
      'the metadata of the routing rule for "inbox/x/" is for binder BndrBBBB2 and does not apply to a file tagged with binder BndrAAAA1';
    const dropped = validateIngestRequest({ ...valid, metadata: [], configMetadataNotApplied: why });
    expect(dropped.problems[0]?.fix).toContain(`(${why})`);
    expect(dropped.problems[0]?.fix).not.toContain('give it in the routing rule');
  });

  it("matches an allowed value's label in NFC whichever normalization either side uses", () => {
    const schema = [
      { id: 'area', label: 'Area', dataType: 'list', required: true, allowedValues: [{ id: 'a-south', label: 'Söder'.normalize('NFD') }] },
    ];
    const { problems, additionalMetadata } = validateIngestRequest({
      ...valid,
      schema,
      metadata: [{ elementId: 'area', value: 'Söder'.normalize('NFC') }],
    });
    expect(problems).toEqual([]);
    expect(additionalMetadata).toEqual([{ metadataElementId: 'area', value: 'a-south' }]);
  });

  it('collects every problem at once', () => {
    const { problems } = validateIngestRequest({
      ...valid,
      fileName: 'a/b.pdf',
      sizeBytes: 0,
      metadata: [
        { elementId: 'colour', value: 'red' },
        { elementId: 'status', value: 'wip' },
      ],
    });
    expect(problems.map((p) => p.code).sort()).toEqual(['empty-file', 'file-name', 'metadata', 'metadata', 'metadata']);
  });

  it("skips the metadata checks when the binder's schema is unknown", () => {
    const { problems } = validateIngestRequest({ ...valid, schema: undefined, metadata: [{ elementId: 'colour', value: 'x' }] });
    expect(problems).toEqual([]);
  });
});

describe('validateFileName', () => {
  it.each([
    ['', 'empty'],
    ['  ', 'empty'],
    ['a/b.pdf', 'path separator'],
    ['a\\b.pdf', 'path separator'],
    ['bad\u0007name.pdf', 'control characters'],
    ['tab\there.pdf', 'control characters'],
    ['..', 'not a file name'],
    [`${'x'.repeat(252)}.pdf`, '256 characters long'],
  ])('rejects %j (%s)', (name, expected) => {
    const problems = validateFileName(name, 'ibinder:filename');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]?.message).toContain(expected);
    expect(problems[0]?.code).toBe('file-name');
  });

  it('accepts spaces, unicode and 255 characters; names the key as the field when the name came from it', () => {
    expect(validateFileName('Årsta plan (rev B) 文書.pdf')).toEqual([]);
    expect(validateFileName(`${'x'.repeat(251)}.pdf`)).toEqual([]);
    expect(validateFileName('', 'key')[0]?.fix).toMatch(/rename the object/);
  });
});

describe('validateSize', () => {
  it('rejects an empty file with a clear reason', () => {
    expect(validateSize(0)).toEqual([
      expect.objectContaining({ code: 'empty-file', field: 'size', message: expect.stringContaining('0 bytes') }),
    ]);
  });

  it('rejects more than the maximum (5 GiB, one presigned PUT) and accepts exactly the maximum', () => {
    expect(validateSize(FIVE_GIB)).toEqual([]);
    const problems = validateSize(FIVE_GIB + 1);
    expect(problems[0]).toMatchObject({ code: 'too-large' });
    expect(problems[0]?.message).toContain('at most 5 GiB');
    expect(validateSize(2048, 1024)[0]?.message).toContain('2 KiB (2048 bytes); at most 1 KiB');
  });
});
