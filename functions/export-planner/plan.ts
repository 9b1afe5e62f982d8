/**
 * The export planner: decides which document versions a run exports and puts one job per
 * version on the export queue.
 *
 * For each binder of the run it pages through the source's documents (`POST /documents`
 * filtered by `GLOBAL_BinderId`, pageNumber 1, 2, ... until `totalCount` is reached or a page
 * comes back empty); once the first page has given the total, a few pages ahead are fetched
 * while one is planned (page-prefetch.ts). Per page:
 * - one read of the export ledger (BatchGetItem, 100 keys a call) asks which of the page's
 *   `latestVersionId`s are exported and which documents still have versions not exported (a
 *   `doc#` marker, see shared/ledger/export-ledger.ts); a document whose latest version is
 *   exported and that has no such marker is skipped with no further call (an unchanged page
 *   costs one search call and no other API call);
 * - the other documents' versions are listed (a few at once), a second BatchGetItem leaves the
 *   versions not yet exported, versions modified before `since` are dropped, and each listed
 *   document's marker is set to its versions not exported yet other than the latest (also
 *   those before `since`, so a backfill never hides older versions from a later run), or
 *   removed when there are none (a document with one new version costs no marker write);
 * - those become export jobs (SendMessageBatch, 10 a call); then the cursor is saved.
 *
 * A version whose job failed (dead-letter queue, permanent failure) keeps its document's
 * marker, so the next run lists that document again and re-enqueues it, even when a later
 * version of the document was exported meanwhile. Versions older than `since` are out of scope
 * of that backfill run; they stay in their document's marker, so the next run without `since`
 * exports them.
 *
 * A page that keeps failing transiently (one document whose versions the source cannot serve,
 * a binder it cannot page) is tried MAX_PAGE_ATTEMPTS times (the attempts are counted in the
 * run's state across invocations); the last attempt gives up on what fails: the document is
 * counted as a document error, the binder ends with a binder error, both in the manifest, and
 * the cursor moves on. Neither is in the ledger, so a later run tries them again; without this
 * one document would hold the run in `planning`, and every later scheduled run with it.
 *
 * Time budget and resuming. The run's state (`run#<runId>` in the ledger table) holds the
 * cursor: which binder, which page. Before each page the planner checks the invocation's
 * remaining time; when it is below the margin it saves the cursor and returns
 * `complete: false`. The run resumes from that cursor when:
 * - the schedule fires again: a scheduled invocation first looks at the run the schedule
 *   started last and, if it is still planning, resumes it instead of starting a new one;
 * - a person invokes the planner with `{"source": "manual", "runId": "<runId>"}`;
 * - Lambda retries a failed asynchronous invocation (a transient error is thrown after the
 *   cursor was saved, so the retry loses at most the page in flight).
 * A page is saved only after its jobs are enqueued; a crash in between enqueues that page's
 * jobs again, which the worker's ledger check turns into no-ops. Each version is counted once
 * per run (an `enqueued` marker per version), so the count that decides when the run is
 * complete stays exact across such repeats.
 * Why not chain invocations (the planner re-invoking itself, or a continue-message on the
 * export queue): both need permissions or routing the stack does not give the planner (Lambda
 * Invoke, or the worker planning), and a tenant's steady state (few changes) plans in minutes;
 * the cursor only matters for the first export of a large tenant, which then completes over
 * consecutive nights without redoing work. A planning lease on the run keeps two invocations
 * (a schedule and a person) from paging the same run at once.
 *
 * When the last binder is done the run is marked `planned`; if every job has settled by then
 * the planner assembles the manifest itself, otherwise the worker that settles the last job
 * does. A scheduled run that never completed (a job in the dead-letter queue) gets its manifest
 * from the next scheduled invocation, with those versions listed as unfinished.
 *
 * Paging over hours or nights is not a snapshot: documents added meanwhile may shift pages.
 * Nothing is lost by that: whatever a run misses is not in the ledger, so the next run sees it.
 */
