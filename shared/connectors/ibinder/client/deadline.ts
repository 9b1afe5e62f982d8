/**
 * How the iBinder client honours the current deadline (shared/runtime/deadline.ts): the error
 * of an exchange cut at it, and the abort signal that cuts it. `runWithDeadline` and
 * `currentDeadline` are re-exported for the importers of this path from before the move.
 */
import { currentDeadline } from '../../../runtime/deadline.js';
import { IBinderNetworkError, type RequestDescription } from './errors.js';

export { currentDeadline, runWithDeadline } from '../../../runtime/deadline.js';

/**
 * The invocation's time ran out while talking to iBinder or storage. Transient: the record is
 * handed back to SQS and tried again by a later invocation with a whole time budget. A class
 * of its own so the retry loop never retries it: after the deadline there is nothing to gain.
 */
export class DeadlineExceededError extends IBinderNetworkError {
  constructor(subject: string, request: RequestDescription, options?: { cause?: unknown }) {
    super(
      `${subject} was stopped: the invocation's time ran out (deadline reached before it finished) — transient; ` +
        'the message goes back to the queue and is tried again with a fresh time budget',
      request,
      true,
      options,
    );
  }
}

/**
 * An abort signal that fires at the current deadline with a `DeadlineExceededError` as its
 * reason, or undefined when there is no deadline. Call `clear` when the exchange is over so
 * that no timer outlives it (the timer is also unref'd: it never keeps a process alive).
 */
export function deadlineSignal(
  subject: string,
  request: RequestDescription,
  now: () => number,
): { signal: AbortSignal; clear: () => void } | undefined {
  const deadline = currentDeadline();
  if (deadline === undefined) return undefined;
  const controller = new AbortController();
  const fire = () => controller.abort(new DeadlineExceededError(subject, request));
  const leftMs = deadline - now();
  if (leftMs <= 0) {
    fire();
    return { signal: controller.signal, clear: () => undefined };
  }
  const timer = setTimeout(fire, leftMs);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
