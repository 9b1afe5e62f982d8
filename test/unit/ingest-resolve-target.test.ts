import { describe, expect, it } from 'vitest';
import {
  chooseTarget,
  fileNameFromKey,
  matchRoutingRule,
  resolveTarget,
  type ResolveTargetInput,
} from '../../shared/connectors/ibinder/ingest/resolve-target.js';
import type { PipelineConfigInput } from '../../shared/config/runtime.js';
import { FolderResolver } from '../../shared/connectors/ibinder/folder-resolver.js';
import { parseIngestTags } from '../../shared/connectors/ibinder/tags.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { ARSTA_NFC, ARSTA_NFD, FOLDER, GUID_BINDERS, OTHER_PROJECT_ID, PROJECT_ID } from '../helpers/allowlist-fixtures.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { makeConfig } from '../helpers/ingest-factories.js';

const NOW = new Date('2025-01-15T09:00:00Z');

function setup(configOverrides: Parameters<typeof makeConfig>[0] = {}) {
  const client = new FakeIBinderClient(GUID_BINDERS);
  let clock = NOW.getTime();
  const folders = new FolderResolver(client, { ttlMs: 60_000, now: () => clock });
  const config = makeConfig(configOverrides);
  const resolve = (key: string, tags: S3Tag[], extra: Partial<ResolveTargetInput> = {}) =>
    resolveTarget({ key, tags: parseIngestTags(tags).tags, config, folders, now: NOW, lastModified: NOW, ...extra });
  return { client, folders, config, resolve, advance: (ms: number) => (clock += ms) };
}

