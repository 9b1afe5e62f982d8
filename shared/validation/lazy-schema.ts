/**
 * A zod schema built on its first use instead of at import.
 *
 * Why: every function imports modules that declare schemas at their top level (config, ledger
 * entries, events, API answers, export jobs). Building a zod schema runs zod's constructors, and
 * the first schema of each kind also compiles them; at import that is hundreds of schemas, a
 * large share of a cold start, for schemas an invocation may never use (another connector's,
 * the error bodies). `lazySchema(() => z.object(...))` builds nothing until a property of the
 * schema is read (a parse, an `extend`, its shape), then builds it once and forwards everything
 * to it.
 *
 * Why not `z.lazy`: a lazy schema is itself a schema built at import, and zod's object
 * operations (`z.extend`, `z.pick`, a discriminated union's shape) need the real object schema,
 * which `z.lazy` hides. The value here has the built schema's own type and behaves as it does.
 */

/** Returns a stand-in for `build()`'s schema that builds it on first use (see the module's comment). */
export function lazySchema<T extends object>(build: () => T): T {
  let built: T | undefined;
  const schema = (): T => {
    built ??= build();
    return built;
  };
  return new Proxy({} as T, {
    get: (_, property) => Reflect.get(schema(), property),
    set: (_, property, value) => Reflect.set(schema(), property, value),
    has: (_, property) => Reflect.has(schema(), property),
    deleteProperty: (_, property) => Reflect.deleteProperty(schema(), property),
    ownKeys: () => Reflect.ownKeys(schema()),
    getOwnPropertyDescriptor: (_, property) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(schema(), property);
      // A proxy may not report a property as non-configurable that its own target lacks.
      return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
    },
    defineProperty: (_, property, descriptor) => Reflect.defineProperty(schema(), property, descriptor),
    getPrototypeOf: () => Reflect.getPrototypeOf(schema()),
  });
}
