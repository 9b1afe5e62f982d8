/**
 * The deadline of the work in progress: the moment by which every iBinder exchange of the
 * current async call chain must have ended.
 *
 * Why implicit (AsyncLocalStorage) rather than a parameter: the deadline belongs to the Lambda
 * invocation, while the calls it must bound sit several layers down (destination, folder
 * resolver, schema cache, token source) behind interfaces that know nothing of Lambda. The
 * batch handler sets it once per record; the retry loop and the HTTP exchange read it. Outside
 * an invocation (CLI, tests, the export's own budget) there is none and nothing changes.
 *
 * The deadline is wall-clock epoch milliseconds, the clock of the iBinder client (`Date.now`
 * unless a test injects another).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { IBinderNetworkError, type RequestDescription } from './errors.js';

const storage = new AsyncLocalStorage<number>();

/** Runs `fn` (and everything it awaits or starts) with `deadlineMs` as the current deadline. */
export function runWithDeadline<T>(deadlineMs: number, fn: () => T): T {
  return storage.run(deadlineMs, fn);
}

/** The deadline of the current async call chain, or undefined outside `runWithDeadline`. */
export function currentDeadline(): number | undefined {
  return storage.getStore();
}

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
