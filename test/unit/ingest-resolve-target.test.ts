import { describe, expect, it } from 'vitest';
import { matchRoutingRule, resolveTarget, type ResolveTargetInput } from '../../functions/ingest/resolve-target.js';
import type { PipelineConfigInput } from '../../shared/config/runtime.js';
import { FolderResolver } from '../../shared/ibinder/folder-resolver.js';
import { parseIngestTags, type S3Tag } from '../../shared/s3/tags.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, makeConfig, OTHER_BINDER_ID } from '../helpers/ingest-factories.js';

const NOW = new Date('2025-01-15T09:00:00Z');

function setup(configOverrides: Parameters<typeof makeConfig>[0] = {}) {
  const client = new FakeIBinderClient(BINDERS);
  let clock = NOW.getTime();
  const folders = new FolderResolver(client, { ttlMs: 60_000, now: () => clock });
  const config = makeConfig(configOverrides);
  const resolve = (key: string, tags: S3Tag[], extra: Partial<ResolveTargetInput> = {}) =>
    resolveTarget({ key, tags: parseIngestTags(tags).tags, config, folders, now: NOW, lastModified: NOW, ...extra });
  return { client, folders, resolve, advance: (ms: number) => (clock += ms) };
}

const rules: Pick<PipelineConfigInput, 'defaultTarget' | 'routingRules'> = {
  defaultTarget: { binderId: OTHER_BINDER_ID, folderId: 'f-b-top', metadata: { fromDefault: 'x' } },
  routingRules: [
    { prefix: 'inbox/', target: { binderId: BINDER_ID, folderId: 'f-reports', metadata: { status: 's-draft' } } },
    {
      prefix: 'inbox/scanner/',
      target: { binderId: BINDER_ID, folderPath: 'Drawings/Structural', metadata: { discipline: 'd-struct', status: 's-draft' }, version: 'scan' },
    },
  ],
};

describe('matchRoutingRule', () => {
  it('picks the longest matching prefix', () => {
    const { routingRules } = makeConfig(rules);
    expect(matchRoutingRule('inbox/scanner/a.pdf', routingRules)?.prefix).toBe('inbox/scanner/');
    expect(matchRoutingRule('inbox/other/a.pdf', routingRules)?.prefix).toBe('inbox/');
    expect(matchRoutingRule('elsewhere/a.pdf', routingRules)).toBeUndefined();
  });
});

describe('resolveTarget precedence', () => {
  it('uses the longest-prefix rule, resolving its folder path, with its metadata and version', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/sub/scan 1.pdf', []);
    expect(r.kind).toBe('resolved');
    if (r.kind !== 'resolved') return;
    expect(r.plan.source).toEqual({ kind: 'rule', prefix: 'inbox/scanner/' });
    expect(r.plan.target).toEqual({ binderId: BINDER_ID, folderId: 'f-struct', folderPath: 'Drawings/Structural' });
    expect(r.plan.fileName).toBe('scan 1.pdf');
    expect(r.plan.fileNameField).toBe('key');
    expect(r.plan.version).toBe('scan');
    expect(r.plan.metadata).toEqual([
      { elementId: 'discipline', value: 'd-struct', field: 'routingRules[prefix="inbox/scanner/"].target.metadata.discipline' },
      { elementId: 'status', value: 's-draft', field: 'routingRules[prefix="inbox/scanner/"].target.metadata.status' },
    ]);
  });

  it('falls back to the environment default when no rule matches', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('drop/a.pdf', []);
    expect(r.kind === 'resolved' && r.plan.source).toEqual({ kind: 'default' });
    expect(r.kind === 'resolved' && r.plan.target.folderId).toBe('f-b-top');
  });

  it('lets tags override metadata, version, file name and folder on top of a rule', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/x.pdf', [
      { Key: 'ibinder:meta:status', Value: 'Final' },
      { Key: 'ibinder:meta:note', Value: 'hello' },
      { Key: 'ibinder:version', Value: 'C' },
      { Key: 'ibinder:filename', Value: 'Plan.pdf' },
      { Key: 'ibinder:folder', Value: 'f-arch' },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.target).toEqual({ binderId: BINDER_ID, folderId: 'f-arch' });
    expect(r.plan.version).toBe('C');
    expect(r.plan.fileName).toBe('Plan.pdf');
    expect(r.plan.fileNameField).toBe('ibinder:filename');
    expect(Object.fromEntries(r.plan.metadata.map((m) => [m.elementId, [m.value, m.field]]))).toEqual({
      discipline: ['d-struct', 'routingRules[prefix="inbox/scanner/"].target.metadata.discipline'],
      status: ['Final', 'ibinder:meta:status'],
      note: ['hello', 'ibinder:meta:note'],
    });
  });

  it('replaces the whole target when a binder is tagged: rule metadata and version are dropped', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/x.pdf', [
      { Key: 'ibinder:binder', Value: OTHER_BINDER_ID },
      { Key: 'ibinder:folder-path', Value: ' Inbox ' },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.source).toEqual({ kind: 'tags' });
    expect(r.plan.target).toEqual({ binderId: OTHER_BINDER_ID, folderId: 'f-b-top', folderPath: 'Inbox' });
    expect(r.plan.metadata).toEqual([]);
    expect(r.plan.version).toBeUndefined();
  });

  it('requires a folder from the tags when the binder is tagged', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/x.pdf', [{ Key: 'ibinder:binder', Value: BINDER_ID }]);
    expect(r.kind).toBe('invalid');
    if (r.kind !== 'invalid') return;
    expect(r.problems[0]).toMatchObject({ code: 'target', field: 'ibinder:folder' });
  });

  it('reports ingest tags without a binder when nothing else gives one', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [{ Key: 'ibinder:meta:status', Value: 's-final' }]);
    expect(r.kind === 'invalid' && r.problems[0]?.field).toBe('ibinder:binder');
  });
});