import pLimit from 'p-limit';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { classifyExportError } from '../../shared/export/errors.js';
import type { ExportJob } from '../../shared/export/job.js';
import type { BinderLine } from '../../shared/export/manifest.js';
import { finalizeRun } from '../../shared/export/run-finalizer.js';
import {
  isRunSettled,
  type BinderProgress,
  type ExportRunState,
  type PlanProgress,
  type RunStateName,
  type RunTrigger,
} from '../../shared/export/run-store.js';
import type { SourceDocument, SourceDocumentPage, SourceVersion } from '../../shared/export-source/types.js';
import type { ExportConnector } from '../../shared/export/job.js';
import { planBynderExport } from '../../shared/connectors/export-planning.js';
import { type PlanBudget, type PlanResult, UNLIMITED_BUDGET } from '../../shared/export/plan-result.js';
import { createRunWithFreshId, takePlanningLease } from '../../shared/export/planner-run.js';
import { DocumentPagePrefetch } from './page-prefetch.js';

type FailedPage = NonNullable<ExportRunState['failedPage']>;

export interface PlanRequest {
  trigger: RunTrigger;
  /** Only this connector's run; absent: every configured connector (iBinder, then Bynder when configured). */
  connector?: ExportConnector | undefined;
  /** Only these binders (manual runs); default the configured binders, or every binder. */
  binderIds?: string[] | undefined;
  /** Backfill: only versions modified at or after this ISO 8601 time (Bynder: the feed starts there instead of at its bookmark). */
  since?: string | undefined;
  /** Resume (or create with this id) a specific run (manual runs). */
  runId?: string | undefined;
}

export { type PlanBudget, type PlanResult, UNLIMITED_BUDGET } from '../../shared/export/plan-result.js';

/** Attempts at one page (across invocations) before what keeps failing in it is given up. */
export const MAX_PAGE_ATTEMPTS = 3;

export class PlanRequestError extends Error {
  override readonly name = 'PlanRequestError';
}

/**
 * Plans (or continues planning) the runs a request asks for within the budget: the named
 * connector's; without one, a scheduled invocation plans every configured connector (iBinder,
 * then Bynder) and a manual one iBinder's (its binders and run id are iBinder's).
 *
 * One connector's failure does not keep the other from planning. When both fail, the first
 * failure is thrown (a transient one makes Lambda retry the invocation, which resumes each run
 * from its cursor). When only one fails, it is logged and counted (ExportPlanningFailed) and
 * the invocation succeeds: a retry would start a second run of the connector that finished.
 * The next scheduled invocation resumes a run left planning.
 */
export async function planExport(request: PlanRequest, deps: PlannerDeps, budget: PlanBudget = UNLIMITED_BUDGET): Promise<PlanResult> {
  if (request.connector === 'bynder') return planBynderExport(request, deps, budget);
  if (request.connector === 'ibinder' || request.trigger !== 'schedule' || deps.bynder === undefined) {
    return planIBinderExport(request, deps, budget);
  }
  const planned: { connector: ExportConnector; result?: PlanResult; err?: unknown }[] = [];
  for (const connector of ['ibinder', 'bynder'] as const) {
    try {
      const result =
        connector === 'ibinder'
          ? await planIBinderExport(request, deps, budget)
          : await planBynderExport({ trigger: request.trigger }, deps, budget);
      planned.push({ connector, result });
    } catch (err) {
      planned.push({ connector, err });
    }
  }
  const results = planned.flatMap((p) => (p.result ? [p.result] : []));
  const failures = planned.filter((p) => p.result === undefined);
  if (results.length === 0) {
    deps.logger.error('planning failed for every connector', {
      errors: failures.map((f) => `${f.connector}: ${classifyExportError(f.err).reason}`),
    });
    throw failures[0]?.err;
  }
  for (const failure of failures) {
    deps.metrics.planningFailed(request.trigger);
    deps.logger.error(`planning the ${failure.connector} export failed; the other connector's run went on`, {
      connector: failure.connector,
      error: classifyExportError(failure.err).reason,
    });
  }
  const [main, ...others] = results as [PlanResult, ...PlanResult[]];
  const failed = failures.map((f) => `${f.connector} planning failed: ${classifyExportError(f.err).reason}`);
  return {
    ...main,
    ...(others.length > 0 ? { alsoPlanned: others } : {}),
    message: [main.message, ...others.map((o) => o.message), ...failed].join('; '),
  };
}

