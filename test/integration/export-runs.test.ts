/**
 * Nightly export runs on the local stack: the iBinder emulator over HTTP, the archive bucket in
 * the local S3 server and the export ledger in the local DynamoDB server, driven by the
 * in-process run (`runExport`: the planner's and the worker's own code, an array for a queue).
 * Each test works on binders of its own, so the tests do not depend on one another.
 */
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SEED_IDS, startEmulator } from '../../emulator/index.js';
import type { VersionRecord } from '../../emulator/types.js';
import { runExport } from '../../functions/export-planner/run-export.js';
import { createLocalIBinderClient } from '../../local/local-ingest-dependencies.js';
import { localPipelineConfig } from '../../local/local-pipeline-config.js';
import type { ExportDeps } from '../../shared/export/deps.js';
import type { ExportSettings } from '../../shared/export/settings.js';
import {
  ArchiveReader,
  ArchiveWrites,
  CallDelta,
  EXPORT_ROUTE,
  FAST_IBINDER_RETRIES,
  addProjectBinder,
  describeBinder,
  expectedArchiveKey,
  exportLedgerItem,
  noRetryDelay,
  sha256Hex,
  simpleDocuments,
  type ProjectBinder,
} from '../helpers/export-scenarios.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';

let stack: LocalStack;
let archive: ArchiveReader;
let tenantId: string;

beforeAll(async () => {
  stack = await startLocalStack();
  archive = new ArchiveReader(stack.services.s3.client, stack.services.archiveBucket);
  tenantId = stack.config.tenantId;
});

afterAll(async () => {
  await stack?.stop();
});

function exportDeps(settings: Partial<ExportSettings> = {}): ExportDeps {
  return stack.createExportDeps({ ibinderClient: createLocalIBinderClient(stack.services, FAST_IBINDER_RETRIES), settings });
}

function versionsOf(binder: ProjectBinder): Array<{ document: ProjectBinder['documents'][number]; version: VersionRecord }> {
  return binder.documents.flatMap((document) =>
    document.versionIds.map((versionId) => {
      const version = stack.services.emulator.state.getVersion(versionId);
      if (!version) throw new Error(`version ${versionId} is not in the emulator`);
      return { document, version };
    }),
  );
}

/** The archive keys of these versions, each file followed by its sidecar, sorted. */
function filesAndSidecars(binderId: string, versions: ReturnType<typeof versionsOf>): string[] {
  return versions
    .flatMap(({ document, version }) => {
      const key = expectedArchiveKey(tenantId, binderId, document, version.id);
      return [key, `${key}.metadata.json`];
    })
    .sort();
}

/** What the sidecar says about each metadata value: the element's and the value's labels from the binder's schema. */
function labelledMetadata(binderId: string, folderId: string, version: VersionRecord): unknown[] {
  const { state } = stack.services.emulator;
  const elements = state.metadataElements(binderId);
  return state.wireMetadata(binderId, folderId, version.metadata).map((value) => {
    const element = elements.find((e) => e.id === value.metadataElementId);
    const valueLabel = !element
      ? null
      : element.allowedValues.length === 0
        ? value.valueId
        : (element.allowedValues.find((a) => a.id === value.valueId)?.label ?? null);
    return { metadataElementId: value.metadataElementId, label: element?.label ?? null, valueId: value.valueId, valueLabel };
  });
}

