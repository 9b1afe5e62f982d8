/**
 * `export --remote`: the deployed export planner does the run (it pages the binders and fans
 * the versions out to the export workers through the export queue), so no byte passes through
 * the operator's machine; the CLI only starts it and follows the run's state in the export
 * ledger (`run#<runId>`, see shared/export/run-store.ts), which planner and workers keep up
 * to date.
 *
 * The planner is invoked asynchronously (InvocationType Event): a run may plan for longer
 * than any synchronous call should wait, and an asynchronous invocation that fails is retried
 * by AWS, which resumes from the run's saved cursor. The CLI names the run itself (runId in
 * the event), so it knows which ledger item to follow before the planner has written it.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { PlannerEvent } from '../functions/export-planner/event.js';
import type { ExportRunState, ExportRunStore } from '../shared/export/run-store.js';
import { ServiceError } from './errors.js';

/** Starts a run on the deployed planner; resolves once AWS has accepted the event. */
export async function startRemoteExport(
  lambda: LambdaClient,
  plannerName: string,
  event: Extract<PlannerEvent, { source: 'manual' }>,
): Promise<void> {
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: plannerName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(event)),
    }),
  );
  if (out.StatusCode !== 202) {
    throw new ServiceError(
      `the deployed export planner ${plannerName} did not accept run ${event.runId ?? ''} (status ${out.StatusCode ?? 'none'}${out.FunctionError ? `, ${out.FunctionError}` : ''})`,
      'try again; if it persists, check the export planner in the AWS console',
    );
  }
}

export interface WatchOptions {
  /** Wait between two reads of the run's state (ms). */
  pollMs: number;
  /** How long the run may take to appear in the ledger after the start (ms). */
  appearWithinMs: number;
  /** How long a run may go without any change (planning or settling) before watching stops (ms). */
  stallAfterMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Called with every state read. */
  onState: (run: ExportRunState) => void;
  /** True once the person asked to stop watching (Ctrl-C). */
  stopped: () => boolean;
}

export type WatchOutcome =
  | { kind: 'finalized'; run: ExportRunState }
  /**
   * Nothing changed for `stallAfterMs`: planned but jobs stopped settling (some are probably in
   * the export dead-letter queue), or planning that no planner carries on.
   */
  | { kind: 'stalled'; run: ExportRunState }
  /** The run never appeared: the planner did not start it (refused event, no permission, throttled). */
  | { kind: 'missing' }
  | { kind: 'stopped'; run: ExportRunState | undefined };

/** Reads the run's state every `pollMs` until it is finalized, stalls, never appears, or the person stops watching. */
export async function watchExportRun(runs: Pick<ExportRunStore, 'get'>, runId: string, options: WatchOptions): Promise<WatchOutcome> {
  const startedAt = options.now();
  let lastProgress: string | undefined;
  let last: ExportRunState | undefined;
  let lastChangeAt = startedAt;
  for (;;) {
    if (options.stopped()) return { kind: 'stopped', run: last };
    const run = await runs.get(runId);
    const now = options.now();
    if (run) {
      const progress = progressSignature(run);
      if (progress !== lastProgress) lastChangeAt = now;
      lastProgress = progress;
      last = run;
      options.onState(run);
      if (run.state === 'finalized') return { kind: 'finalized', run };
      if (now - lastChangeAt >= options.stallAfterMs) return { kind: 'stalled', run };
    } else if (now - startedAt >= options.appearWithinMs) {
      return { kind: 'missing' };
    }
    await options.sleep(options.pollMs);
  }
}

/** What moves while a run makes progress: its state, the planner's cursor and counts, the settle counts. */
function progressSignature(run: ExportRunState): string {
  return JSON.stringify([run.state, run.binderIndex, run.nextPage, run.documentsSeen, run.versionsEnqueued, run.settled]);
}
