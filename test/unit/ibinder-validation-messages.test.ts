/**
 * zod/mini carries no messages until a locale is configured; shared/validation/zod.ts switches
 * on English ones, because these messages reach operators (config errors, rejected files,
 * iBinder answers that do not match the reference).
 */
import { describe, expect, it } from 'vitest';
import * as z from '../../shared/validation/zod.js';
import { DocumentSchema } from '../../shared/connectors/ibinder/client/schemas.js';

describe('validation messages', () => {
  it('say what was expected and what came, not just "Invalid input"', () => {
    const result = z.safeParse(DocumentSchema, { id: 7, fileName: 'a.pdf' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'id: Invalid input: expected string, received number',
    ]);
    expect(z.safeParse(z.string().check(z.minLength(1)), '').error?.issues[0]?.message).toBe(
      'Too small: expected string to have >=1 characters',
    );
  });
});