describe('nightly export on the local stack', () => {
  it('first run: exports every version of every seed document in the configured binders, with sidecars, ledger entries and a manifest', async () => {
    const { services } = stack;
    const { state } = services.emulator;
    const configured = [DEFAULT_SEED_IDS.harbourOffice.binderId, DEFAULT_SEED_IDS.riversideHousing.binderId];
    addProjectBinder(state, 'NOTCONF01', simpleDocuments('not-configured', 2));
    const binders = configured.map((binderId) => describeBinder(state, binderId));
    const versions = binders.map((binder) => versionsOf(binder));
    const documentCount = binders.reduce((n, b) => n + b.documents.length, 0);
    const versionCount = versions.reduce((n, v) => n + v.length, 0);
    expect(documentCount).toBeGreaterThan(3);
    expect(versionCount).toBeGreaterThan(documentCount);
    const calls = new CallDelta(services.emulator);
    const startedAfter = Date.now();

    const deps = stack.createExportDeps({
      config: localPipelineConfig(services, { exportBinders: configured }),
      ibinderClient: createLocalIBinderClient(services, FAST_IBINDER_RETRIES),
    });
    const summary = await runExport(deps, { retryDelay: noRetryDelay });

    const totalBytes = versions.flat().reduce((n, { version }) => n + version.blob.size, 0);
    expect(summary).toMatchObject({
      documentsSeen: documentCount,
      skippedUnchanged: 0,
      versionsEnqueued: versionCount,
      versionsExported: versionCount,
      alreadyExported: 0,
      bytes: totalBytes,
      failed: [],
    });

    // One page per binder, one versions call per document, one link and one download per version.
    expect(calls.byRoute()).toEqual({
      [EXPORT_ROUTE.search]: 2,
      [EXPORT_ROUTE.metadata]: 2,
      [EXPORT_ROUTE.versions]: documentCount,
      [EXPORT_ROUTE.raw]: versionCount,
      [EXPORT_ROUTE.storageGet]: versionCount,
    });

    // Exactly a file and a sidecar per version, nothing from a binder that is not configured.
    for (const [i, binder] of binders.entries()) {
      expect(await archive.keys(`${tenantId}/${binder.binderId}/`)).toEqual(filesAndSidecars(binder.binderId, versions[i] ?? []));
    }
    expect(await archive.keys(`${tenantId}/NOTCONF01/`)).toEqual([]);

    for (const [i, binder] of binders.entries()) {
      for (const { document, version } of versions[i] ?? []) {
        const key = expectedArchiveKey(tenantId, binder.binderId, document, version.id);
        const bytes = await archive.bytes(key);
        const content = await state.versionContent(version.id);
        expect(bytes).toEqual(await buffer(state.openVersionContent(version.id)));
        expect({ sha256: sha256Hex(bytes ?? ''), size: bytes?.length }).toEqual(content);

        const sidecar = await archive.sidecar(key);
        expect(sidecar).toEqual({
          tenantId,
          binderId: binder.binderId,
          documentId: document.documentId,
          versionId: version.id,
          fileName: document.fileName,
          versionLabel: version.version,
          status: version.status,
          modifiedAt: new Date(version.createdAt).toISOString(),
          metadata: labelledMetadata(binder.binderId, document.folderId, version),
          size: content.size,
          sha256: content.sha256,
          sha256Base64: Buffer.from(content.sha256, 'hex').toString('base64'),
          exportedAt: expect.any(String),
          runId: summary.runId,
          archiveKey: key,
          source: 'ibinder',
          formatVersion: 1,
        });
        expect(Date.parse(sidecar.exportedAt)).toBeGreaterThanOrEqual(startedAfter - 1000);

        expect(await exportLedgerItem(services, version.id)).toMatchObject({
          state: 'exported',
          archiveKey: key,
          sha256: content.sha256,
          sha256Base64: sidecar.sha256Base64,
          size: content.size,
          runId: summary.runId,
          documentId: document.documentId,
          binderId: binder.binderId,
        });
      }
    }

    // A labelled value people recognise: the seed's A-101 revision C.
    const harbour = binders[0] as ProjectBinder;
    const a101 = harbour.documents.find((d) => d.fileName === 'A-101 Ground floor plan.pdf');
    const revisionC = a101?.versionIds.at(-1) ?? '';
    const a101Sidecar = await archive.sidecar(
      expectedArchiveKey(tenantId, harbour.binderId, a101 ?? { documentId: '', fileName: '' }, revisionC),
    );
    expect(a101Sidecar.versionLabel).toBe('C');
    expect(a101Sidecar.metadata).toEqual(
      expect.arrayContaining([
        { metadataElementId: 'discipline', label: 'Discipline', valueId: 'ARC', valueLabel: 'Architecture' },
        { metadataElementId: 'documentNumber', label: 'Document number', valueId: 'A-101', valueLabel: 'A-101' },
        { metadataElementId: 'status', label: 'Status', valueId: 'APPROVED', valueLabel: 'Approved' },
      ]),
    );

    // The manifest: manifests/<UTC start date>/<runId>.jsonl, a run line, a line per binder and per version.
    const manifest = await archive.manifest(summary.manifestKey);
    const startedAt = String(manifest.run.startedAt);
    expect(Date.parse(startedAt)).toBeGreaterThanOrEqual(startedAfter - 1000);
    expect(summary.manifestKey).toBe(`manifests/${new Date(startedAt).toISOString().slice(0, 10)}/${summary.runId}.jsonl`);
    expect(manifest.run).toMatchObject({
      type: 'run',
      runId: summary.runId,
      tenantId,
      source: 'ibinder',
      trigger: 'manual',
      since: null,
      complete: true,
      binders: 2,
      documentsSeen: documentCount,
      skippedUnchanged: 0,
      versionsEnqueued: versionCount,
      versionsExported: versionCount,
      alreadyExported: 0,
      failed: 0,
      unfinished: 0,
      bytes: totalBytes,
    });
    expect(manifest.binders.map((b) => [b.binderId, b.documentsSeen, b.versionsEnqueued])).toEqual(
      binders.map((b, i) => [b.binderId, b.documents.length, versions[i]?.length]),
    );
    expect(manifest.versions).toHaveLength(versionCount);
    for (const [i, binder] of binders.entries()) {
      for (const { document, version } of versions[i] ?? []) {
        const content = await state.versionContent(version.id);
        expect(manifest.versions.filter((l) => l.versionId === version.id)).toEqual([
          expect.objectContaining({
            status: 'exported',
            runId: summary.runId,
            binderId: binder.binderId,
            documentId: document.documentId,
            fileName: document.fileName,
            versionLabel: version.version,
            archiveKey: expectedArchiveKey(tenantId, binder.binderId, document, version.id),
            size: content.size,
            sha256: content.sha256,
          }),
        ]);
      }
    }
  });

  it('second run with no changes: exports nothing and makes only the page calls', async () => {
    const { services } = stack;
    const binder = addProjectBinder(services.emulator.state, 'UNCHANGED', [
      ...simpleDocuments('unchanged', 4),
      { fileName: 'unchanged-two-versions.pdf', versions: [{ content: 'first' }, { content: 'second' }] },
    ]);
    const first = await runExport(exportDeps({ pageSize: 2 }), { binderIds: [binder.binderId], retryDelay: noRetryDelay });
    expect(first).toMatchObject({ versionsExported: 6, failed: [] });
    const prefix = `${tenantId}/${binder.binderId}/`;
    const archivedBefore = await archive.keys(prefix);
    expect(archivedBefore).toHaveLength(12);
    const writes = new ArchiveWrites(services);
    const calls = new CallDelta(services.emulator);

    const second = await runExport(exportDeps({ pageSize: 2 }), { binderIds: [binder.binderId], retryDelay: noRetryDelay });
    writes.stop();

    expect(second).toMatchObject({ documentsSeen: 5, skippedUnchanged: 5, versionsEnqueued: 0, versionsExported: 0, bytes: 0, failed: [] });
    // Five documents at two a page: three search calls, and not one call more.
    expect(calls.byRoute()).toEqual({ [EXPORT_ROUTE.search]: 3 });
    expect(await archive.keys(prefix)).toEqual(archivedBefore);
    expect(writes.keys(prefix)).toEqual([]);
    expect(writes.keys('manifests/')).toContain(second.manifestKey);

    const manifest = await archive.manifest(second.manifestKey);
    expect(manifest.run).toMatchObject({
      runId: second.runId,
      complete: true,
      documentsSeen: 5,
      skippedUnchanged: 5,
      versionsEnqueued: 0,
      versionsExported: 0,
      bytes: 0,
    });
    expect(manifest.binders).toEqual([
      expect.objectContaining({ binderId: binder.binderId, pages: 3, documentsSeen: 5, skippedUnchanged: 5, versionsEnqueued: 0 }),
    ]);
    expect(manifest.versions).toEqual([]);
  });

  it('a new version of one document: exports exactly that version, with one versions call and one link call', async () => {
    const { services } = stack;
    const { state } = services.emulator;
    const binder = addProjectBinder(state, 'NEWVERS01', simpleDocuments('changing', 3));
    await runExport(exportDeps(), { binderIds: [binder.binderId], retryDelay: noRetryDelay });
    const prefix = `${tenantId}/${binder.binderId}/`;
    const archivedBefore = await archive.keys(prefix);
    const changed = binder.documents[1];
    if (!changed) throw new Error('unreachable');
    const content = 'S-201 revision B: beam depth 450 mm\n';
    const added = state.addVersion(changed.documentId, { content, versionLabel: 'B', metadata: { discipline: 'STR', status: 'APPROVED' } });
    const calls = new CallDelta(services.emulator);

    const summary = await runExport(exportDeps(), { binderIds: [binder.binderId], retryDelay: noRetryDelay });

    expect(summary).toMatchObject({
      documentsSeen: 3,
      skippedUnchanged: 2,
      versionsEnqueued: 1,
      versionsExported: 1,
      bytes: Buffer.byteLength(content),
      failed: [],
    });
    expect(calls.byRoute()).toEqual({
      [EXPORT_ROUTE.search]: 1,
      [EXPORT_ROUTE.versions]: 1,
      [EXPORT_ROUTE.metadata]: 1,
      [EXPORT_ROUTE.raw]: 1,
      [EXPORT_ROUTE.storageGet]: 1,
    });
    const key = expectedArchiveKey(tenantId, binder.binderId, changed, added.id);
    expect(await archive.keys(prefix)).toEqual([...archivedBefore, key, `${key}.metadata.json`].sort());
    expect((await archive.bytes(key))?.toString('utf8')).toBe(content);
    const sidecar = await archive.sidecar(key);
    expect(sidecar).toMatchObject({
      versionId: added.id,
      versionLabel: 'B',
      sha256: sha256Hex(content),
      size: Buffer.byteLength(content),
      runId: summary.runId,
    });
    expect(sidecar.metadata).toEqual(
      expect.arrayContaining([
        { metadataElementId: 'discipline', label: 'Discipline', valueId: 'STR', valueLabel: 'Structural' },
        { metadataElementId: 'status', label: 'Status', valueId: 'APPROVED', valueLabel: 'Approved' },
      ]),
    );
    expect(await exportLedgerItem(services, added.id)).toMatchObject({
      state: 'exported',
      archiveKey: key,
      sha256: sha256Hex(content),
      runId: summary.runId,
    });
    const manifest = await archive.manifest(summary.manifestKey);
    expect(manifest.run).toMatchObject({ complete: true, versionsEnqueued: 1, versionsExported: 1, skippedUnchanged: 2 });
    expect(manifest.versions).toEqual([expect.objectContaining({ versionId: added.id, status: 'exported', archiveKey: key })]);
  });

  it('a 1-document backfill with since: exports only the versions modified at or after it', async () => {
    const { services } = stack;
    const since = '2024-06-01T00:00:00Z';
    const binder = addProjectBinder(services.emulator.state, 'BACKFILL1', [
      {
        fileName: 'Handover manual.pdf',
        versions: [
          { createdAt: '2024-01-10T08:00:00Z', version: 'A', content: 'manual A' },
          { createdAt: since, version: 'B', content: 'manual B (exactly at since)' },
          { createdAt: '2024-09-15T08:00:00Z', version: 'C', content: 'manual C' },
        ],
      },
    ]);
    const document = binder.documents[0];
    if (!document) throw new Error('unreachable');
    const [before, atSince, after] = document.versionIds as [string, string, string];

    const summary = await runExport(exportDeps(), { binderIds: [binder.binderId], since, retryDelay: noRetryDelay });

    expect(summary).toMatchObject({ documentsSeen: 1, versionsEnqueued: 2, versionsExported: 2, failed: [] });
    expect(await archive.keys(`${tenantId}/${binder.binderId}/`)).toEqual(
      [atSince, after]
        .flatMap((v) => [
          expectedArchiveKey(tenantId, binder.binderId, document, v),
          `${expectedArchiveKey(tenantId, binder.binderId, document, v)}.metadata.json`,
        ])
        .sort(),
    );
    expect((await archive.bytes(expectedArchiveKey(tenantId, binder.binderId, document, atSince)))?.toString('utf8')).toBe(
      'manual B (exactly at since)',
    );
    expect(await exportLedgerItem(services, before)).toBeUndefined();
    expect(await exportLedgerItem(services, atSince)).toMatchObject({ state: 'exported' });
    expect(await exportLedgerItem(services, after)).toMatchObject({ state: 'exported' });
    const manifest = await archive.manifest(summary.manifestKey);
    expect(manifest.run).toMatchObject({ since, complete: true, versionsEnqueued: 2, versionsExported: 2 });
    expect(manifest.versions.map((l) => [l.versionId, l.status, l.modifiedAt])).toEqual(
      expect.arrayContaining([
        [atSince, 'exported', '2024-06-01T00:00:00.000Z'],
        [after, 'exported', '2024-09-15T08:00:00.000Z'],
      ]),
    );
    expect(manifest.versions).toHaveLength(2);
  });
});

