/**
 * The keys of the record (or export job) being worked on, carried by the async call chain so
 * that every log line written on its behalf names it, including the lines of code that is
 * shared by concurrent records and cannot be handed a per-record logger: the iBinder client's
 * retry warnings, the credentials loader. The shared logger's formatter adds the current
 * context's keys to each line (see logger.ts); keys given to the log call itself win.
 *
 * A context is entered with `runWithLogContext` and grows as the story unfolds
 * (`appendLogContext` after the target is resolved, after the presign, after the commit).
 * Concurrent records each have their own context: AsyncLocalStorage keeps them apart.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export type LogContextKeys = Record<string, unknown>;

const storage = new AsyncLocalStorage<LogContextKeys>();

/** Runs `fn` with a context of the enclosing context's keys plus `keys`. */
export function runWithLogContext<T>(keys: LogContextKeys, fn: () => T): T {
  return storage.run({ ...storage.getStore(), ...withoutUndefined(keys) }, fn);
}

/** Adds keys to the current context; outside any context it does nothing. */
export function appendLogContext(keys: LogContextKeys): void {
  const store = storage.getStore();
  if (store) Object.assign(store, withoutUndefined(keys));
}

/** The current context's keys (a copy), or an empty object outside any context. */
export function currentLogContext(): LogContextKeys {
  return { ...storage.getStore() };
}

function withoutUndefined(keys: LogContextKeys): LogContextKeys {
  return Object.fromEntries(Object.entries(keys).filter(([, value]) => value !== undefined));
}