/** Plans (or continues planning) one iBinder run within the budget. */
export async function planIBinderExport(
  request: PlanRequest,
  deps: PlannerDeps,
  budget: PlanBudget = UNLIMITED_BUDGET,
): Promise<PlanResult> {
  const opened = await openRun(request, deps, budget);
  if ('result' in opened) return opened.result;
  const { run, resumed, finalizedPreviousRunId } = opened;
  const extras = finalizedPreviousRunId !== undefined ? { finalizedPreviousRunId } : {};

  const lease = await takePlanningLease(run.runId, deps, budget);
  if (lease === undefined) {
    return {
      ...summarize(run, 'planning', resumed),
      ...extras,
      message: `run ${run.runId} is being planned by another invocation right now; nothing was done`,
    };
  }
  const { owner, marginMs: margin, leaseMs } = lease;
  if (resumed) {
    deps.logger.info('resuming export run', { runId: run.runId, binderIndex: run.binderIndex, nextPage: run.nextPage });
  }

  const progress: PlanProgress = {
    binderIndex: run.binderIndex,
    nextPage: run.nextPage,
    ...(run.current ? { current: run.current } : {}),
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    documentErrors: run.documentErrors,
    binderErrors: run.binderErrors,
  };
  let versionsEnqueued = run.versionsEnqueued;
  const finishedBinders: BinderLine[] = [];
  let stoppedForTime = false;
  let failedPage = run.failedPage;
  let prefetch: DocumentPagePrefetch | undefined;
  try {
    while (progress.binderIndex < run.binderIds.length) {
      if (budget.remainingTimeMs() < margin) {
        stoppedForTime = true;
        break;
      }
      const binderId = run.binderIds[progress.binderIndex] as string;
      const current: BinderProgress = progress.current?.binderId === binderId ? progress.current : newBinderProgress(binderId);
      const failedBefore =
        failedPage && failedPage.binderIndex === progress.binderIndex && failedPage.nextPage === progress.nextPage
          ? failedPage.attempts
          : 0;
      // The last attempt at this page gives up on whatever keeps failing in it.
      const lastAttempt = failedBefore + 1 >= MAX_PAGE_ATTEMPTS;
      let page: SourceDocumentPage;
      try {
        if (prefetch?.binderId !== binderId)
          prefetch = new DocumentPagePrefetch(deps.source, binderId, deps.settings.pageSize, deps.settings.pagesAhead);
        page = await prefetch.page(progress.nextPage);
      } catch (err) {
        const error = classifyExportError(err);
        if (error.kind === 'transient' && !lastAttempt) {
          failedPage = await countPageFailure(run.runId, owner, progress, failedBefore, deps);
          throw err;
        }
        deps.logger.warn(
          error.kind === 'transient'
            ? `binder could not be read after ${MAX_PAGE_ATTEMPTS} attempts; it is skipped in this run and tried again by the next one`
            : 'binder could not be read; it is skipped in this run',
          { runId: run.runId, binderId, page: progress.nextPage, ...error },
        );
        current.error = error.reason;
        progress.binderErrors++;
        finishBinder(progress, current, finishedBinders, run.runId, deps.clock());
        await deps.runs.saveProgress(run.runId, owner, progress, deps.clock(), leaseMs());
        failedPage = undefined;
        continue;
      }
      let planned: PagePlan;
      try {
        planned = await planPage(page, run, deps, lastAttempt);
      } catch (err) {
        if (!lastAttempt) {
          failedPage = await countPageFailure(run.runId, owner, progress, failedBefore, deps);
          throw err;
        }
        // Not a document's fault (the ledger or the queue kept failing): the page's documents
        // are counted as errors and left to the next run, which finds them not exported.
        deps.logger.error(
          `a page of documents could not be planned after ${MAX_PAGE_ATTEMPTS} attempts; its documents are left to the next run`,
          {
            runId: run.runId,
            binderId,
            page: progress.nextPage,
            documents: page.documents.length,
            error: classifyExportError(err).reason,
          },
        );
        planned = { skippedUnchanged: 0, versionsEnqueued: 0, documentErrors: page.documents.length };
      }
      current.pages++;
      current.documentsSeen += page.documents.length;
      current.skippedUnchanged += planned.skippedUnchanged;
      current.versionsEnqueued += planned.versionsEnqueued;
      current.documentErrors += planned.documentErrors;
      progress.documentsSeen += page.documents.length;
      progress.skippedUnchanged += planned.skippedUnchanged;
      versionsEnqueued += planned.versionsEnqueued;
      progress.documentErrors += planned.documentErrors;
      deps.metrics.pagePlanned(page.documents.length, planned.skippedUnchanged, planned.versionsEnqueued);
      if (page.isLastPage) {
        finishBinder(progress, current, finishedBinders, run.runId, deps.clock());
      } else {
        progress.nextPage++;
        progress.current = current;
      }
      await deps.runs.saveProgress(run.runId, owner, progress, deps.clock(), leaseMs());
      failedPage = undefined;
    }
  } catch (err) {
    // The cursor is saved up to the last finished page; let a retry take over at once.
    await deps.runs.releasePlanningLease(run.runId, owner).catch(() => undefined);
    throw err;
  } finally {
    await deps.manifests.writePart(run, 'planner', finishedBinders, deps.clock()).catch((err: unknown) => {
      deps.logger.warn('could not write the planner part of the manifest; binder lines of this invocation are missing from it', {
        runId: run.runId,
        error: classifyExportError(err).reason,
      });
    });
  }

  const planned = progress.binderIndex;
  if (stoppedForTime) {
    await deps.runs.releasePlanningLease(run.runId, owner);
    const result = {
      ...summarize({ ...run, ...progress, versionsEnqueued }, 'planning', resumed),
      ...extras,
      bindersPlanned: planned,
    };
    deps.logger.info('planning paused: the invocation is running out of time', { ...result });
    return {
      ...result,
      message:
        `run ${run.runId} paused at binder ${planned + 1} of ${run.binderIds.length}, page ${progress.nextPage} (time budget); ` +
        `the next scheduled invocation resumes it, or invoke {"source":"manual","runId":"${run.runId}"}`,
    };
  }

  const plannedRun = await deps.runs.markPlanned(run.runId, owner, deps.clock());
  let manifestKey: string | undefined;
  if (isRunSettled(plannedRun)) {
    manifestKey = (await finalizeRun(plannedRun, { ...deps, sourceName: deps.source.name })).manifestKey;
  }
  const result: PlanResult = {
    ...summarize(plannedRun, manifestKey ? 'finalized' : 'planned', resumed),
    ...extras,
    ...(manifestKey ? { manifestKey } : {}),
    message: manifestKey
      ? `run ${run.runId} planned; nothing to export, manifest written to ${manifestKey}`
      : `run ${run.runId} planned: ${plannedRun.versionsEnqueued} version(s) enqueued; the manifest is written when the last one is done`,
  };
  deps.logger.info('planning complete', { ...result });
  return result;
}

