/**
 * The run manifest: the tenant's record of what the integration read from the source and
 * what it wrote to the archive. iBinder does not write API reads to its per-document read
 * log, so this file is where a tenant looks to see which document versions the export read.
 *
 * Layout in the archive bucket (dates are the run's UTC start date):
 *
 * ```
 * manifests/<YYYY-MM-DD>/<runId>.jsonl               the run's manifest (written once the run is complete)
 * manifests/<YYYY-MM-DD>/<runId>/parts/<part>.jsonl  lines as they happened, one object per writer
 * ```
 *
 * Why parts: workers run in parallel Lambdas and S3 has no append, so each worker invocation
 * (and each planner invocation) writes its own part; when the run is complete the parts are
 * assembled into `<runId>.jsonl` (see run-finalizer.ts). The parts stay, as the raw record.
 *
 * `<runId>.jsonl` is JSON Lines, one object per line, each with a `type`:
 *
 * 1. `{"type":"run", ...}` first and once: `formatVersion`, `runId`, `tenantId`, `source`,
 *    `trigger` ("schedule" | "manual"), `since` (backfill lower bound or null), `startedAt`,
 *    `plannedAt`, `finalizedAt`, `complete` (every enqueued version reached a final outcome),
 *    `binders`, `documentsSeen`, `skippedUnchanged` (documents whose latest version was
 *    already archived: nothing more was read), `documentErrors`, `binderErrors`,
 *    `versionsEnqueued`, `versionsExported`, `alreadyExported`, `failed`, `unfinished`, `bytes`.
 * 2. `{"type":"binder", ...}` per binder planned: `binderId`, `pages`, `documentsSeen`,
 *    `skippedUnchanged`, `versionsEnqueued`, `documentErrors`, `error` (why the binder could
 *    not be read, or absent), `at`.
 * 3. `{"type":"version", ...}` per version the run enqueued, with its final `status`:
 *    - `"exported"`: read from the source and written to the archive by this run:
 *      `archiveKey`, `size`, `sha256` (hex), `exportedAt`;
 *    - `"already-exported"`: an earlier or overlapping run had archived it (nothing was read):
 *      `archiveKey`, `sha256`, `exportedAt`, `exportedByRunId`;
 *    - `"failed"`: a permanent failure: `reason`, `httpStatus`, `traceId` (quote it to iBinder
 *      support) when known;
 *    - `"unfinished"`: still failing transiently when the manifest was written (retried by SQS,
 *      then the dead-letter queue; the next run enqueues it again): `reason` of the last
 *      attempt, `attempts`.
 *    Every version line has `binderId`, `documentId`, `versionId`, `fileName`, `versionLabel`,
 *    `modifiedAt` and `at` (when the outcome was recorded).
 *
 * 4. `{"type":"deleted-asset", ...}` (Bynder) per asset a listing returned that then answered
 *    404: deleted in the portal; nothing in the archive is removed (connectors/bynder/export/manifest-lines.ts).
 *
 * Part files hold `binder` lines, `deleted-asset` lines and `version` lines whose status may
 * also be `"retrying"` (one per failed attempt) or `"enqueued"` (the Bynder planner writes one
 * per version it puts on the queue, so that a version no worker ever reached is listed as
 * unfinished by name, and the next run can plan its asset again). Readers must ignore fields
 * they do not know.
 */
import { DeletedAssetLineSchema } from '../connectors/bynder/export/manifest-lines.js';
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';

export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_PREFIX = 'manifests/';

/** The UTC date of a run's start, `YYYY-MM-DD`. */
export function runDate(startedAt: string | Date): string {
  const date = typeof startedAt === 'string' ? new Date(startedAt) : startedAt;
  if (Number.isNaN(date.getTime())) throw new Error(`run start time ${String(startedAt)} is not a valid timestamp`);
  return date.toISOString().slice(0, 10);
}

export function manifestKeyFor(runId: string, startedAt: string | Date): string {
  return `${MANIFEST_PREFIX}${runDate(startedAt)}/${runId}.jsonl`;
}

export function manifestPartsPrefixFor(runId: string, startedAt: string | Date): string {
  return `${MANIFEST_PREFIX}${runDate(startedAt)}/${runId}/parts/`;
}

/** A part's name sorts by time, then says who wrote it. */
export function manifestPartKeyFor(
  runId: string,
  startedAt: string | Date,
  writer: 'planner' | 'worker',
  at: Date,
  unique: string,
): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return `${manifestPartsPrefixFor(runId, startedAt)}${stamp}-${writer}-${unique}.jsonl`;
}

const optionalString = lazySchema(() =>
  z.pipe(
    z.nullish(z.string()),
    z.transform((v) => v ?? undefined),
  ),
);

export const VersionStatusSchema = lazySchema(() =>
  z.enum(['exported', 'already-exported', 'failed', 'retrying', 'unfinished', 'enqueued']),
);
export type VersionStatus = z.infer<typeof VersionStatusSchema>;

