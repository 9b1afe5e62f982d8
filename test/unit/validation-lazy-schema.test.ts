import { describe, expect, it } from 'vitest';
import { lazySchema } from '../../shared/validation/lazy-schema.js';
import * as z from '../../shared/validation/zod.js';

describe('lazySchema', () => {
  it('builds nothing until the schema is used, then builds it once', () => {
    let builds = 0;
    const Schema = lazySchema(() => {
      builds++;
      return z.object({ id: z.string() });
    });
    expect(builds).toBe(0);
    expect(Schema.parse({ id: 'a', extra: 1 })).toEqual({ id: 'a' });
    expect(z.safeParse(Schema, { id: 'b' }).success).toBe(true);
    expect(builds).toBe(1);
  });

  it('reports the same issues as the schema it stands for', () => {
    const Schema = lazySchema(() => z.strictObject({ size: z.int().check(z.positive()) }));
    const direct = z.strictObject({ size: z.int().check(z.positive()) });
    for (const input of [{ size: -1 }, { size: 'x' }, { size: 1, more: true }, null]) {
      expect(z.safeParse(Schema, input).error?.issues).toEqual(z.safeParse(direct, input).error?.issues);
    }
  });

  it('serves what zod reads of an object schema: extend, shape, discriminated unions, nesting', () => {
    const Base = lazySchema(() => z.object({ kind: z.literal('a'), id: z.string() }));
    const Other = lazySchema(() => z.object({ kind: z.literal('b'), n: z.number() }));
    const Extended = z.extend(Base, { note: z.optional(z.string()) });
    expect(Extended.parse({ kind: 'a', id: '1', note: 'n' })).toEqual({ kind: 'a', id: '1', note: 'n' });
    expect(Object.keys(Base.shape)).toEqual(['kind', 'id']);
    const Union = z.discriminatedUnion('kind', [Base, Other]);
    expect(Union.parse({ kind: 'b', n: 2 })).toEqual({ kind: 'b', n: 2 });
    expect(z.safeParse(Union, { kind: 'c' }).success).toBe(false);
    const Outer = z.object({ inner: z.optional(Base), list: z.array(Other) });
    expect(Outer.parse({ list: [{ kind: 'b', n: 1 }] })).toEqual({ list: [{ kind: 'b', n: 1 }] });
  });

  it('is an instance of the schema classes it stands for', () => {
    const Schema = lazySchema(() => z.string());
    expect(Schema instanceof z.ZodMiniString).toBe(true);
    expect(Schema instanceof z.ZodMiniNumber).toBe(false);
  });
});
