import { describe, expect, it } from 'vitest';
import {
  assessIngest,
  type IngestAssessment,
  type IngestAssessmentInput,
  type IngestAssessmentStep,
} from '../../shared/connectors/ibinder/ingest/assess.js';
import type { PipelineConfigInput } from '../../shared/config/runtime.js';
import { FolderResolver } from '../../shared/connectors/ibinder/folder-resolver.js';
import type { MetadataElement } from '../../shared/connectors/ibinder/client/schemas.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { ARSTA_NFC, ARSTA_NFD, FOLDER, GUID_BINDERS, OTHER_PROJECT_ID, PROJECT_ID } from '../helpers/allowlist-fixtures.js';
import { apiError, FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, makeConfig, SCHEMA } from '../helpers/ingest-factories.js';

const NOW = new Date('2025-01-15T09:00:00Z');
const KEY = 'inbox/drawings/A-101.pdf';

const TAGS: S3Tag[] = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:version', Value: 'B' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
  { Key: 'producer', Value: 'erp' },
];

/** The schema after someone added "Landscape" to the discipline's allowed values. */
const NEW_SCHEMA: MetadataElement[] = SCHEMA.map((e) =>
  e.id === 'discipline' ? { ...e, allowedValues: [...e.allowedValues, { id: 'd-land', label: 'Landscape' }] } : e,
);

/** A schema source that counts its reads: `get` answers from a (possibly stale) cache, `refresh` from iBinder. */
function schemaSource(cached: MetadataElement[], current: MetadataElement[] = cached) {
  const reads = { get: 0, refresh: 0 };
  return {
    reads,
    schemas: {
      get: async (_binderId: string) => {
        reads.get += 1;
        return cached;
      },
      refresh: async (_binderId: string) => {
        reads.refresh += 1;
        return current;
      },
    },
  };
}

function setup(options: { config?: Partial<PipelineConfigInput>; cached?: MetadataElement[]; current?: MetadataElement[] } = {}) {
  const client = new FakeIBinderClient([...BINDERS, ...GUID_BINDERS]);
  const source = schemaSource(options.cached ?? SCHEMA, options.current);
  const steps: IngestAssessmentStep[] = [];
  const assess = (input: Partial<IngestAssessmentInput> = {}): Promise<IngestAssessment> =>
    assessIngest(
      { key: KEY, tags: TAGS, sizeBytes: 1234, lastModified: NOW, now: NOW, ...input },
      {
        config: makeConfig(options.config ?? {}),
        folders: new FolderResolver(client),
        schemas: source.schemas,
        onStep: (step) => steps.push(step),
      },
    );
  return { client, assess, steps, reads: source.reads };
}

function codes(assessment: IngestAssessment): string[] {
  const problems =
    assessment.kind === 'accept' ? [] : assessment.kind === 'wait' ? assessment.rejectionAfterGrace.problems : assessment.problems;
  return problems.map((p) => `${p.code}:${p.field}`);
}

