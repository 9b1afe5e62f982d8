/**
 * What starts the planner. The schedule (EventBridge Scheduler) sends `{"source":"schedule"}`.
 * A person starts a run by hand with
 *
 * ```json
 * {"source": "manual", "binderIds": ["Bx7kQ2mZp"], "since": "2026-01-01T00:00:00Z", "runId": "..."}
 * ```
 *
 * every field but `source` optional: `connector` (`ibinder` or `bynder`) plans that connector's
 * run only (default: a scheduled event plans every configured connector, a manual one
 * iBinder's); `binderIds` narrows the iBinder run (default: the configured
 * binders, or all); `since` is a backfill from that time (only versions modified at or after
 * it; versions already archived are still skipped; for Bynder: the change feed starts there
 * instead of at its stored bookmark); `runId` resumes a paused run, or rewrites
 * the manifest of a planned one, or names a new run.
 */
import * as z from '../../shared/validation/zod.js';
import { lazySchema } from '../../shared/validation/lazy-schema.js';
import { ExportConnectorSchema } from '../../shared/export/job.js';
import { RunIdSchema } from '../../shared/export/run-id.js';
import type { PlanRequest } from './plan.js';

export const PlannerEventSchema = lazySchema(() =>
  z.discriminatedUnion('source', [
    z.object({ source: z.literal('schedule'), connector: z.optional(ExportConnectorSchema) }),
    z.strictObject({
      source: z.literal('manual'),
      connector: z.optional(ExportConnectorSchema),
      binderIds: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
      since: z.optional(z.iso.datetime({ offset: true })),
      runId: z.optional(RunIdSchema),
    }),
  ]),
);
export type PlannerEvent = z.infer<typeof PlannerEventSchema>;

export class PlannerEventError extends Error {
  override readonly name = 'PlannerEventError';
}

export function parsePlannerEvent(event: unknown): PlanRequest {
  const parsed = PlannerEventSchema.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PlannerEventError(
      `the export planner was invoked with an event it does not understand (${issues}); ` +
        'send {"source":"schedule"} or {"source":"manual","binderIds":[...],"since":"2026-01-01T00:00:00Z","runId":"..."}',
    );
  }
  const event_ = parsed.data;
  if (event_.source === 'schedule')
    return { trigger: 'schedule', ...(event_.connector !== undefined ? { connector: event_.connector } : {}) };
  return {
    trigger: 'manual',
    ...(event_.connector !== undefined ? { connector: event_.connector } : {}),
    binderIds: event_.binderIds,
    since: event_.since,
    runId: event_.runId,
  };
}