describe('download links, both readings of discrepancy B', () => {
  async function exportFromEmulatorWith(path: 'raw' | 'downloadlink', binderId: string) {
    const emulator = await startEmulator({ seed: 'empty', downloadLinkPaths: [path] });
    try {
      const binder = addProjectBinder(emulator.state, binderId, [
        ...simpleDocuments(`only-${path}`, 2),
        { fileName: `only-${path}-revised.pdf`, versions: [{ content: 'rev A' }, { content: 'rev B' }] },
      ]);
      // A fresh memory of which path answers, so that nothing learnt from another emulator applies.
      const client = createLocalIBinderClient({ emulator }, { ...FAST_IBINDER_RETRIES, downloadLinkRoutes: new Map() });
      const summary = await runExport(stack.createExportDeps({ ibinderClient: client }), {
        binderIds: [binderId],
        concurrency: 1,
        retryDelay: noRetryDelay,
      });
      const archived: Array<{ key: string; sha256: string | undefined; expected: string }> = [];
      for (const document of binder.documents) {
        for (const versionId of document.versionIds) {
          const key = expectedArchiveKey(tenantId, binderId, document, versionId);
          const bytes = await archive.bytes(key);
          archived.push({ key, sha256: bytes && sha256Hex(bytes), expected: (await emulator.state.versionContent(versionId)).sha256 });
        }
      }
      return { summary, archived, calls: emulator.calls };
    } finally {
      await emulator.close();
    }
  }

  it('an API with only /raw (the reference): links come from /raw, /downloadlink is never called', async () => {
    const { summary, archived, calls } = await exportFromEmulatorWith('raw', 'ONLYRAW01');
    expect(summary).toMatchObject({ versionsExported: 4, failed: [] });
    for (const file of archived) expect(file.sha256).toBe(file.expected);
    expect(calls.count(EXPORT_ROUTE.raw, 200)).toBe(4);
    expect(calls.count(EXPORT_ROUTE.raw)).toBe(4);
    expect(calls.count(EXPORT_ROUTE.downloadLink)).toBe(0);
  });

  it('an API with only /downloadlink (the quickstart): the export falls back to it once and keeps using it', async () => {
    const { summary, archived, calls } = await exportFromEmulatorWith('downloadlink', 'ONLYDLINK');
    expect(summary).toMatchObject({ versionsExported: 4, failed: [] });
    for (const file of archived) expect(file.sha256).toBe(file.expected);
    expect(calls.count(EXPORT_ROUTE.raw)).toBe(1);
    expect(calls.count(EXPORT_ROUTE.raw, 404)).toBe(1);
    expect(calls.count(EXPORT_ROUTE.downloadLink, 200)).toBe(4);
    expect(calls.count(EXPORT_ROUTE.storageGet, 200)).toBe(4);
  });
});
