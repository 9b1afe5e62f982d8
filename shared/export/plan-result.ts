/**
 * What the export planner is given (a time budget) and answers (a run's progress), for every
 * connector's planner: iBinder's binder pages (functions/export-planner/plan.ts) and the
 * connectors' own (shared/connectors/export-planning.ts).
 */
import type { ExportConnector } from './job.js';
import type { RunStateName } from './run-store.js';

export interface PlanBudget {
  /** Time left in the invocation (ms): Lambda's `context.getRemainingTimeInMillis`. */
  remainingTimeMs(): number;
}

export const UNLIMITED_BUDGET: PlanBudget = { remainingTimeMs: () => Number.POSITIVE_INFINITY };

export interface PlanResult {
  runId: string;
  /** The connector the run reads from (absent: iBinder). */
  connector?: ExportConnector;
  state: RunStateName;
  /** True when every binder of the run has been paged through. */
  planningComplete: boolean;
  /** True when this invocation continued a run that an earlier one started. */
  resumed: boolean;
  binders: number;
  /** Binders fully planned so far. */
  bindersPlanned: number;
  documentsSeen: number;
  skippedUnchanged: number;
  versionsEnqueued: number;
  /** Set when this invocation wrote the run's manifest. */
  manifestKey?: string;
  /** A previous scheduled run that never completed and whose manifest this invocation wrote. */
  finalizedPreviousRunId?: string;
  /** Bynder: assets found deleted in the portal (recorded in the manifest; nothing removed). */
  deletedAssets?: number;
  /** Bynder: list calls the change feed made in the run so far. */
  listCalls?: number;
  /** Why planning stopped before it was complete: the time budget, or Bynder's 429 block. */
  paused?: 'time' | 'throttled';
  /** With `paused: "throttled"`: no Bynder call before this many ms. */
  retryAfterMs?: number;
  /** A scheduled invocation's runs of the other configured connectors (this result is iBinder's). */
  alsoPlanned?: PlanResult[];
  /** One sentence for the person who invoked it. */
  message: string;
}
