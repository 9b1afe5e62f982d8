import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runExport, type RunExportProgress } from '../../functions/export-planner/run-export.js';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { ExportSidecarSchema } from '../../shared/export/sidecar.js';
import {
  FakeExportIBinder,
  TestClock,
  apiError,
  createFakeArchive,
  makeExportDeps,
  sampleMetadataElements,
  sha256Hex,
  startLedgerServer,
  type FakeArchive,
  type LedgerServer,
} from '../helpers/export-factories.js';

let server: LedgerServer;
beforeAll(async () => {
  server = await startLedgerServer();
});
afterAll(async () => {
  await server.close();
});

let ibinder: FakeExportIBinder;
let archive: FakeArchive;
let deps: PlannerDeps;
let clock: TestClock;
const noWait = (): Promise<void> => Promise.resolve();

beforeEach(async () => {
  ibinder = new FakeExportIBinder().addBinder('BinderAAA', sampleMetadataElements()).addBinder('BinderBBB', []);
  archive = createFakeArchive();
  clock = new TestClock();
  deps = makeExportDeps({ ibinder, archive, ledger: await server.newTable(), clock });
});

const archivedFiles = (): string[] => archive.keys().filter((k) => !k.startsWith('manifests/') && !k.endsWith('.metadata.json'));

describe('runExport (in-process run)', () => {
  it('exports everything on the first run, nothing on an unchanged second run, and exactly a new version on the third', async () => {
    const documents = Array.from({ length: 12 }, (_, i) =>
      ibinder.addDocument(i % 2 === 0 ? 'BinderAAA' : 'BinderBBB', `doc-${i}.pdf`, [`first ${i}`, `second ${i}`]),
    );
    const progress: RunExportProgress[] = [];

    const first = await runExport(deps, { concurrency: 3, onProgress: (p) => progress.push(p), retryDelay: noWait });

    expect(first).toMatchObject({ documentsSeen: 12, skippedUnchanged: 0, versionsEnqueued: 24, versionsExported: 24, failed: [] });
    expect(first.bytes).toBe(documents.reduce((sum, d) => sum + d.versions.reduce((s, v) => s + v.content.length, 0), 0));
    expect(archivedFiles()).toHaveLength(24);
    expect(progress.at(-1)).toEqual({ done: 24, total: 24, bytes: first.bytes });
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    const manifest = archive
      .text(first.manifestKey)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(manifest[0]).toMatchObject({ type: 'run', runId: first.runId, complete: true, versionsExported: 24, bytes: first.bytes });
    expect(manifest.filter((l) => l.type === 'version')).toHaveLength(24);
    expect(manifest.filter((l) => l.type === 'binder').map((l) => l.binderId)).toEqual(['BinderAAA', 'BinderBBB']);

    const callsAfterFirst = { ...ibinder.calls };
    clock.advance(24 * 3600 * 1000);
    const second = await runExport(deps, { retryDelay: noWait });

    expect(second).toMatchObject({ documentsSeen: 12, skippedUnchanged: 12, versionsEnqueued: 0, versionsExported: 0, bytes: 0 });
    expect(ibinder.calls.listVersions).toBe(callsAfterFirst.listVersions);
    expect(ibinder.calls.getDownloadLink).toBe(callsAfterFirst.getDownloadLink);
    expect(ibinder.calls.searchDocuments - callsAfterFirst.searchDocuments).toBe(2); // one page per binder
    expect(archive.text(second.manifestKey)).toContain('"complete":true');

    const changed = documents[3]!;
    const added = ibinder.addVersion(changed.id, { content: 'third version' });
    clock.advance(24 * 3600 * 1000);
    const third = await runExport(deps, { retryDelay: noWait });

    expect(third).toMatchObject({ documentsSeen: 12, skippedUnchanged: 11, versionsEnqueued: 1, versionsExported: 1, bytes: 13 });
    expect(ibinder.calls.listVersions - callsAfterFirst.listVersions).toBe(1);
    const key = `acme/BinderBBB/${changed.id}/${added.id}/doc-3.pdf`;
    expect(archive.text(key)).toBe('third version');
    expect(ExportSidecarSchema.parse(archive.json(`${key}.metadata.json`))).toMatchObject({
      sha256: sha256Hex('third version'),
      versionLabel: 'C',
      runId: third.runId,
    });
  });

  it('narrows a run to the binders asked for and backfills from a date', async () => {
    ibinder.addDocument('BinderAAA', 'a.pdf', [
      { content: 'old', modifiedAt: '2025-06-01T00:00:00Z' },
      { content: 'new', modifiedAt: '2026-02-01T00:00:00Z' },
    ]);
    ibinder.addDocument('BinderBBB', 'b.pdf', ['other binder']);

    const summary = await runExport(deps, { binderIds: ['BinderAAA'], since: '2026-01-01T00:00:00Z', retryDelay: noWait });

    expect(summary).toMatchObject({ documentsSeen: 1, versionsExported: 1, bytes: 3 });
    expect(archivedFiles()).toEqual([expect.stringMatching(/^acme\/BinderAAA\/doc-0001\/doc-0001-v2\/a\.pdf$/)]);
  });

  it('reports permanent failures and retries transient ones a bounded number of times', async () => {
    const gone = ibinder.addDocument('BinderAAA', 'gone.pdf', ['x']).versions[0]!;
    const flaky = ibinder.addDocument('BinderAAA', 'flaky.pdf', ['y']).versions[0]!;
    const broken = ibinder.addDocument('BinderAAA', 'broken.pdf', ['z']).versions[0]!;
    ibinder.failNext('getDownloadLink', gone.id, apiError(404, 'GET', '/raw'));
    ibinder.failNext('getDownloadLink', flaky.id, apiError(429, 'GET', '/raw'));
    ibinder.failNext(
      'getDownloadLink',
      broken.id,
      apiError(500, 'GET', '/raw'),
      apiError(500, 'GET', '/raw'),
      apiError(500, 'GET', '/raw'),
    );

    const summary = await runExport(deps, { binderIds: ['BinderAAA'], maxAttempts: 3, retryDelay: noWait });

    expect(summary.versionsExported).toBe(1);
    expect(summary.failed.map((f) => [f.versionId, f.kind]).sort()).toEqual(
      [
        [gone.id, 'permanent'],
        [broken.id, 'transient'],
      ].sort(),
    );
    const manifest = archive
      .text(summary.manifestKey)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(manifest[0]).toMatchObject({ complete: false, versionsExported: 1, failed: 1, unfinished: 1 });
    expect(manifest.find((l) => l.versionId === broken.id)).toMatchObject({ status: 'unfinished', attempts: 3 });
    expect(manifest.find((l) => l.versionId === flaky.id)).toMatchObject({ status: 'exported' });
  });
});
