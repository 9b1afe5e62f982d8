/**
 * The export planner for a Bynder portal: one run reads the portal's change feed (assets
 * modified since the stored bookmark, shared/connectors/bynder/export/changes.ts) and puts one
 * job per new asset version on the export queue, with the same run store, ledger, queue and
 * manifest as iBinder's runs (functions/export-planner/plan.ts, which calls this one through
 * shared/connectors/export-planning.ts).
 *
 * A run:
 * 1. is created with its frozen window (bookmark minus the overlap, up to the run's start; a
 *    manual run's `since` replaces the bookmark) and the assets to plan again by id: those of
 *    the version lines the previous run left `failed` or `unfinished`. The bookmark has moved
 *    past them, so no listing returns them until they change again;
 * 2. plans those assets, then the feed page by page: per asset one `?versions=1` call and one
 *    ledger read (`newVersionsOf`); an asset that answers 404 is recorded as deleted in the
 *    manifest (nothing in the archive is touched); an asset that cannot be planned (no
 *    versions named, a refusal) is held back (`holdBack`), so the bookmark stays before it and
 *    the next run lists it again;
 * 3. after each page, counts the versions once per run (`recordEnqueued`), sends the jobs,
 *    writes the page's manifest part (an `enqueued` line per version, so a version no worker
 *    reached is still named in the manifest as unfinished, and a `deleted-asset` line per
 *    deletion) and saves the cursor;
 * 4. when the feed is done, stores the next bookmark (with this run's id) and marks the run
 *    planned; the worker that settles the last job writes the manifest, as for iBinder.
 *
 * An unchanged night costs the list calls only: the feed repeats nothing it yielded before
 * (the bookmark remembers the ids of its last seconds).
 *
 * Pausing. Before each page the invocation's remaining time is checked. A 429 from Bynder
 * (BynderThrottled) blocks every call from the portal's integration for minutes: the planner
 * then stops at once, with the cursor of the last page it finished (the page in flight is read
 * again; the ledger and the run's per-version count make its repeats no-ops) and ends the
 * invocation without an error; the next invocation (the schedule, a person with the run's
 * id) resumes the run from that cursor.
 */
import pLimit from 'p-limit';
import {
  type BynderExportContext,
  type ChangeBookmark,
  type ChangeCursor,
  type DeletedAssetLine,
  deletedAssetLine,
  exportJobOfBynderVersion,
  holdBack,
  type ListedAsset,
  newVersionsOf,
  nextBookmark,
  parseChangeCursor,
  readChangePage,
  resolveExportBrandIds,
  startChangeCursor,
} from './index.js';
import type { PlannerDeps } from '../../../export/deps.js';
import { classifyExportError } from '../../../export/errors.js';
import type { ExportJob } from '../../../export/job.js';
import { type PartLineInput, reduceVersionLines, type VersionLine, versionLineOfJob } from '../../../export/manifest.js';
import { finalizeRun } from '../../../export/run-finalizer.js';
import { type ExportRunState, isRunSettled, type ReplanAsset, type RunTrigger } from '../../../export/run-store.js';
import type { PlanBudget, PlanResult } from '../../../export/plan-result.js';
import { createRunWithFreshId, takePlanningLease } from '../../../export/planner-run.js';

export const BYNDER_CONNECTOR = 'bynder';

export interface BynderPlanRequest {
  trigger: RunTrigger;
  /** Bookmark override: the feed starts at this ISO date (minus the overlap) instead of the stored bookmark. */
  since?: string | undefined;
  /** Resume (or create with this id) a specific run. */
  runId?: string | undefined;
}

export class BynderPlanRequestError extends Error {
  override readonly name = 'BynderPlanRequestError';
}

/** The ledger key of a portal's bookmark. */
export function bynderFeedKey(portal: string): string {
  return `${BYNDER_CONNECTOR}#${portal}`;
}

