/**
 * Lambda entry point of the export planner: parses the event (schedule or manual), plans
 * within the invocation's remaining time, and returns the plan's summary (what a person who
 * invoked it by hand sees). A transient failure is thrown after the cursor was saved: Lambda
 * retries an asynchronous (scheduled) invocation, which resumes from it.
 */
import type { Context } from 'aws-lambda';
import type { PlannerDeps } from '../../shared/export/deps.js';
import { plannerDepsFromEnvironment } from '../../shared/export/runtime-deps.js';
import { createMetrics } from '../../shared/observability/metrics.js';
import { parsePlannerEvent } from './event.js';
import { planExport, type PlanResult } from './plan.js';

const metrics = createMetrics('export-planner');
let deps: PlannerDeps | undefined;

export const handler = async (event: unknown, context: Context): Promise<PlanResult> => {
  const request = parsePlannerEvent(event);
  deps ??= plannerDepsFromEnvironment(metrics);
  try {
    return await planExport(request, deps, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
  } finally {
    metrics.publishStoredMetrics();
  }
};