describe('assessIngest: accept', () => {
  it('resolves the tagged folder path, maps metadata labels to value ids, and reports its steps before each read', async () => {
    const { assess, steps, reads } = setup();
    const assessment = await assess();
    expect(assessment).toEqual({
      kind: 'accept',
      plan: {
        fileName: 'A-101.pdf',
        fileNameField: 'key',
        version: 'B',
        metadata: [{ elementId: 'discipline', value: 'Structural', field: 'ibinder:meta:discipline' }],
        target: { binderId: BINDER_ID, folderId: 'f-struct', folderPath: 'Drawings/Structural' },
        source: { kind: 'tags' },
      },
      additionalMetadata: [{ metadataElementId: 'discipline', value: 'd-struct' }],
    });
    expect(steps).toEqual([{ name: 'resolve target' }, { name: 'read metadata schema', binderId: BINDER_ID, folderId: 'f-struct' }]);
    // Valid metadata is believed from the cache: no second read.
    expect(reads).toEqual({ get: 1, refresh: 0 });
  });

  it('believes a metadata problem only after an uncached read: a schema changed minutes ago accepts the file', async () => {
    const { assess, reads } = setup({ cached: SCHEMA, current: NEW_SCHEMA });
    const assessment = await assess({
      tags: [...TAGS.filter((t) => t.Key !== 'ibinder:meta:discipline'), { Key: 'ibinder:meta:discipline', Value: 'Landscape' }],
    });
    expect(assessment.kind).toBe('accept');
    if (assessment.kind !== 'accept') return;
    expect(assessment.additionalMetadata).toEqual([{ metadataElementId: 'discipline', value: 'd-land' }]);
    expect(reads).toEqual({ get: 1, refresh: 1 });
  });

  it("takes an untagged object under a routing rule, locating the rule's folder id in its binder first", async () => {
    const { assess, client } = setup({
      config: {
        routingRules: [
          {
            prefix: 'inbox/drawings/',
            target: { binderId: PROJECT_ID, folderId: FOLDER.architecture, metadata: { discipline: 'd-arch' } },
          },
        ],
      },
    });
    const assessment = await assess({ tags: [] });
    expect(assessment.kind).toBe('accept');
    if (assessment.kind !== 'accept') return;
    expect(assessment.plan.target).toEqual({ binderId: PROJECT_ID, folderId: FOLDER.architecture, folderPath: 'Drawings/Architecture' });
    expect(assessment.plan.source).toEqual({ kind: 'rule', prefix: 'inbox/drawings/' });
    expect(client.callCount('listTopFolders')).toBe(1);
  });

  it("keeps the rule's metadata when the tags name the rule's own binder, tags winning element by element", async () => {
    const { assess } = setup({
      config: {
        routingRules: [
          {
            prefix: 'inbox/drawings/',
            target: { binderId: PROJECT_ID, folderPath: 'Reports', metadata: { discipline: 'd-arch', status: 's-draft' }, version: 'R1' },
          },
        ],
      },
    });
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: PROJECT_ID },
        { Key: 'ibinder:meta:status', Value: 'Final' },
      ],
    });
    if (assessment.kind !== 'accept') throw new Error(`expected accept, got ${JSON.stringify(assessment)}`);
    expect(assessment.plan.target).toMatchObject({ binderId: PROJECT_ID, folderId: FOLDER.reports });
    expect(assessment.plan.version).toBe('R1');
    expect(assessment.additionalMetadata).toEqual([
      { metadataElementId: 'discipline', value: 'd-arch' },
      { metadataElementId: 'status', value: 's-final' },
    ]);
  });
});

