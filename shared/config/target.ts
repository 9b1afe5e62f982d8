/**
 * Where a file belongs in iBinder. Used by routing rules, the environment default and the
 * tags of one object, so the three sources of a target share one shape.
 *
 * Ids are checked for their documented formats (binder: 9-character NanoId, folder: GUID) and
 * prefixes and folder paths are kept in NFC, so a misspelt id fails the synth (and a cold start)
 * with its field named instead of misrouting files.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { AllowListSchema } from './allowlist.js';
import { BinderIdSchema, GuidSchema } from './ids.js';
import { nfc } from './unicode.js';

/** Characters S3 allows in tag keys and values (the tag convention). */
export const S3_TAG_CHARS = /^[\p{L}\p{N} +\-=._:/@]*$/u;

/** A non-empty string kept in NFC. */
const nfcText = () => z.pipe(z.string().check(z.minLength(1)), z.transform(nfc));

export const TargetSpecSchema = lazySchema(() =>
  z
    .strictObject({
      binderId: BinderIdSchema.check(z.describe('Binder id (9 characters).')),
      folderId: z.optional(GuidSchema).check(z.describe('Folder id (a GUID); or give folderPath.')),
      /** Folder names from the binder's top, `/`-separated. */
      folderPath: z.optional(nfcText()).check(z.describe('Folder names from the binder\'s top, "/"-separated; or give folderId.')),
      /** metadataElementId -> value id (or value label) applied to every file of this target. */
      metadata: z
        ._default(z.record(z.string().check(z.minLength(1)), z.pipe(z.string(), z.transform(nfc))), {})
        .check(z.describe('metadataElementId -> allowed value id (or label); tags on the object win element by element.')),
      /** Version label to commit with when the object carries none. */
      version: z.optional(nfcText()).check(z.describe('Version label used when the object has no ibinder:version tag.')),
    })
    .check(
      z.refine((t) => (t.folderId === undefined) !== (t.folderPath === undefined), {
        message: 'give exactly one of folderId or folderPath',
      }),
    ),
);
export type TargetSpec = z.infer<typeof TargetSpecSchema>;

export const RoutingRuleSchema = lazySchema(() =>
  z.strictObject({
    /** Object key prefix, e.g. `inbox/scanner-3/`. The longest matching prefix wins. */
    prefix: nfcText().check(z.describe('Object key prefix, e.g. "inbox/scanner-3/"; the longest matching prefix wins.')),
    target: TargetSpecSchema,
    /** Absent: the rule's own target binder, any folder of it. */
    allow: z
      .optional(AllowListSchema)
      .check(
        z.describe(
          'Binders and folder subtrees files under this prefix may reach, tags included: [{binderId, folderIds?, folderPaths?}]. ' +
            "Leave out to allow the rule's own target binder (any folder). The rule's target must be inside it.",
        ),
      ),
  }),
);
export type RoutingRule = z.infer<typeof RoutingRuleSchema>;