const rules: Pick<PipelineConfigInput, 'defaultTarget' | 'routingRules'> = {
  defaultTarget: { binderId: OTHER_PROJECT_ID, folderId: FOLDER.otherInbox, metadata: { fromDefault: 'x' } },
  routingRules: [
    { prefix: 'inbox/', target: { binderId: PROJECT_ID, folderId: FOLDER.reports, metadata: { status: 's-draft' } } },
    {
      prefix: 'inbox/scanner/',
      target: {
        binderId: PROJECT_ID,
        folderPath: 'Drawings/Structural',
        metadata: { discipline: 'd-struct', status: 's-draft' },
        version: 'scan',
      },
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

  it('matches a key typed in NFD against a prefix configured in NFC, and the other way round', () => {
    const nfcRules = makeConfig({
      routingRules: [{ prefix: `inbox/${ARSTA_NFC}/`, target: { binderId: PROJECT_ID, folderPath: 'Reports' } }],
    }).routingRules;
    expect(matchRoutingRule(`inbox/${ARSTA_NFD}/a.pdf`, nfcRules)?.prefix).toBe(`inbox/${ARSTA_NFC}/`);
    const nfdConfigured = makeConfig({
      routingRules: [{ prefix: `inbox/${ARSTA_NFD}/`, target: { binderId: PROJECT_ID, folderPath: 'Reports' } }],
    });
    // The config schema keeps prefixes in NFC.
    expect(nfdConfigured.routingRules[0]?.prefix).toBe(`inbox/${ARSTA_NFC}/`);
    expect(matchRoutingRule(`inbox/${ARSTA_NFC}/a.pdf`, nfdConfigured.routingRules)).toBeDefined();
  });
});

describe('resolveTarget precedence', () => {
  it('uses the longest-prefix rule, resolving its folder path, with its metadata and version', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/sub/scan 1.pdf', []);
    expect(r.kind).toBe('resolved');
    if (r.kind !== 'resolved') return;
    expect(r.plan.source).toEqual({ kind: 'rule', prefix: 'inbox/scanner/' });
    expect(r.plan.target).toEqual({ binderId: PROJECT_ID, folderId: FOLDER.structural, folderPath: 'Drawings/Structural' });
    expect(r.ancestry).toEqual({ ids: [FOLDER.drawings, FOLDER.structural], names: ['Drawings', 'Structural'] });
    expect(r.plan.fileName).toBe('scan 1.pdf');
    expect(r.plan.fileNameField).toBe('key');
    expect(r.plan.version).toBe('scan');
    expect(r.plan.metadata).toEqual([
      { elementId: 'discipline', value: 'd-struct', field: 'routingRules[prefix="inbox/scanner/"].target.metadata.discipline' },
      { elementId: 'status', value: 's-draft', field: 'routingRules[prefix="inbox/scanner/"].target.metadata.status' },
    ]);
  });

  it('falls back to the environment default when no rule matches, locating its folder id', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('drop/a.pdf', []);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.source).toEqual({ kind: 'default' });
    expect(r.plan.target).toEqual({ binderId: OTHER_PROJECT_ID, folderId: FOLDER.otherInbox, folderPath: 'Inbox' });
  });

  it('lets tags override metadata, version, file name and folder on top of a rule', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/x.pdf', [
      { Key: 'ibinder:meta:status', Value: 'Final' },
      { Key: 'ibinder:meta:note', Value: 'hello' },
      { Key: 'ibinder:version', Value: 'C' },
      { Key: 'ibinder:filename', Value: 'Plan.pdf' },
      { Key: 'ibinder:folder', Value: FOLDER.architecture },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.target).toEqual({ binderId: PROJECT_ID, folderId: FOLDER.architecture, folderPath: 'Drawings/Architecture' });
    expect(r.plan.version).toBe('C');
    expect(r.plan.fileName).toBe('Plan.pdf');
    expect(r.plan.fileNameField).toBe('ibinder:filename');
    expect(Object.fromEntries(r.plan.metadata.map((m) => [m.elementId, [m.value, m.field]]))).toEqual({
      discipline: ['d-struct', 'routingRules[prefix="inbox/scanner/"].target.metadata.discipline'],
      status: ['Final', 'ibinder:meta:status'],
      note: ['hello', 'ibinder:meta:note'],
    });
  });

  it("keeps the rule's folder, metadata and version when the tags name the rule's own binder; tags win element by element", async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/x.pdf', [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:meta:status', Value: 's-final' },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.source).toEqual({ kind: 'tags' });
    expect(r.plan.target).toMatchObject({ binderId: PROJECT_ID, folderId: FOLDER.structural });
    expect(r.plan.version).toBe('scan');
    expect(Object.fromEntries(r.plan.metadata.map((m) => [m.elementId, [m.value, m.field]]))).toEqual({
      discipline: ['d-struct', 'routingRules[prefix="inbox/scanner/"].target.metadata.discipline'],
      status: ['s-final', 'ibinder:meta:status'],
    });
  });

  it("keeps the default target's metadata too when the tags name its binder and another folder", async () => {
    const { resolve } = setup({ defaultTarget: rules.defaultTarget });
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: OTHER_PROJECT_ID },
      { Key: 'ibinder:folder-path', Value: 'Inbox' },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.metadata).toEqual([{ elementId: 'fromDefault', value: 'x', field: 'defaultTarget.metadata.fromDefault' }]);
  });

  it('replaces the whole target when another binder is tagged: rule metadata and version are dropped', async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/scanner/x.pdf', [
      { Key: 'ibinder:binder', Value: OTHER_PROJECT_ID },
      { Key: 'ibinder:folder-path', Value: ' Inbox ' },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.source).toEqual({ kind: 'tags' });
    expect(r.plan.target).toEqual({ binderId: OTHER_PROJECT_ID, folderId: FOLDER.otherInbox, folderPath: 'Inbox' });
    expect(r.plan.metadata).toEqual([]);
    expect(r.plan.version).toBeUndefined();
  });

  it("requires a folder from the tags when another binder than the rule's is tagged, and says why", async () => {
    const { resolve } = setup(rules);
    const r = await resolve('inbox/x.pdf', [{ Key: 'ibinder:binder', Value: OTHER_PROJECT_ID }]);
    if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
    expect(r.problems[0]).toMatchObject({ code: 'target', field: 'ibinder:folder' });
    expect(r.problems[0]?.message).toContain(`not the binder of the routing rule for "inbox/" (${PROJECT_ID})`);
  });

  it('reports ingest tags without a binder when nothing else gives one', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [{ Key: 'ibinder:meta:status', Value: 's-final' }]);
    expect(r.kind === 'invalid' && r.problems[0]?.field).toBe('ibinder:binder');
  });

  it('chooses binder and folder without any lookup', () => {
    const { client, config } = setup(rules);
    const choice = chooseTarget({ key: 'inbox/scanner/x.pdf', tags: parseIngestTags([]).tags, config, now: NOW });
    expect(choice).toMatchObject({
      kind: 'chosen',
      binder: { id: PROJECT_ID, field: 'routingRules[prefix="inbox/scanner/"].target.binderId' },
      folder: { path: 'Drawings/Structural', field: 'routingRules[prefix="inbox/scanner/"].target.folderPath' },
      rule: { prefix: 'inbox/scanner/' },
    });
    expect(client.callCount('listTopFolders')).toBe(0);
  });
});

