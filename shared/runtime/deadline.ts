/**
 * The deadline of the work in progress: the moment by which every exchange of the current async
 * call chain with a document system must have ended, whichever connector makes it.
 *
 * Why implicit (AsyncLocalStorage) rather than a parameter: the deadline belongs to the Lambda
 * invocation, while the calls it must bound sit several layers down (destination, resolvers,
 * caches, token sources) behind interfaces that know nothing of Lambda. The ingest batch sets it
 * once per record; each connector's client reads it (its retry loop, its waits, its exchanges).
 * Outside an invocation (CLI, tests, the export's own budget) there is none and nothing changes.
 *
 * The deadline is wall-clock epoch milliseconds, the clock of the clients (`Date.now` unless a
 * test injects another).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const storage = new AsyncLocalStorage<number>();

/** Runs `fn` (and everything it awaits or starts) with `deadlineMs` as the current deadline. */
export function runWithDeadline<T>(deadlineMs: number, fn: () => T): T {
  return storage.run(deadlineMs, fn);
}

/** The deadline of the current async call chain, or undefined outside `runWithDeadline`. */
export function currentDeadline(): number | undefined {
  return storage.getStore();
}