describe('assessIngest: reject', () => {
  it('rejects wrong metadata with every problem, after re-reading the schema once, keeping what did validate', async () => {
    const { assess, reads } = setup();
    const assessment = await assess({
      sizeBytes: 0,
      tags: [
        ...TAGS.filter((t) => t.Key !== 'ibinder:meta:discipline'),
        { Key: 'ibinder:meta:discipline', Value: 'Plumbing' },
        { Key: 'ibinder:meta:note', Value: 'hi' },
      ],
    });
    expect(assessment.kind === 'reject' && assessment.cause).toBe('invalid-request');
    expect(codes(assessment)).toEqual(['empty-file:size', 'metadata:ibinder:meta:discipline']);
    if (assessment.kind !== 'reject' || assessment.cause !== 'invalid-request') return;
    expect(assessment.plan.target.folderId).toBe('f-struct');
    expect(assessment.additionalMetadata).toEqual([{ metadataElementId: 'note', value: 'hi' }]);
    expect(reads).toEqual({ get: 1, refresh: 1 });
  });

  it('rejects a misspelt ingest tag even when the target and the request are otherwise fine', async () => {
    const { assess } = setup();
    const assessment = await assess({ tags: [...TAGS, { Key: 'iBinder:version', Value: 'C' }] });
    expect(assessment.kind === 'reject' && assessment.cause).toBe('invalid-request');
    expect(codes(assessment)).toEqual(['tags:iBinder:version']);
  });

  it('rejects an untagged object no rule covers once the grace period is over, with the file checks too', async () => {
    const { assess } = setup({ config: { untaggedGraceSeconds: 60 } });
    const assessment = await assess({ tags: [], sizeBytes: 0, lastModified: new Date(NOW.getTime() - 61_000) });
    expect(assessment).toMatchObject({ kind: 'reject', cause: 'untagged', request: { fileName: 'A-101.pdf' } });
    expect(codes(assessment)).toEqual(['untagged:ibinder:binder', 'empty-file:size']);
  });

  it('rejects a folder path that names no folder, still checking the metadata against the known binder', async () => {
    const { assess, steps } = setup();
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: BINDER_ID },
        { Key: 'ibinder:folder-path', Value: 'Drawings/Plumbing' },
        { Key: 'ibinder:meta:discipline', Value: 'nonsense' },
      ],
    });
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'unresolved-target',
      binder: { binderId: BINDER_ID, source: { kind: 'tags' } },
    });
    expect(codes(assessment)).toEqual(['target:ibinder:folder-path', 'metadata:ibinder:meta:discipline']);
    expect(steps).toEqual([{ name: 'resolve target' }, { name: 'read metadata schema', binderId: BINDER_ID }]);
  });

  it("rejects an unknown binder found while listing its folders, with iBinder's refusal", async () => {
    const { assess, reads } = setup();
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: 'Nope00000' },
        { Key: 'ibinder:folder-path', Value: 'Drawings' },
      ],
    });
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'unresolved-target',
      binder: undefined,
      ibinder: { status: 404, traceId: 'trace-unknown-binder' },
    });
    expect(codes(assessment)).toEqual(['target:ibinder:binder']);
    expect(reads).toEqual({ get: 0, refresh: 0 });
  });

  it('rejects a binder whose schema iBinder refuses, naming the config field to fix', async () => {
    const client = new FakeIBinderClient(GUID_BINDERS);
    const refuse = () => Promise.reject(apiError(403, { title: 'Forbidden', traceId: 'trace-403' }));
    const assessment = await assessIngest(
      { key: KEY, tags: [], sizeBytes: 10, now: NOW },
      {
        config: makeConfig({ defaultTarget: { binderId: PROJECT_ID, folderId: FOLDER.reports, metadata: {} } }),
        folders: new FolderResolver(client),
        schemas: { get: refuse, refresh: refuse },
      },
    );
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'unknown-binder',
      plan: { target: { binderId: PROJECT_ID, folderId: FOLDER.reports }, source: { kind: 'default' } },
      ibinder: { status: 403, traceId: 'trace-403' },
    });
    expect(codes(assessment)).toEqual(['target:defaultTarget.binderId']);
  });

  it('rejects malformed binder and folder ids as malformed, before anything is looked up', async () => {
    const { assess, client, reads } = setup();
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: 'PRJ-1' },
        { Key: 'ibinder:folder', Value: 'f-1' },
      ],
    });
    expect(assessment).toMatchObject({ kind: 'reject', cause: 'unresolved-target' });
    expect(codes(assessment)).toEqual(['tags:ibinder:binder', 'tags:ibinder:folder']);
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.message).toBe(
      '"PRJ-1" is not a binder id: binder ids are 9 characters of letters, digits, "_" and "-" (a NanoId), e.g. "PRJ0001AB"',
    );
    expect(assessment.problems[0]?.message).not.toMatch(/access|visible|refused/);
    expect(assessment.problems[1]?.message).toContain('"f-1" is not a folder id: folder ids are a GUID');
    expect(client.callCount('listTopFolders') + client.callCount('listSubFolders')).toBe(0);
    expect(reads).toEqual({ get: 0, refresh: 0 });
  });

  it('rejects a well-formed folder id that is not in the binder, before any byte moves', async () => {
    const { assess, client } = setup();
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: PROJECT_ID },
        { Key: 'ibinder:folder', Value: FOLDER.nowhere },
        { Key: 'ibinder:meta:discipline', Value: 'd-arch' },
      ],
    });
    expect(assessment).toMatchObject({ kind: 'reject', cause: 'unresolved-target', binder: { binderId: PROJECT_ID } });
    expect(codes(assessment)).toEqual(['target:ibinder:folder']);
    expect(client.callCount('createPresignedUpload')).toBe(0);
  });
});

describe('assessIngest: wait', () => {
  it('waits for the producer to tag an object within the grace period, saying what happens after it', async () => {
    const { assess, reads } = setup({ config: { untaggedGraceSeconds: 300 } });
    const assessment = await assess({ tags: [], lastModified: new Date(NOW.getTime() - 60_000) });
    expect(assessment.kind).toBe('wait');
    if (assessment.kind !== 'wait') return;
    expect(assessment.graceEndsAt.toISOString()).toBe('2025-01-15T09:04:00.000Z');
    expect(assessment.rejectionAfterGrace).toMatchObject({ kind: 'reject', cause: 'untagged', request: { fileName: 'A-101.pdf' } });
    expect(codes(assessment)).toEqual(['untagged:ibinder:binder']);
    expect(reads).toEqual({ get: 0, refresh: 0 });
  });
});

