import { describe, expect, it } from 'vitest';
import {
  assessIngest,
  type IngestAssessment,
  type IngestAssessmentInput,
  type IngestAssessmentStep,
} from '../../functions/ingest/assess.js';
import type { PipelineConfigInput } from '../../shared/config/runtime.js';
import { FolderResolver } from '../../shared/ibinder/folder-resolver.js';
import type { MetadataElement } from '../../shared/ibinder/schemas.js';
import type { S3Tag } from '../../shared/s3/tags.js';
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
  const client = new FakeIBinderClient(BINDERS);
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
  const problems = assessment.kind === 'accept' ? [] : assessment.kind === 'wait' ? assessment.rejectionAfterGrace.problems : assessment.problems;
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
    expect(steps).toEqual([
      { name: 'resolve target' },
      { name: 'read metadata schema', binderId: BINDER_ID, folderId: 'f-struct' },
    ]);
    // Valid metadata is believed from the cache: no second read.
    expect(reads).toEqual({ get: 1, refresh: 0 });
  });

  it('believes a metadata problem only after an uncached read: a schema changed minutes ago accepts the file', async () => {
    const { assess, reads } = setup({ cached: SCHEMA, current: NEW_SCHEMA });
    const assessment = await assess({ tags: [...TAGS.filter((t) => t.Key !== 'ibinder:meta:discipline'), { Key: 'ibinder:meta:discipline', Value: 'Landscape' }] });
    expect(assessment.kind).toBe('accept');
    if (assessment.kind !== 'accept') return;
    expect(assessment.additionalMetadata).toEqual([{ metadataElementId: 'discipline', value: 'd-land' }]);
    expect(reads).toEqual({ get: 1, refresh: 1 });
  });

  it('takes an untagged object under a routing rule, without looking up a folder given by id', async () => {
    const { assess, client } = setup({
      config: { routingRules: [{ prefix: 'inbox/drawings/', target: { binderId: BINDER_ID, folderId: 'f-arch', metadata: { discipline: 'd-arch' } } }] },
    });
    const assessment = await assess({ tags: [] });
    expect(assessment.kind).toBe('accept');
    if (assessment.kind !== 'accept') return;
    expect(assessment.plan.target).toEqual({ binderId: BINDER_ID, folderId: 'f-arch' });
    expect(assessment.plan.source).toEqual({ kind: 'rule', prefix: 'inbox/drawings/' });
    expect(client.callCount('listTopFolders')).toBe(0);
  });
});

describe('assessIngest: reject', () => {
  it('rejects wrong metadata with every problem, after re-reading the schema once, keeping what did validate', async () => {
    const { assess, reads } = setup();
    const assessment = await assess({
      sizeBytes: 0,
      tags: [...TAGS.filter((t) => t.Key !== 'ibinder:meta:discipline'), { Key: 'ibinder:meta:discipline', Value: 'Plumbing' }, { Key: 'ibinder:meta:note', Value: 'hi' }],
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

  it('rejects an unknown binder found while listing its folders, with iBinder\'s refusal', async () => {
    const { assess, reads } = setup();
    const assessment = await assess({ tags: [{ Key: 'ibinder:binder', Value: 'Nope00000' }, { Key: 'ibinder:folder-path', Value: 'Drawings' }] });
    expect(assessment).toMatchObject({ kind: 'reject', cause: 'unresolved-target', binder: undefined, ibinder: { status: 404, traceId: 'trace-unknown-binder' } });
    expect(codes(assessment)).toEqual(['target:ibinder:binder']);
    expect(reads).toEqual({ get: 0, refresh: 0 });
  });

  it('rejects an unknown binder whose schema iBinder refuses, naming the config field to fix', async () => {
    const client = new FakeIBinderClient(BINDERS);
    const assessment = await assessIngest(
      { key: KEY, tags: [], sizeBytes: 10, now: NOW },
      {
        config: makeConfig({ defaultTarget: { binderId: 'Nope00000', folderId: 'f-1', metadata: {} } }),
        folders: new FolderResolver(client),
        schemas: {
          get: () => client.getMetadataElements('Nope00000'),
          refresh: () => client.getMetadataElements('Nope00000'),
        },
      },
    );
    expect(assessment).toMatchObject({
      kind: 'reject',
      cause: 'unknown-binder',
      plan: { target: { binderId: 'Nope00000', folderId: 'f-1' }, source: { kind: 'default' } },
      ibinder: { status: 404, traceId: 'trace-unknown-binder' },
    });
    expect(codes(assessment)).toEqual(['target:defaultTarget.binderId']);
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