type OpenedRun = { run: ExportRunState; resumed: boolean; finalizedPreviousRunId?: string } | { result: PlanResult };

/**
 * Finds the run to continue, or creates one (see the module's JSDoc for the rules).
 * Writing the manifest of the previous scheduled run that never completed is best effort: it
 * is skipped when the invocation has little time left, and a failure is logged and counted
 * (ExportPlanningFailed) but never keeps the new run from starting; a person can write that
 * manifest later by invoking the planner with the previous run's id.
 */
async function openRun(request: PlanRequest, deps: PlannerDeps, budget: PlanBudget): Promise<OpenedRun> {
  if (request.trigger === 'schedule') {
    let finalizedPreviousRunId: string | undefined;
    const previousId = await deps.runs.getScheduledRunId();
    const previous = previousId !== undefined ? await deps.runs.get(previousId) : undefined;
    if (previous?.state === 'planning') return { run: previous, resumed: true };
    if (previous?.state === 'planned') {
      const howToWriteIt = `invoke {"source":"manual","runId":"${previous.runId}"} to write its manifest`;
      if (budget.remainingTimeMs() < 2 * deps.settings.planningMarginMs) {
        deps.logger.warn(
          `the previous scheduled run never completed, and there is no time left to write its manifest now; ${howToWriteIt}`,
          {
            runId: previous.runId,
          },
        );
      } else {
        try {
          const finalized = await finalizeRun(previous, { ...deps, sourceName: deps.source.name });
          deps.logger.warn('the previous scheduled run never completed; its manifest lists what did not finish', {
            runId: previous.runId,
            manifestKey: finalized.manifestKey,
            unfinished: finalized.summary.unfinished,
          });
          finalizedPreviousRunId = previous.runId;
        } catch (err) {
          deps.metrics.planningFailed(previous.trigger);
          deps.logger.error(
            `could not write the manifest of the previous scheduled run, which never completed; the new run starts anyway; ${howToWriteIt}`,
            {
              runId: previous.runId,
              error: classifyExportError(err).reason,
            },
          );
        }
      }
    }
    const run = await createRun(request, deps);
    await deps.runs.setScheduledRunId(run.runId, deps.clock());
    return { run, resumed: false, ...(finalizedPreviousRunId !== undefined ? { finalizedPreviousRunId } : {}) };
  }

  if (request.runId !== undefined) {
    const existing = await deps.runs.get(request.runId);
    if (existing?.state === 'planning') {
      if (request.binderIds !== undefined || request.since !== undefined) {
        deps.logger.warn('resuming a run keeps its original binders and since; the ones given were ignored', {
          runId: existing.runId,
        });
      }
      return { run: existing, resumed: true };
    }
    if (existing) {
      // Planned or finalized: (re)write its manifest with whatever has settled by now.
      const finalized = await finalizeRun(existing, { ...deps, sourceName: deps.source.name });
      return {
        result: {
          ...summarize(existing, 'finalized', false),
          manifestKey: finalized.manifestKey,
          message:
            `run ${existing.runId} was already planned; its manifest was (re)written to ${finalized.manifestKey} ` +
            `(${finalized.summary.unfinished} version(s) unfinished)`,
        },
      };
    }
  }
  return { run: await createRun(request, deps), resumed: false };
}