describe('resolveTarget folder paths', () => {
  it('names the unknown segment and lists the names available at that level', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: BINDER_ID },
      { Key: 'ibinder:folder-path', Value: 'Drawings/structural' },
    ]);
    if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
    expect(r.binderId).toBe(BINDER_ID);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.field).toBe('ibinder:folder-path');
    expect(r.problems[0]?.message).toContain('no folder "structural" in "Drawings"');
    expect(r.problems[0]?.message).toContain('"Architecture", "Structural"');
  });

  it('reports an unknown binder with iBinder\'s status and traceId', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: 'Nope00000' },
      { Key: 'ibinder:folder-path', Value: 'Drawings' },
    ]);
    if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
    expect(r.ibinder).toMatchObject({ status: 404, traceId: 'trace-unknown-binder' });
    expect(r.problems[0]).toMatchObject({ field: 'ibinder:binder' });
    expect(r.problems[0]?.message).toContain('binder "Nope00000" does not exist');
  });

  it('lets transient errors of the folder listing through (the record is retried)', async () => {
    const { client, resolve } = setup();
    client.failNext('listTopFolders', Object.assign(new Error('socket hang up'), { name: 'IBinderNetworkError' }));
    await expect(
      resolve('inbox/x.pdf', [
        { Key: 'ibinder:binder', Value: BINDER_ID },
        { Key: 'ibinder:folder-path', Value: 'Drawings' },
      ]),
    ).rejects.toThrow('socket hang up');
  });

  it('caches listings per binder and looks again once before reporting a missing name', async () => {
    const { client, folders, advance } = setup();
    expect(await folders.resolvePath(BINDER_ID, 'Drawings/Structural')).toMatchObject({ ok: true, folderId: 'f-struct' });
    expect(await folders.resolvePath(BINDER_ID, '/Drawings/ Structural /')).toMatchObject({ ok: true, folderId: 'f-struct' });
    expect(client.callCount('listTopFolders')).toBe(1);
    expect(client.callCount('listSubFolders')).toBe(1);

    const missing = await folders.resolvePath(BINDER_ID, 'Minutes');
    expect(missing).toMatchObject({ ok: false, reason: 'unknown-segment', segment: 'Minutes', available: ['Drawings', 'Reports'] });
    expect(client.callCount('listTopFolders')).toBe(2);

    advance(61_000);
    await folders.resolvePath(BINDER_ID, 'Drawings');
    expect(client.callCount('listTopFolders')).toBe(3);
  });
});

describe('resolveTarget untagged objects', () => {
  it('is untagged within the grace period, counted from LastModified', async () => {
    const { resolve } = setup({ untaggedGraceSeconds: 300 });
    const within = await resolve('inbox/x.pdf', [{ Key: 'owner', Value: 'erp' }], { lastModified: new Date(NOW.getTime() - 299_000) });
    expect(within).toMatchObject({ kind: 'untagged', withinGrace: true });
    const after = await resolve('inbox/x.pdf', [], { lastModified: new Date(NOW.getTime() - 301_000) });
    expect(after).toMatchObject({ kind: 'untagged', withinGrace: false, problem: { code: 'untagged' } });
  });

  it('is not untagged when a rule or default covers the key', async () => {
    const { resolve } = setup(rules);
    expect((await resolve('inbox/x.pdf', [])).kind).toBe('resolved');
  });
});
