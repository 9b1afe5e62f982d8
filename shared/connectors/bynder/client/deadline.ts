/**
 * The deadline of the work in progress (the ingest sets one per record: the invocation's time
 * minus a reserve), as the Bynder client honours it.
 *
 * Why: polls, backoff waits and chunk exchanges add up, and a Lambda killed by its timeout
 * fails the whole batch. A wait that would end after the deadline is not started and an
 * exchange is cut at it; the transient error that results hands the record back to SQS while
 * there is time. Outside an invocation (CLI, tests) there is no deadline and nothing changes.
 *
 * The deadline itself is kept by shared/runtime/deadline.ts (`runWithDeadline`), which the
 * ingest batch uses for every connector; this file is the one place that reads it here.
 */
import { currentDeadline } from '../../../runtime/deadline.js';
import { BynderError, type BynderRequestDescription } from './errors.js';

/** Milliseconds left before the current deadline, or undefined when there is none. */
export function msToDeadline(now: () => number): number | undefined {
  const deadline = currentDeadline();
  return deadline === undefined ? undefined : deadline - now();
}

/** True when a wait of `waitMs` from now ends before the current deadline (or there is none). */
export function waitFitsDeadline(waitMs: number, now: () => number): boolean {
  const left = msToDeadline(now);
  return left === undefined || waitMs < left;
}

/** The error thrown when a wait or an exchange would outlast the invocation. Transient. */
export function deadlineError(description: BynderRequestDescription, what: string): BynderError {
  return new BynderError(
    `${what} of Bynder ${description.method} ${description.path} was not started: the invocation's time would run out first — ` +
      'transient; the record goes back to the queue and is tried again with a fresh time budget',
    'transient',
    description,
  );
}