describe('assessIngest: transient failures', () => {
  it('throws a transient schema read instead of deciding, so that the caller retries', async () => {
    const client = new FakeIBinderClient(BINDERS);
    client.failNext('getMetadataElements', apiError(503, { title: 'Service Unavailable' }));
    const assessment = assessIngest(
      { key: KEY, tags: TAGS, sizeBytes: 10, now: NOW },
      {
        config: makeConfig(),
        folders: new FolderResolver(client),
        schemas: { get: (id) => client.getMetadataElements(id), refresh: (id) => client.getMetadataElements(id) },
      },
    );
    await expect(assessment).rejects.toMatchObject({ name: 'IBinderApiError', status: 503 });
  });
});

describe('assessIngest: metadata of a rule for another binder', () => {
  it("drops the rule's metadata for a file tagged with another binder, and says so instead of advising the rule", async () => {
    const { assess } = setup({
      config: {
        routingRules: [
          {
            prefix: 'inbox/drawings/',
            target: { binderId: OTHER_PROJECT_ID, folderPath: 'Inbox', metadata: { discipline: 'd-arch' } },
            allow: [{ binderId: OTHER_PROJECT_ID }, { binderId: PROJECT_ID }],
          },
        ],
      },
    });
    const assessment = await assess({
      tags: [
        { Key: 'ibinder:binder', Value: PROJECT_ID },
        { Key: 'ibinder:folder-path', Value: 'Reports' },
      ],
    });
    expect(codes(assessment)).toEqual(['metadata:ibinder:meta:discipline']);
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.fix).toContain(
      `the metadata of the routing rule for "inbox/drawings/" is for binder ${OTHER_PROJECT_ID} and does not apply to a file tagged with binder ${PROJECT_ID}`,
    );
    expect(assessment.problems[0]?.fix).not.toContain('give it in the routing rule');
  });
});