export const VersionLineSchema = lazySchema(() =>
  z.object({
    type: z.literal('version'),
    status: VersionStatusSchema,
    runId: z.string(),
    binderId: z.string(),
    documentId: z.string(),
    versionId: z.string(),
    fileName: z.string(),
    versionLabel: optionalString,
    modifiedAt: optionalString,
    archiveKey: optionalString,
    size: z.pipe(
      z.nullish(z.number()),
      z.transform((v) => v ?? undefined),
    ),
    sha256: optionalString,
    exportedAt: optionalString,
    exportedByRunId: optionalString,
    reason: optionalString,
    httpStatus: z.pipe(
      z.nullish(z.number()),
      z.transform((v) => v ?? undefined),
    ),
    traceId: optionalString,
    attempts: z.pipe(
      z.nullish(z.number()),
      z.transform((v) => v ?? undefined),
    ),
    at: z.string(),
  }),
);
export type VersionLine = z.infer<typeof VersionLineSchema>;
/** A version line as a writer builds it (optional fields may be left out). */
export type VersionLineInput = z.input<typeof VersionLineSchema>;

/** The fields of a version line that come from its export job, at `at`: every writer (planner, worker) starts from these. */
export function versionLineOfJob(
  job: {
    runId: string;
    binderId: string;
    documentId: string;
    versionId: string;
    fileName: string;
    versionLabel?: string | undefined;
    modifiedAt?: string | undefined;
  },
  at: Date,
) {
  return {
    type: 'version' as const,
    runId: job.runId,
    binderId: job.binderId,
    documentId: job.documentId,
    versionId: job.versionId,
    fileName: job.fileName,
    versionLabel: job.versionLabel,
    modifiedAt: job.modifiedAt,
    at: at.toISOString(),
  };
}

export const BinderLineSchema = lazySchema(() =>
  z.object({
    type: z.literal('binder'),
    runId: z.string(),
    binderId: z.string(),
    pages: z.number(),
    documentsSeen: z.number(),
    skippedUnchanged: z.number(),
    versionsEnqueued: z.number(),
    documentErrors: z.number(),
    error: optionalString,
    at: z.string(),
  }),
);
export type BinderLine = z.infer<typeof BinderLineSchema>;

export const PartLineSchema = lazySchema(() => z.discriminatedUnion('type', [VersionLineSchema, BinderLineSchema, DeletedAssetLineSchema]));
export type PartLine = z.infer<typeof PartLineSchema>;
export type PartLineInput = z.input<typeof PartLineSchema>;

export interface RunLine {
  type: 'run';
  formatVersion: number;
  runId: string;
  tenantId: string;
  source: string;
  trigger: 'schedule' | 'manual';
  since: string | null;
  startedAt: string;
  plannedAt: string | null;
  finalizedAt: string;
  complete: boolean;
  binders: number;
  documentsSeen: number;
  skippedUnchanged: number;
  documentErrors: number;
  binderErrors: number;
  versionsEnqueued: number;
  versionsExported: number;
  alreadyExported: number;
  failed: number;
  unfinished: number;
  bytes: number;
  /** Bynder: assets a listing returned that answered 404 (deleted in the portal). */
  deletedAssets?: number;
}

export function toJsonLines(lines: readonly object[]): string {
  return lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length > 0 ? '\n' : '');
}

/** Parses a part file; lines that are not manifest lines are counted, not fatal. */
export function parsePartLines(text: string): { lines: PartLine[]; unreadable: number } {
  const lines: PartLine[] = [];
  let unreadable = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const parsed = PartLineSchema.safeParse(JSON.parse(raw));
      if (parsed.success) lines.push(parsed.data);
      else unreadable++;
    } catch {
      unreadable++;
    }
  }
  return { lines, unreadable };
}

const STATUS_RANK: Record<VersionStatus, number> = {
  exported: 4,
  'already-exported': 3,
  failed: 2,
  unfinished: 1,
  retrying: 0,
  enqueued: -1,
};

/**
 * One line per version from all the lines a run's writers recorded: the most final outcome
 * wins (a version exported on its second attempt is "exported", not "retrying"), and a version
 * that only ever failed transiently is "unfinished" with its last reason and attempt count.
 * "already-exported" by this very run (a redelivery after the export) counts as exported.
 */
export function reduceVersionLines(lines: readonly VersionLine[]): VersionLine[] {
  const byVersion = new Map<string, { best: VersionLine; attempts: number; lastRetry?: VersionLine }>();
  for (const original of lines) {
    const line: VersionLine =
      original.status === 'already-exported' && original.exportedByRunId === original.runId
        ? { ...original, status: 'exported' }
        : original;
    const entry = byVersion.get(line.versionId);
    if (!entry) {
      byVersion.set(line.versionId, {
        best: line,
        attempts: line.status === 'retrying' ? 1 : 0,
        ...(line.status === 'retrying' ? { lastRetry: line } : {}),
      });
      continue;
    }
    if (line.status === 'retrying') {
      entry.attempts++;
      if (entry.best.status === 'enqueued') entry.best = line;
      if (!entry.lastRetry || entry.lastRetry.at <= line.at) entry.lastRetry = line;
    }
    const rank = STATUS_RANK[line.status];
    const bestRank = STATUS_RANK[entry.best.status];
    if (rank > bestRank || (rank === bestRank && line.at < entry.best.at && rank > 0)) entry.best = line;
  }
  return [...byVersion.values()]
    .map(({ best, attempts, lastRetry }) =>
      best.status === 'retrying' || best.status === 'enqueued' ? { ...(lastRetry ?? best), status: 'unfinished' as const, attempts } : best,
    )
    .sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
}

const sortKey = (l: VersionLine): string => `${l.binderId}\u0000${l.documentId}\u0000${l.versionId}`;
