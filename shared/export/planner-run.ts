/**
 * What every connector's planner does the same way around a run: create it under a fresh id (or
 * the id asked for), and take its planning lease before planning it, so that one invocation at a
 * time plans a run, with a lease and a time margin that follow the invocation's budget.
 */
import type { PlannerDeps } from './deps.js';
import type { PlanBudget } from './plan-result.js';
import type { ExportRunState, NewRun } from './run-store.js';

/**
 * Creates a run: under `requestedRunId` when given, else under a fresh id, tried three times (a
 * fresh id can collide). `describe` gives the run's record and what its start log line says.
 * Fails with `refuse(message)` when the id was taken by another invocation or no fresh id held.
 */
export async function createRunWithFreshId(
  requestedRunId: string | undefined,
  deps: Pick<PlannerDeps, 'clock' | 'newRunId' | 'runs' | 'logger'>,
  describe: (runId: string, startedAt: Date) => { run: NewRun; startLog: { message: string; fields: Record<string, unknown> } },
  refuse: (message: string) => Error,
): Promise<ExportRunState> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const startedAt = deps.clock();
    const runId = requestedRunId ?? deps.newRunId(startedAt);
    const { run: newRun, startLog } = describe(runId, startedAt);
    if (await deps.runs.create(newRun)) {
      deps.logger.info(startLog.message, { runId, ...startLog.fields });
      const run = await deps.runs.get(runId);
      if (!run) throw new Error(`export run ${runId} was created but cannot be read back from the export ledger`);
      return run;
    }
    if (requestedRunId !== undefined) break;
  }
  throw refuse(
    requestedRunId !== undefined
      ? `run ${requestedRunId} was created by another invocation at the same moment; invoke again to resume it`
      : 'could not create a run with a fresh id (id collisions); invoke again',
  );
}

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