async function createRun(request: PlanRequest, deps: PlannerDeps): Promise<ExportRunState> {
  if (request.since !== undefined && Number.isNaN(Date.parse(request.since))) {
    throw new PlanRequestError(`since "${request.since}" is not an ISO 8601 time such as 2026-01-01T00:00:00Z`);
  }
  const binderIds = request.binderIds ?? deps.settings.exportBinders ?? (await deps.source.listBinderIds());
  const uniqueBinders = [...new Set(binderIds)];
  return createRunWithFreshId(
    request.runId,
    deps,
    (runId, startedAt) => ({
      run: {
        runId,
        tenantId: deps.settings.tenantId,
        trigger: request.trigger,
        startedAt,
        ...(request.since !== undefined ? { since: request.since } : {}),
        binderIds: uniqueBinders,
      },
      startLog: {
        message: 'export run started',
        fields: {
          trigger: request.trigger,
          binders: uniqueBinders.length,
          ...(request.since !== undefined ? { since: request.since } : {}),
        },
      },
    }),
    (message) => new PlanRequestError(message),
  );
}

interface PagePlan {
  skippedUnchanged: number;
  versionsEnqueued: number;
  documentErrors: number;
}

/**
 * Plans one page of documents (see the module's JSDoc). On the last attempt at a page
 * (`lastAttempt`), a document whose versions cannot be listed for a transient reason is
 * counted as a document error instead of failing the page.
 */