describe('resolveTarget folders by id', () => {
  it('finds a tagged folder id anywhere in the binder, whatever the case of its hexadecimal digits', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:folder', Value: FOLDER.arsta.toUpperCase() },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.target).toEqual({ binderId: PROJECT_ID, folderId: FOLDER.arsta, folderPath: `Drawings/Architecture/${ARSTA_NFC}` });
    expect(r.ancestry.ids).toEqual([FOLDER.drawings, FOLDER.architecture, FOLDER.arsta]);
  });

  it('rejects a folder id that is not in the binder before anything is uploaded, after one uncached look', async () => {
    const { client, resolve } = setup();
    const tags = [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:folder', Value: FOLDER.otherInbox },
    ];
    // Warm the cache first, so that the miss is confirmed without it.
    await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:folder', Value: FOLDER.reports },
    ]);
    const topBefore = client.callCount('listTopFolders');
    const r = await resolve('inbox/x.pdf', tags);
    if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
    expect(r.binderId).toBe(PROJECT_ID);
    expect(r.problems).toEqual([
      expect.objectContaining({
        code: 'target',
        field: 'ibinder:folder',
        message: `there is no folder with id ${FOLDER.otherInbox} in binder ${PROJECT_ID}`,
        fix: expect.stringContaining(`folders ${PROJECT_ID}`),
      }),
    ]);
    expect(client.callCount('listTopFolders')).toBe(topBefore + 1);
    expect(client.callCount('createPresignedUpload')).toBe(0);
  });
});

describe('resolveTarget folder paths', () => {
  it('names the unknown segment and lists the names available at that level', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:folder-path', Value: 'Drawings/structural' },
    ]);
    if (r.kind !== 'invalid') throw new Error(`expected invalid, got ${r.kind}`);
    expect(r.binderId).toBe(PROJECT_ID);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.field).toBe('ibinder:folder-path');
    expect(r.problems[0]?.message).toContain('no folder "structural" in "Drawings"');
    expect(r.problems[0]?.message).toContain('"Architecture", "Structural"');
  });

  it('finds a folder named in NFC when the path is typed in NFD, and commits the NFC name', async () => {
    const { resolve } = setup();
    const r = await resolve('inbox/x.pdf', [
      { Key: 'ibinder:binder', Value: PROJECT_ID },
      { Key: 'ibinder:folder-path', Value: `Drawings/Architecture/${ARSTA_NFD}` },
    ]);
    if (r.kind !== 'resolved') throw new Error(`expected resolved, got ${r.kind}`);
    expect(r.plan.target).toEqual({ binderId: PROJECT_ID, folderId: FOLDER.arsta, folderPath: `Drawings/Architecture/${ARSTA_NFC}` });
  });

  it("reports an unknown binder with iBinder's status and traceId", async () => {
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
        { Key: 'ibinder:binder', Value: PROJECT_ID },
        { Key: 'ibinder:folder-path', Value: 'Drawings' },
      ]),
    ).rejects.toThrow('socket hang up');
  });

  it('caches listings per binder and looks again once before reporting a missing name', async () => {
    const { client, folders, advance } = setup();
    expect(await folders.resolvePath(PROJECT_ID, 'Drawings/Structural')).toMatchObject({ ok: true, folderId: FOLDER.structural });
    expect(await folders.resolvePath(PROJECT_ID, '/Drawings/ Structural /')).toMatchObject({ ok: true, folderId: FOLDER.structural });
    expect(client.callCount('listTopFolders')).toBe(1);
    expect(client.callCount('listSubFolders')).toBe(1);

    const missing = await folders.resolvePath(PROJECT_ID, 'Minutes');
    expect(missing).toMatchObject({ ok: false, reason: 'unknown-segment', segment: 'Minutes', available: ['Drawings', 'Reports'] });
    expect(client.callCount('listTopFolders')).toBe(2);

    advance(61_000);
    await folders.resolvePath(PROJECT_ID, 'Drawings');
    expect(client.callCount('listTopFolders')).toBe(3);
  });
});

describe('resolveTarget file names', () => {
  it("names the document after the key's last segment in NFC", () => {
    expect(fileNameFromKey(`inbox/a/${ARSTA_NFD} plan.pdf`)).toBe(`${ARSTA_NFC} plan.pdf`);
    expect(fileNameFromKey(`inbox/a/${ARSTA_NFD} plan.pdf`)).not.toBe(`${ARSTA_NFD} plan.pdf`);
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
