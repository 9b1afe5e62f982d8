/**
 * Export run ids. A run id names a run in the export ledger (`run#<runId>`), in every job
 * message and in the manifest's key, so it must be safe in a DynamoDB key (no `#`) and in an
 * S3 key (no `/`), and readable by a person: generated ids start with the UTC start time.
 */
import { randomBytes } from 'node:crypto';
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';

/** Letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 100 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const RunIdSchema = lazySchema(() =>
  z.string().check(z.regex(RUN_ID_PATTERN, 'a run id has 1-100 letters, digits, ".", "_" or "-", and starts with a letter or digit')),
);

/**
 * A new run id such as `2026-11-22T02-00-00Z-3f9a1c`: the start time to the second (colons
 * become dashes, so the id is a safe key segment) and six random hex digits, so two runs
 * started in the same second (a manual one beside the scheduled one) do not collide.
 */
export function newRunId(startedAt: Date, random: () => string = () => randomBytes(3).toString('hex')): string {
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  return `${stamp}-${random()}`;
}