async function planPage(page: SourceDocumentPage, run: ExportRunState, deps: PlannerDeps, lastAttempt: boolean): Promise<PagePlan> {
  const documents = page.documents;
  if (documents.length === 0) return { skippedUnchanged: 0, versionsEnqueued: 0, documentErrors: 0 };
  const latest = documents.flatMap((d) => (d.latestVersionId ? [d.latestVersionId] : []));
  // Only documents that could be skipped need their marker read.
  const skippable = documents.flatMap((d) => (d.latestVersionId ? [d.documentId] : []));
  const lookup = latest.length > 0 ? await deps.ledger.lookUpDocuments(latest, skippable) : undefined;
  const changed = documents.filter(
    (d) => !(d.latestVersionId && lookup?.exportedVersions.has(d.latestVersionId) && !lookup.unfinishedDocuments.has(d.documentId)),
  );

  let documentErrors = 0;
  const limit = pLimit(Math.max(1, deps.settings.versionsConcurrency));
  const versionLists = await Promise.all(
    changed.map((document) =>
      limit(async (): Promise<{ document: SourceDocument; versions: SourceVersion[] } | undefined> => {
        try {
          return { document, versions: await deps.source.listVersions(document) };
        } catch (err) {
          const error = classifyExportError(err);
          if (error.kind === 'transient' && !lastAttempt) throw err;
          documentErrors++;
          deps.logger.warn(
            error.kind === 'transient'
              ? `versions of a document could not be listed after ${MAX_PAGE_ATTEMPTS} attempts; it is skipped in this run and tried again by the next one`
              : 'versions of a document could not be listed; it is skipped in this run',
            { runId: run.runId, binderId: document.binderId, documentId: document.documentId, ...error },
          );
          return undefined;
        }
      }),
    ),
  );
  const listed = versionLists.flatMap((l) => (l ? [l] : []));
  const allVersions = listed.flatMap((l) => l.versions);
  const exported = allVersions.length > 0 ? await deps.ledger.exportedAmong(allVersions.map((v) => v.versionId)) : new Set<string>();
  const sinceMs = run.since !== undefined ? Date.parse(run.since) : undefined;
  const seen = new Set<string>();
  const jobs: ExportJob[] = [];
  const markers: { document: SourceDocument; pending: string[] }[] = [];
  for (const { document, versions } of listed) {
    // The latest version needs no marker: while it is not exported the document is listed anyway.
    const pending = [
      ...new Set(versions.filter((v) => !exported.has(v.versionId) && v.versionId !== document.latestVersionId).map((v) => v.versionId)),
    ];
    // A document with nothing pending and no marker needs no write (the common case: one new version).
    if (pending.length > 0 || lookup?.unfinishedDocuments.has(document.documentId)) markers.push({ document, pending });
    const inMarker = new Set(pending);
    for (const version of versions) {
      if (exported.has(version.versionId) || seen.has(version.versionId) || !isModifiedSince(version, sinceMs)) continue;
      seen.add(version.versionId);
      jobs.push({ ...toJob(version, run), inPendingMarker: inMarker.has(version.versionId) });
    }
  }
  // Counted before sending: a send that fails is repeated by the retry, never counted twice.
  const newlyEnqueued =
    jobs.length > 0
      ? await deps.runs.recordEnqueued(
          run.runId,
          jobs.map((j) => j.versionId),
          deps.clock(),
        )
      : 0;
  // Marked before sending: a version is never on the queue without its document's marker.
  const markerLimit = pLimit(8);
  await Promise.all(
    markers.map(({ document, pending }) =>
      markerLimit(() => deps.ledger.setDocumentPending(document.documentId, document.binderId, pending, deps.clock())),
    ),
  );
  await deps.queue.send(jobs);
  return { skippedUnchanged: documents.length - changed.length, versionsEnqueued: newlyEnqueued, documentErrors };
}

