/**
 * Lambda entry point of the export planner: parses the event (schedule or manual, optionally
 * naming a connector), plans within the invocation's remaining time (a scheduled invocation:
 * iBinder's run, then the Bynder portal's when the environment configures one; plan.ts), and
 * returns the plan's summary (what a person who invoked it by hand sees). A transient failure is thrown after the cursor was saved: Lambda
 * retries an asynchronous (scheduled) invocation, which resumes from it. A failed invocation
 * counts as ExportPlanningFailed (dimension trigger) before it is thrown; the shared middleware
 * chain (observed-handler.ts) flushes it either way.
 */
import type { Context } from 'aws-lambda';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { plannerDepsFromEnvironment } from '../../shared/export/runtime-deps.js';
import { SERVICE_NAMES } from '../../shared/observability/metric-names.js';
import { createMetrics } from '../../shared/observability/metrics.js';
import { observedHandler } from '../../shared/observability/observed-handler.js';
import { parsePlannerEvent } from './event.js';
import { planExport, type PlanResult } from './plan.js';

const metrics = createMetrics(SERVICE_NAMES.exportPlanner);
let deps: PlannerDeps | undefined;

export const handler = observedHandler(
  async (event: unknown, context: Context): Promise<PlanResult> => {
    const request = parsePlannerEvent(event);
    deps ??= plannerDepsFromEnvironment(metrics);
    try {
      return await planExport(request, deps, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
    } catch (err) {
      // The alarms watch this for scheduled runs; the error itself goes to Lambda (and its retry).
      deps.metrics.planningFailed(request.trigger);
      throw err;
    }
  },
  { metrics },
);
