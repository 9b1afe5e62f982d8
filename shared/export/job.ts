/**
 * The export job: one message on the export queue per document version to copy into the
 * archive. The planner writes it, the worker reads it; the body crosses a trust boundary (a
 * queue anyone with access could write to, and the dead-letter queue a person may redrive),
 * so the worker validates it with this schema before acting on it.
 */
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { RunIdSchema } from './run-id.js';

const isoTimestamp = lazySchema(() => z.iso.datetime({ offset: true }));

export const ExportJobMetadataSchema = lazySchema(() =>
  z.object({
    metadataElementId: z.string().check(z.minLength(1)),
    valueId: z.string(),
  }),
);

/** The connectors the export reads from; a job without one is iBinder's (jobs of older planners). */
export const ExportConnectorSchema = lazySchema(() => z.enum(['ibinder', 'bynder']));
export type ExportConnector = z.infer<typeof ExportConnectorSchema>;

/**
 * What the Bynder worker needs beyond the neutral fields (tenant = portal, binder = brand,
 * document = asset, version id = the ledger key): the version's folder and file, and the asset
 * as the planner read it (`?versions=1`), so that the sidecar costs no second asset call.
 */
export const BynderJobDetailsSchema = lazySchema(() =>
  z.object({
    portal: z.string().check(z.minLength(1)),
    version: z.int(),
    versionSegment: z.string().check(z.minLength(1)),
    mediaItemId: z.optional(z.string()),
    active: z.boolean(),
    size: z.optional(z.number()),
    versionCreatedAt: z.optional(z.string()),
    assetModifiedAt: z.optional(z.string()),
    asset: z.object({
      id: z.string(),
      name: z.string(),
      description: z.optional(z.string()),
      brandId: z.string(),
      type: z.optional(z.string()),
      extension: z.array(z.string()),
      fileSize: z.optional(z.number()),
      dateCreated: z.optional(z.string()),
      dateModified: z.optional(z.string()),
      tags: z.array(z.string()),
      propertyOptions: z.array(z.string()),
      properties: z.record(z.string(), z.array(z.string())),
      activeVersion: z.optional(z.number()),
      archive: z.boolean(),
    }),
  }),
);
export type BynderJobDetails = z.infer<typeof BynderJobDetailsSchema>;

export const ExportJobSchema = lazySchema(() =>
  z.object({
    /** The system the version is read from; absent: iBinder. */
    connector: z.optional(ExportConnectorSchema),
    /** Bynder's own fields; present exactly when `connector` is `bynder`. */
    bynder: z.optional(BynderJobDetailsSchema),
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
  }),
);
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
  if (parsed.data.connector === 'bynder' && parsed.data.bynder === undefined) {
    throw new InvalidExportJobError(
      'export job message names connector bynder but has no "bynder" block; it was not written by the export planner',
    );
  }
  return parsed.data;
}

/** The job's connector (a job of an older planner has none: iBinder). */
export function connectorOfJob(job: Pick<ExportJob, 'connector'>): ExportConnector {
  return job.connector ?? 'ibinder';
}

export function serializeExportJob(job: ExportJob): string {
  return JSON.stringify(job);
}