async function countPageFailure(
  runId: string,
  owner: string,
  progress: PlanProgress,
  failedBefore: number,
  deps: PlannerDeps,
): Promise<FailedPage> {
  const failedPage = { binderIndex: progress.binderIndex, nextPage: progress.nextPage, attempts: failedBefore + 1 };
  try {
    await deps.runs.recordPageFailure(runId, owner, failedPage, deps.clock());
  } catch (err) {
    deps.logger.warn('could not count a failed attempt at a page; the page is tried again as if for the first time', {
      runId,
      binderIndex: progress.binderIndex,
      page: progress.nextPage,
      error: classifyExportError(err).reason,
    });
  }
  deps.logger.warn(`planning a page failed (attempt ${failedPage.attempts} of ${MAX_PAGE_ATTEMPTS}); the cursor stays on it`, {
    runId,
    binderIndex: progress.binderIndex,
    page: progress.nextPage,
  });
  return failedPage;
}

/** A version without a readable modifiedAt is kept: the ledger, not the date, prevents duplicates. */
function isModifiedSince(version: SourceVersion, sinceMs: number | undefined): boolean {
  if (sinceMs === undefined || version.modifiedAt === undefined) return true;
  const modified = Date.parse(version.modifiedAt);
  return Number.isNaN(modified) || modified >= sinceMs;
}

function toJob(version: SourceVersion, run: ExportRunState): ExportJob {
  return {
    runId: run.runId,
    runStartedAt: run.startedAt,
    tenantId: run.tenantId,
    binderId: version.binderId,
    documentId: version.documentId,
    versionId: version.versionId,
    fileName: version.fileName || version.versionId,
    ...(version.versionLabel !== undefined ? { versionLabel: version.versionLabel } : {}),
    ...(version.status !== undefined ? { status: version.status } : {}),
    ...(version.modifiedAt !== undefined ? { modifiedAt: version.modifiedAt } : {}),
    metadata: version.metadata,
  };
}

function newBinderProgress(binderId: string): BinderProgress {
  return { binderId, pages: 0, documentsSeen: 0, skippedUnchanged: 0, versionsEnqueued: 0, documentErrors: 0 };
}

function finishBinder(progress: PlanProgress, current: BinderProgress, finished: BinderLine[], runId: string, at: Date): void {
  finished.push({
    type: 'binder',
    runId,
    binderId: current.binderId,
    pages: current.pages,
    documentsSeen: current.documentsSeen,
    skippedUnchanged: current.skippedUnchanged,
    versionsEnqueued: current.versionsEnqueued,
    documentErrors: current.documentErrors,
    error: current.error,
    at: at.toISOString(),
  });
  progress.binderIndex++;
  progress.nextPage = 1;
  delete progress.current;
}

function summarize(
  run: Pick<ExportRunState, 'runId' | 'binderIds' | 'binderIndex' | 'documentsSeen' | 'skippedUnchanged' | 'versionsEnqueued'>,
  state: RunStateName,
  resumed: boolean,
): Omit<PlanResult, 'message'> {
  return {
    runId: run.runId,
    state,
    planningComplete: state !== 'planning',
    resumed,
    binders: run.binderIds.length,
    bindersPlanned: state === 'planning' ? run.binderIndex : run.binderIds.length,
    documentsSeen: run.documentsSeen,
    skippedUnchanged: run.skippedUnchanged,
    versionsEnqueued: run.versionsEnqueued,
  };
}
