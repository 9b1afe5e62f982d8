/**
 * The planning lease every connector's planner takes before it plans a run: one invocation at a
 * time plans a run, and its lease and time margin follow the invocation's budget.
 */
import type { PlannerDeps } from './deps.js';
import type { PlanBudget } from './plan-result.js';

export interface PlanningLease {
  /** This invocation's owner id: every write of the run's progress names it. */
  owner: string;
  /** Planning stops when less time than this is left: at most a quarter of the budget, so that a short function timeout still leaves room to plan. */
  marginMs: number;
  /** How long the lease is taken (or renewed) for now: the time left plus a minute, at most the configured maximum. */
  leaseMs(): number;
}

/** Takes the run's planning lease; undefined when another invocation holds it. */
export async function takePlanningLease(
  runId: string,
  deps: Pick<PlannerDeps, 'newOwnerId' | 'settings' | 'runs' | 'clock'>,
  budget: PlanBudget,
): Promise<PlanningLease | undefined> {
  const owner = deps.newOwnerId();
  const marginMs = Math.min(deps.settings.planningMarginMs, budget.remainingTimeMs() / 4);
  const leaseMs = (): number => Math.min(deps.settings.planningLeaseMaxMs, budget.remainingTimeMs() + 60_000);
  if (!(await deps.runs.acquirePlanningLease(runId, owner, deps.clock(), leaseMs()))) return undefined;
  return { owner, marginMs, leaseMs };
}
