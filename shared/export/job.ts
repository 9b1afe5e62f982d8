/**
 * The export job: one message on the export queue per document version to copy into the
 * archive. The planner writes it, the worker reads it; the body crosses a trust boundary (a
 * queue anyone with access could write to, and the dead-letter queue a person may redrive),
 * so the worker validates it with this schema before acting on it.
 */
import * as z from '../validation/zod.js';
import { RunIdSchema } from './run-id.js';

const isoTimestamp = z.iso.datetime({ offset: true });

export const ExportJobMetadataSchema = z.object({
  metadataElementId: z.string().check(z.minLength(1)),
  valueId: z.string(),
});

export const ExportJobSchema = z.object({
  runId: RunIdSchema,
  /**
   * When the run started: the manifest of a run lives under the run's start date
   * (`manifests/<YYYY-MM-DD>/`), also for jobs that finish after midnight.
   */
  runStartedAt: isoTimestamp,
  tenantId: z.string().check(z.minLength(1)),
  binderId: z.string().check(z.minLength(1)),
  documentId: z.string().check(z.minLength(1)),
  versionId: z.string().check(z.minLength(1)),
  fileName: z.string().check(z.minLength(1)),
  versionLabel: z.optional(z.string()),
  status: z.optional(z.string()),
  /** As the source reported it (ISO 8601); absent when the source does not say. */
  modifiedAt: z.optional(z.string()),
  metadata: z._default(z.array(ExportJobMetadataSchema), []),
  /**
   * Whether the planner put this version in its document's pending marker (an older version of
   * the document), so that the worker takes it out once exported. False for the latest version
   * (the usual job), which saves the worker that call. Absent in jobs of older planners: the
   * worker then takes it out anyway.
   */
  inPendingMarker: z.optional(z.boolean()),
});
export type ExportJob = z.infer<typeof ExportJobSchema>;
export type ExportJobInput = z.input<typeof ExportJobSchema>;

export class InvalidExportJobError extends Error {
  override readonly name = 'InvalidExportJobError';
}

/** Parses a message body; the error lists every wrong field, so a person can fix a redrive. */
export function parseExportJob(body: string): ExportJob {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new InvalidExportJobError(`export job message is not JSON (${(err as Error).message}); it was not written by the export planner`);
  }
  const parsed = ExportJobSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new InvalidExportJobError(`export job message is invalid: ${issues}`);
  }
  return parsed.data;
}

export function serializeExportJob(job: ExportJob): string {
  return JSON.stringify(job);
}
