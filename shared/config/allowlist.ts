/**
 * Allowlists: which binders, and optionally which folder subtrees, files under an inbox prefix
 * may reach. A routing rule carries its own (`allow`); the environment says what a prefix
 * without a rule may reach (`unlistedPrefixes`). Tags can send a file anywhere the API client
 * can write; the allowlist is what keeps a producer's mistake, or a producer that was given the
 * wrong prefix, out of other projects' binders.
 *
 * Folder subtrees are given by folder id or by folder path (names from the binder's top); a
 * target is inside one when it is that folder or below it. Paths are compared in NFC.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { BinderIdSchema, GuidSchema } from './ids.js';
import { nfc } from './unicode.js';

/** A folder path as the allowlist compares it: trimmed NFC segments, empty ones dropped. */
export function folderPathSegments(path: string): string[] {
  return nfc(path)
    .split('/')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const AllowedTargetSchema = lazySchema(() =>
  z.strictObject({
    binderId: BinderIdSchema.check(z.describe('Binder files may reach (9-character binder id).')),
    folderIds: z
      .optional(
        z
          .array(GuidSchema, { error: 'expected a list of folder ids' })
          .check(z.minLength(1, { error: 'expected at least one folder id; leave the field out to allow the whole binder' })),
      )
      .check(
        z.describe(
          'Folders (by id) files may reach, each with every folder below it. Leave out both folderIds and folderPaths to allow the whole binder.',
        ),
      ),
    folderPaths: z
      .optional(
        z
          .array(
            z.pipe(z.string({ error: 'expected a folder path, e.g. "Finance/Invoices"' }), z.transform(nfc)).check(
              z.refine((p) => folderPathSegments(p).length > 0, {
                error: 'expected a folder path that names a folder, e.g. "Finance/Invoices"',
              }),
            ),
            { error: 'expected a list of folder paths' },
          )
          .check(z.minLength(1, { error: 'expected at least one folder path; leave the field out to allow the whole binder' })),
      )
      .check(
        z.describe('Folders (by path: names from the binder\'s top, "/"-separated) files may reach, each with every folder below it.'),
      ),
  }),
);
export type AllowedTarget = z.infer<typeof AllowedTargetSchema>;

export const AllowListSchema = lazySchema(() =>
  z
    .array(AllowedTargetSchema, { error: 'expected a list of {binderId, folderIds?, folderPaths?}' })
    .check(z.minLength(1, { error: 'expected at least one {binderId, folderIds?, folderPaths?}' })),
);

/**
 * What files under a prefix that no routing rule covers may reach: `"none"` (nothing: every
 * producer needs its own rule), `"any"` (whatever the tags say), or `{allow: [...]}`.
 */
export const UnlistedPrefixesSchema = lazySchema(() =>
  z
    .union(
      [
        z.literal('none'),
        z.literal('any'),
        z.strictObject({
          allow: AllowListSchema.check(z.describe('The binders and folder subtrees files under an unlisted prefix may reach.')),
        }),
      ],
      { error: 'expected "none", "any" or {"allow": [{binderId, folderIds?, folderPaths?}]}' },
    )
    .check(
      z.describe(
        'What files under a prefix that no routing rule covers may reach: "none" (nothing; each producer needs a routing rule), ' +
          '"any" (whatever their tags say), or {"allow": [{binderId, folderIds?, folderPaths?}]}. ' +
          'The defaultTarget must be inside it.',
      ),
    ),
);
export type UnlistedPrefixes = z.infer<typeof UnlistedPrefixesSchema>;
