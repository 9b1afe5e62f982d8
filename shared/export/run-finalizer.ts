/**
 * Assembles a run's manifest from its parts and marks the run finalized.
 *
 * Who calls it: the worker that settles a run's last job, the planner when it finishes
 * planning after every job has settled already, the next scheduled planner for a run that
 * never completed (a job in the dead-letter queue), and a person who invokes the planner with
 * the run's id. Writing is idempotent: the manifest is rebuilt from all parts each time, so two
 * callers racing write the same content, and a later call only adds what settled since.
 */
import type { ManifestStore } from './manifest-store.js';
import type { ExportMetrics } from './metrics.js';
import type { DeletedAssetLine } from '../connectors/bynder/export/manifest-lines.js';
import { MANIFEST_FORMAT_VERSION, reduceVersionLines, type BinderLine, type RunLine, type VersionLine } from './manifest.js';
import type { ExportRunState, ExportRunStore } from './run-store.js';

export interface RunFinalizerDeps {
  runs: ExportRunStore;
  manifests: ManifestStore;
  clock: () => Date;
  /** Name of the source system, recorded in the run line (a run that names its connector wins). */
  sourceName: string;
  /** Told when a run is finalized for the first time (its outcome); rewrites are not counted. */
  metrics?: Pick<ExportMetrics, 'runFinalized'>;
}

export interface FinalizedRun {
  manifestKey: string;
  summary: RunLine;
  versions: VersionLine[];
}

export async function finalizeRun(run: ExportRunState, deps: RunFinalizerDeps): Promise<FinalizedRun> {
  const now = deps.clock();
  const { lines } = await deps.manifests.readParts(run);
  const binderLines = new Map<string, BinderLine>();
  const versionLines: VersionLine[] = [];
  const deletedAssets = new Map<string, DeletedAssetLine>();
  for (const line of lines) {
    if (line.type === 'binder') binderLines.set(line.binderId, line);
    else if (line.type === 'deleted-asset') {
      if (line.runId === run.runId && !deletedAssets.has(line.assetId)) deletedAssets.set(line.assetId, line);
    } else if (line.runId === run.runId) versionLines.push(line);
  }
  const versions = reduceVersionLines(versionLines);
  const countOf = (status: VersionLine['status']): number => versions.filter((v) => v.status === status).length;
  const finalCount = countOf('exported') + countOf('already-exported') + countOf('failed');
  const summary: RunLine = {
    type: 'run',
    formatVersion: MANIFEST_FORMAT_VERSION,
    runId: run.runId,
    tenantId: run.tenantId,
    source: run.connector ?? deps.sourceName,
    trigger: run.trigger,
    since: run.since ?? null,
    startedAt: run.startedAt,
    plannedAt: run.plannedAt ?? null,
    finalizedAt: now.toISOString(),
    complete: run.state !== 'planning' && finalCount >= run.versionsEnqueued,
    binders: run.binderIds.length,
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    documentErrors: run.documentErrors,
    binderErrors: run.binderErrors,
    versionsEnqueued: run.versionsEnqueued,
    versionsExported: countOf('exported'),
    alreadyExported: countOf('already-exported'),
    failed: countOf('failed'),
    unfinished: Math.max(0, run.versionsEnqueued - finalCount),
    bytes: versions.reduce((sum, v) => sum + (v.status === 'exported' ? (v.size ?? 0) : 0), 0),
    ...(run.connector === 'bynder' ? { deletedAssets: deletedAssets.size } : {}),
  };
  const orderedBinders = run.binderIds.flatMap((id) => {
    const line = binderLines.get(id);
    return line ? [line] : [];
  });
  const manifestKey = await deps.manifests.writeManifest(run, [
    summary,
    ...orderedBinders,
    ...versions,
    ...[...deletedAssets.values()].sort((a, b) => a.assetId.localeCompare(b.assetId)),
  ]);
  if (run.state !== 'planning') await deps.runs.markFinalized(run.runId, now);
  if (run.state === 'planned') deps.metrics?.runFinalized({ trigger: run.trigger, complete: summary.complete });
  return { manifestKey, summary, versions };
}