describe('assessIngest: allowlists', () => {
  const drawingsOnly = {
    prefix: 'inbox/drawings/',
    target: { binderId: PROJECT_ID, folderPath: 'Drawings/Structural', metadata: { discipline: 'd-struct' } },
    allow: [{ binderId: PROJECT_ID, folderPaths: ['Drawings'] }],
  };
  const tagged = (folder: S3Tag, binderId = PROJECT_ID): S3Tag[] => [
    { Key: 'ibinder:binder', Value: binderId },
    folder,
    { Key: 'ibinder:meta:discipline', Value: 'd-arch' },
  ];

  it('accepts a tagged folder below an allowed folder path, the path typed in NFD and configured in NFC', async () => {
    const { assess } = setup({ config: { routingRules: [drawingsOnly] } });
    const assessment = await assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: `Drawings/Architecture/${ARSTA_NFD}` }) });
    if (assessment.kind !== 'accept') throw new Error(`expected accept, got ${JSON.stringify(assessment)}`);
    expect(assessment.plan.target).toEqual({
      binderId: PROJECT_ID,
      folderId: FOLDER.arsta,
      folderPath: `Drawings/Architecture/${ARSTA_NFC}`,
    });
  });

  it("matches an allowed folder path configured in NFD against the folder's NFC name", async () => {
    const rule = {
      ...drawingsOnly,
      allow: [{ binderId: PROJECT_ID, folderPaths: [`Drawings/Architecture/${ARSTA_NFD}`, 'Drawings/Structural'] }],
    };
    const { assess } = setup({ config: { routingRules: [rule] } });
    expect((await assess({ tags: tagged({ Key: 'ibinder:folder', Value: FOLDER.arsta }) })).kind).toBe('accept');
  });

  it('refuses a tagged folder outside the allowed subtree, naming the prefix, the target asked for and the targets allowed', async () => {
    const { assess, reads } = setup({ config: { routingRules: [drawingsOnly] } });
    const assessment = await assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: 'Reports' }) });
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'not-allowed',
      target: { binderId: PROJECT_ID, folderId: FOLDER.reports, folderPath: 'Reports', source: { kind: 'tags' } },
    });
    expect(codes(assessment)).toEqual(['not-allowed:ibinder:folder-path']);
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.message).toBe(
      `files under prefix "inbox/drawings/" (routing rule) may not go to binder ${PROJECT_ID}, folder "Reports" (id ${FOLDER.reports}); ` +
        `the rule allows binder ${PROJECT_ID}, folder "Drawings" and below`,
    );
    expect(assessment.problems[0]?.fix).toContain('routingRules[prefix="inbox/drawings/"].allow');
    // Nothing is read from a binder for a file that may not go there.
    expect(reads).toEqual({ get: 0, refresh: 0 });
  });

  it('checks a folder given by id by its ancestry: below an allowed folder id passes, beside it is refused', async () => {
    const rule = {
      ...drawingsOnly,
      allow: [{ binderId: PROJECT_ID, folderIds: [FOLDER.architecture] }],
      target: { binderId: PROJECT_ID, folderId: FOLDER.architecture },
    };
    const { assess } = setup({ config: { routingRules: [rule] } });
    expect((await assess({ tags: tagged({ Key: 'ibinder:folder', Value: FOLDER.arsta }) })).kind).toBe('accept');
    const beside = await assess({ tags: tagged({ Key: 'ibinder:folder', Value: FOLDER.structural }) });
    expect(codes(beside)).toEqual(['not-allowed:ibinder:folder']);
    if (beside.kind !== 'reject') return;
    expect(beside.problems[0]?.message).toContain(`binder ${PROJECT_ID}, folder "Drawings/Structural" (id ${FOLDER.structural})`);
    expect(beside.problems[0]?.message).toContain(`the rule allows binder ${PROJECT_ID}, folder id ${FOLDER.architecture} and below`);
  });

  it('refuses another binder before listing anything in it; a rule without allow reaches only its own binder', async () => {
    const { assess, client } = setup({ config: { routingRules: [{ prefix: 'inbox/drawings/', target: drawingsOnly.target }] } });
    const assessment = await assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: 'Inbox' }, OTHER_PROJECT_ID) });
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'not-allowed',
      target: { binderId: OTHER_PROJECT_ID, folderPath: 'Inbox', source: { kind: 'tags' } },
    });
    expect(codes(assessment)).toEqual(['not-allowed:ibinder:binder']);
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.message).toContain(`may not go to binder ${OTHER_PROJECT_ID}, folder "Inbox"`);
    expect(assessment.problems[0]?.message).toContain(`the rule allows binder ${PROJECT_ID} (any folder) (the rule has no allow list`);
    expect(client.callCount('listTopFolders')).toBe(0);
  });

  it('refuses every target of a key without a rule when unlistedPrefixes is "none", saying "no routing rule"', async () => {
    const { assess } = setup({ config: { routingRules: [drawingsOnly], unlistedPrefixes: 'none' } });
    const assessment = await assess({ key: 'inbox/elsewhere/A-101.pdf', tags: tagged({ Key: 'ibinder:folder-path', Value: 'Drawings' }) });
    expect(codes(assessment)).toEqual(['not-allowed:ibinder:binder']);
    if (assessment.kind !== 'reject') return;
    expect(assessment.problems[0]?.message).toBe(
      `no routing rule covers "inbox/elsewhere/A-101.pdf", and files under a prefix without a rule may not go to binder ${PROJECT_ID}, folder "Drawings"; ` +
        'this environment allows them nothing (unlistedPrefixes is "none")',
    );
    expect(assessment.problems[0]?.fix).toContain('unlistedPrefixes.allow');
  });

  it('lets a key without a rule reach what unlistedPrefixes allows, and anything with "any"', async () => {
    const listed = setup({ config: { unlistedPrefixes: { allow: [{ binderId: PROJECT_ID, folderPaths: ['Reports'] }] } } });
    expect((await listed.assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: 'Reports' }) })).kind).toBe('accept');
    expect(codes(await listed.assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: 'Drawings' }) }))).toEqual([
      'not-allowed:ibinder:folder-path',
    ]);
    const open = setup({ config: { unlistedPrefixes: 'any' } });
    expect((await open.assess({ tags: tagged({ Key: 'ibinder:folder-path', Value: 'Drawings' }) })).kind).toBe('accept');
  });
});