/** Why a planning invocation stopped before the feed was done. */
class PlanningPaused extends Error {
  override readonly name = 'PlanningPaused';
  constructor(readonly retryAfterMs: number) {
    super(`Bynder blocked the integration (429); planning pauses for ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

export async function planBynderExport(request: BynderPlanRequest, deps: PlannerDeps, budget: PlanBudget): Promise<PlanResult> {
  const bynder = deps.bynder;
  if (bynder === undefined) {
    throw new BynderPlanRequestError(
      'a Bynder export was asked for, but the environment configures no bynder connector; add bynder to its config, or export ibinder',
    );
  }
  const opened = await openBynderRun(request, deps, bynder, budget);
  if ('result' in opened) return opened.result;
  const { run, resumed, finalizedPreviousRunId } = opened;
  const extras = finalizedPreviousRunId !== undefined ? { finalizedPreviousRunId } : {};

  const lease = await takePlanningLease(run.runId, deps, budget);
  if (lease === undefined) {
    return {
      ...summarize(run, 'planning', resumed),
      ...extras,
      message: `Bynder run ${run.runId} is being planned by another invocation right now; nothing was done`,
    };
  }
  const { owner, marginMs: margin, leaseMs } = lease;
  if (resumed) deps.logger.info('resuming Bynder export run', { runId: run.runId, connector: BYNDER_CONNECTOR });

  let cursor = readCursor(run);
  const counts = {
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    documentErrors: run.documentErrors,
    deletedAssets: run.deletedAssets ?? 0,
  };
  let versionsEnqueued = run.versionsEnqueued;
  let replanLeft: ListedAsset[] = [];
  const save = (next: ChangeCursor) =>
    deps.runs.saveChangeCursor(
      run.runId,
      owner,
      {
        cursor: JSON.stringify(next),
        ...counts,
        replanLeft: replanLeft.map((a) => ({ id: a.id, brandId: a.brandId, name: a.name })),
      },
      deps.clock(),
      leaseMs(),
    );

  let pause: 'time' | 'throttled' | undefined;
  let pauseMs: number | undefined;
  try {
    if (run.replan && run.replan.length > 0) {
      const planned = await planAssets(
        run.replan.map((a) => ({ id: a.id, brandId: a.brandId, name: a.name })),
        run,
        deps,
        bynder,
      );
      add(counts, planned);
      versionsEnqueued += planned.versionsEnqueued;
      if (planned.heldBack.length > 0) {
        // No listing date to hold the bookmark at: the run keeps them, and the next run plans them again by id.
        replanLeft = planned.heldBack;
        deps.logger.warn('assets planned again by id could not be planned this time either; the next run tries them again', {
          runId: run.runId,
          connector: BYNDER_CONNECTOR,
          assetIds: planned.heldBack.map((a) => a.id),
        });
      }
      await save(cursor);
    }
    while (!cursor.done) {
      if (budget.remainingTimeMs() < margin) {
        pause = 'time';
        break;
      }
      const page = await readChangePage(bynder.client, cursor);
      const planned = await planAssets(page.assets, run, deps, bynder);
      add(counts, planned);
      versionsEnqueued += planned.versionsEnqueued;
      cursor = holdBack(page.cursor, planned.heldBack);
      deps.metrics.pagePlanned(page.assets.length, planned.skippedUnchanged, planned.versionsEnqueued);
      await save(cursor);
    }
  } catch (err) {
    const paused = err instanceof PlanningPaused ? err : throttleOf(err);
    await deps.runs.releasePlanningLease(run.runId, owner).catch(() => undefined);
    if (!paused) throw err;
    pause = 'throttled';
    pauseMs = paused.retryAfterMs;
  }

  if (pause !== undefined) {
    if (pause === 'time') await deps.runs.releasePlanningLease(run.runId, owner);
    const result = {
      ...summarize({ ...run, ...counts, versionsEnqueued }, 'planning', resumed),
      ...extras,
      paused: pause,
      ...(pauseMs !== undefined ? { retryAfterMs: pauseMs } : {}),
    };
    deps.logger.info(
      pause === 'time'
        ? 'Bynder planning paused: the invocation is running out of time'
        : 'Bynder planning paused: Bynder blocked the integration (429); the cursor is saved',
      { ...result },
    );
    const how = `the next scheduled invocation resumes it, or invoke {"source":"manual","connector":"bynder","runId":"${run.runId}"}`;
    return {
      ...result,
      message:
        pause === 'time'
          ? `Bynder run ${run.runId} paused after ${cursor.listCalls} list call(s) (time budget); ${how}`
          : `Bynder run ${run.runId} paused: Bynder blocked the integration (429) for ${Math.ceil((pauseMs ?? 0) / 1000)} s; ${how} once the block is over`,
    };
  }

  const bookmark = nextBookmark(cursor);
  const stored = await deps.runs.getBookmark(bynderFeedKey(bynder.portal));
  await deps.runs.setBookmark(
    bynderFeedKey(bynder.portal),
    {
      ...(bookmark !== undefined
        ? { bookmark: JSON.stringify(bookmark) }
        : stored?.bookmark !== undefined
          ? { bookmark: stored.bookmark }
          : {}),
      runId: run.runId,
    },
    deps.clock(),
  );
  const plannedRun = await deps.runs.markPlanned(run.runId, owner, deps.clock());
  let manifestKey: string | undefined;
  if (isRunSettled(plannedRun)) {
    manifestKey = (await finalizeRun(plannedRun, { ...deps, sourceName: BYNDER_CONNECTOR })).manifestKey;
  }
  const result: PlanResult = {
    ...summarize(plannedRun, manifestKey ? 'finalized' : 'planned', resumed),
    ...extras,
    listCalls: cursor.listCalls,
    ...(manifestKey ? { manifestKey } : {}),
    message: manifestKey
      ? `Bynder run ${run.runId} planned; nothing to export, manifest written to ${manifestKey}`
      : `Bynder run ${run.runId} planned: ${plannedRun.versionsEnqueued} version(s) enqueued; the manifest is written when the last one is done`,
  };
  deps.logger.info('Bynder planning complete', { ...result, bookmark: bookmark?.at });
  return result;
}

interface AssetsPlan {
  documentsSeen: number;
  skippedUnchanged: number;
  documentErrors: number;
  deletedAssets: number;
  versionsEnqueued: number;
  /** Assets that could not be planned: the bookmark stays before them. */
  heldBack: ListedAsset[];
}

/**
 * Plans these assets (see the module's JSDoc). A 429 anywhere throws PlanningPaused before
 * anything of them is sent, so the page is planned again by the next invocation.
 */
async function planAssets(
  assets: readonly ListedAsset[],
  run: ExportRunState,
  deps: PlannerDeps,
  bynder: BynderExportContext,
): Promise<AssetsPlan> {
  const plan: AssetsPlan = {
    documentsSeen: assets.length,
    skippedUnchanged: 0,
    documentErrors: 0,
    deletedAssets: 0,
    versionsEnqueued: 0,
    heldBack: [],
  };
  if (assets.length === 0) return plan;
  const limit = pLimit(Math.max(1, deps.settings.versionsConcurrency));
  const exportedAmong = (keys: readonly string[]) => deps.ledger.exportedAmong([...keys]);
  const at = deps.clock();
  const jobs: ExportJob[] = [];
  const deleted: DeletedAssetLine[] = [];
  await Promise.all(
    assets.map((listed) =>
      limit(async () => {
        try {
          const found = await newVersionsOf(bynder.client, listed, exportedAmong, { portal: bynder.portal });
          if (found.deleted) {
            deleted.push(deletedAssetLine(found, { runId: run.runId, portal: bynder.portal, at }));
            return;
          }
          if (found.newVersions.length === 0) plan.skippedUnchanged++;
          for (const version of found.newVersions) jobs.push(exportJobOfBynderVersion(version, found.asset, run));
        } catch (err) {
          const throttled = throttleOf(err);
          if (throttled) throw throttled;
          const error = classifyExportError(err);
          plan.heldBack.push(listed);
          plan.documentErrors++;
          deps.logger.warn('a changed Bynder asset could not be planned; the bookmark stays before it, so the next run lists it again', {
            runId: run.runId,
            connector: BYNDER_CONNECTOR,
            brandId: listed.brandId,
            assetId: listed.id,
            ...error,
          });
        }
      }),
    ),
  );
  plan.deletedAssets = deleted.length;
  const versionIds = [...new Set(jobs.map((j) => j.versionId))];
  plan.versionsEnqueued = versionIds.length > 0 ? await deps.runs.recordEnqueued(run.runId, versionIds, deps.clock()) : 0;
  const lines: PartLineInput[] = [...jobs.map((job): PartLineInput => ({ ...versionLineOfJob(job, at), status: 'enqueued' })), ...deleted];
  if (lines.length > 0) await deps.manifests.writePart(run, 'planner', lines, deps.clock());
  await deps.queue.send(jobs);
  return plan;
}

type OpenedRun = { run: ExportRunState; resumed: boolean; finalizedPreviousRunId?: string } | { result: PlanResult };

async function openBynderRun(
  request: BynderPlanRequest,
  deps: PlannerDeps,
  bynder: BynderExportContext,
  budget: PlanBudget,
): Promise<OpenedRun> {
  if (request.trigger === 'schedule') {
    // One schedule pointer per portal: each portal's runs resume on their own.
    const pointer = bynderFeedKey(bynder.portal);
    const previousId = await deps.runs.getScheduledRunId(pointer);
    const previous = previousId !== undefined ? await deps.runs.get(previousId) : undefined;
    if (previous?.state === 'planning') return { run: previous, resumed: true };
    let finalizedPreviousRunId: string | undefined;
    if (previous?.state === 'planned' && budget.remainingTimeMs() >= 2 * deps.settings.planningMarginMs) {
      try {
        const finalized = await finalizeRun(previous, { ...deps, sourceName: BYNDER_CONNECTOR });
        deps.logger.warn('the previous scheduled Bynder run never completed; its manifest lists what did not finish', {
          runId: previous.runId,
          manifestKey: finalized.manifestKey,
          unfinished: finalized.summary.unfinished,
        });
        finalizedPreviousRunId = previous.runId;
      } catch (err) {
        deps.metrics.planningFailed(previous.trigger);
        deps.logger.error('could not write the manifest of the previous scheduled Bynder run; the new run starts anyway', {
          runId: previous.runId,
          error: classifyExportError(err).reason,
        });
      }
    }
    const run = await createBynderRun(request, deps, bynder);
    await deps.runs.setScheduledRunId(run.runId, deps.clock(), pointer);
    return { run, resumed: false, ...(finalizedPreviousRunId !== undefined ? { finalizedPreviousRunId } : {}) };
  }
  if (request.runId !== undefined) {
    const existing = await deps.runs.get(request.runId);
    if (existing && existing.connector !== BYNDER_CONNECTOR) {
      throw new BynderPlanRequestError(
        `run ${request.runId} is not a Bynder run (connector ${existing.connector ?? 'ibinder'}); resume it without connector bynder`,
      );
    }
    if (existing?.state === 'planning') return { run: existing, resumed: true };
    if (existing) {
      const finalized = await finalizeRun(existing, { ...deps, sourceName: BYNDER_CONNECTOR });
      return {
        result: {
          ...summarize(existing, 'finalized', false),
          manifestKey: finalized.manifestKey,
          message: `Bynder run ${existing.runId} was already planned; its manifest was (re)written to ${finalized.manifestKey} (${finalized.summary.unfinished} version(s) unfinished)`,
        },
      };
    }
  }
  return { run: await createBynderRun(request, deps, bynder), resumed: false };
}

async function createBynderRun(request: BynderPlanRequest, deps: PlannerDeps, bynder: BynderExportContext): Promise<ExportRunState> {
  if (request.since !== undefined && Number.isNaN(Date.parse(request.since))) {
    throw new BynderPlanRequestError(`since "${request.since}" is not an ISO 8601 time such as 2026-01-01T00:00:00Z`);
  }
  // Every brand needs no brands listing: an unchanged night then costs the list call only.
  const brandIds =
    bynder.exportBrands !== undefined && bynder.exportBrands.length > 0
      ? resolveExportBrandIds(await bynder.brands(), bynder.exportBrands)
      : undefined;
  const stored = await deps.runs.getBookmark(bynderFeedKey(bynder.portal));
  const bookmark: ChangeBookmark | string | undefined =
    request.since ?? (stored?.bookmark !== undefined ? parseStoredBookmark(stored.bookmark) : undefined);
  const replan = stored !== undefined ? await assetsToPlanAgain(stored.runId, deps) : [];
  return createRunWithFreshId(
    request.runId,
    deps,
    (runId, startedAt) => {
      const cursor = startChangeCursor({
        bookmark,
        runStartedAt: startedAt,
        overlapSeconds: bynder.overlapSeconds,
        pageSize: bynder.pageSize,
        brandIds,
      });
      return {
        run: {
          runId,
          tenantId: bynder.portal,
          trigger: request.trigger,
          startedAt,
          ...(request.since !== undefined ? { since: request.since } : {}),
          binderIds: brandIds ?? [],
          connector: BYNDER_CONNECTOR,
          changeCursor: JSON.stringify(cursor),
          replan,
        },
        startLog: {
          message: 'Bynder export run started',
          fields: {
            connector: BYNDER_CONNECTOR,
            trigger: request.trigger,
            windowFrom: cursor.windowFrom,
            windowTo: cursor.windowTo,
            brands: brandIds?.length ?? 'all',
            replan: replan.length,
          },
        },
      };
    },
    (message) => new BynderPlanRequestError(message),
  );
}

/** The assets of the versions `runId` left failed or unfinished (its manifest parts), and those it could not plan again itself. */
async function assetsToPlanAgain(runId: string, deps: PlannerDeps): Promise<ReplanAsset[]> {
  const previous = await deps.runs.get(runId);
  if (!previous) return [];
  const { lines } = await deps.manifests.readParts(previous);
  const versions = reduceVersionLines(lines.filter((l): l is VersionLine => l.type === 'version' && l.runId === runId));
  const assets = new Map<string, ReplanAsset>();
  for (const asset of previous.replanLeft ?? []) assets.set(asset.id, asset);
  for (const line of versions) {
    if (line.status !== 'failed' && line.status !== 'unfinished') continue;
    if (!assets.has(line.documentId)) assets.set(line.documentId, { id: line.documentId, brandId: line.binderId, name: line.fileName });
  }
  return [...assets.values()];
}

function parseStoredBookmark(text: string): ChangeBookmark | string {
  try {
    return JSON.parse(text) as ChangeBookmark;
  } catch {
    return text;
  }
}

function readCursor(run: ExportRunState): ChangeCursor {
  if (run.changeCursor === undefined) {
    throw new BynderPlanRequestError(`Bynder run ${run.runId} has no change cursor in the export ledger; start a new run`);
  }
  return parseChangeCursor(JSON.parse(run.changeCursor));
}

function throttleOf(err: unknown): PlanningPaused | undefined {
  if (err instanceof PlanningPaused) return err;
  const classified = classifyExportError(err);
  return classified.retryAfterMs !== undefined ? new PlanningPaused(classified.retryAfterMs) : undefined;
}

function add(
  counts: { documentsSeen: number; skippedUnchanged: number; documentErrors: number; deletedAssets: number },
  plan: AssetsPlan,
): void {
  counts.documentsSeen += plan.documentsSeen;
  counts.skippedUnchanged += plan.skippedUnchanged;
  counts.documentErrors += plan.documentErrors;
  counts.deletedAssets += plan.deletedAssets;
}

function summarize(
  run: Pick<ExportRunState, 'runId' | 'binderIds' | 'documentsSeen' | 'skippedUnchanged' | 'versionsEnqueued' | 'deletedAssets'>,
  state: ExportRunState['state'],
  resumed: boolean,
): Omit<PlanResult, 'message'> {
  return {
    runId: run.runId,
    connector: BYNDER_CONNECTOR,
    state,
    planningComplete: state !== 'planning',
    resumed,
    binders: run.binderIds.length,
    bindersPlanned: state === 'planning' ? 0 : run.binderIds.length,
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    versionsEnqueued: run.versionsEnqueued,
    deletedAssets: run.deletedAssets ?? 0,
  };
}
