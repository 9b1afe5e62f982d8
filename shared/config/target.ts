/**
 * Where a file belongs in iBinder. Used by routing rules, the environment default and the
 * tags of one object, so the three sources of a target share one shape.
 */
import { z } from 'zod';

/** Characters S3 allows in tag keys and values (the tag convention). */
export const S3_TAG_CHARS = /^[\p{L}\p{N} +\-=._:/@]*$/u;

export const TargetSpecSchema = z
  .object({
    binderId: z.string().min(1, 'binderId is required'),
    folderId: z.string().min(1).optional(),
    /** Folder names from the binder's top, `/`-separated. */
    folderPath: z.string().min(1).optional(),
    /** metadataElementId -> value id (or value label) applied to every file of this target. */
    metadata: z.record(z.string().min(1), z.string()).default({}),
    /** Version label to commit with when the object carries none. */
    version: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => (t.folderId === undefined) !== (t.folderPath === undefined), {
    message: 'give exactly one of folderId or folderPath',
  });
export type TargetSpec = z.infer<typeof TargetSpecSchema>;

export const RoutingRuleSchema = z
  .object({
    /** Object key prefix, e.g. `inbox/scanner-3/`. The longest matching prefix wins. */
    prefix: z.string().min(1),
    target: TargetSpecSchema,
  })
  .strict();
export type RoutingRule = z.infer<typeof RoutingRuleSchema>;
