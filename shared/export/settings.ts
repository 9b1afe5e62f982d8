/**
 * Tuning of the export. The environment's PipelineConfig supplies the tenant, the binders and
 * the claim lease; the rest are defaults chosen for Lambda and iBinder's rate limits, which a
 * caller (the demo, the bench, a test) may override.
 */
import type { PipelineConfig } from '../config/runtime.js';

export const MIB = 1024 * 1024;

/**
 * The checksum S3 verifies on each archived part: CRC32 by default (hardware-accelerated in
 * Node.js's zlib, see functions/export-worker/archive-upload.ts); SHA256 costs a second hash
 * pass over every byte.
 */
export type ArchiveChecksumAlgorithm = 'CRC32' | 'SHA256';

export interface ExportSettings {
  tenantId: string;
  /** Binders to export; undefined means every binder the source lists. */
  exportBinders?: string[] | undefined;
  /** Documents per search page. */
  pageSize: number;
  /** Search pages fetched ahead of the one being planned, once the total is known (0: one after another). */
  pagesAhead: number;
  /** Versions calls in flight at once while planning one page. */
  versionsConcurrency: number;
  /** Jobs of one worker batch processed at once. */
  jobConcurrency: number;
  /** How long a worker's claim on a version holds off other workers (s). */
  claimLeaseSeconds: number;
  /** A worker does not start a job when less than this remains of its invocation (ms). */
  minRemainingTimeMs: number;
  /** The planner stops paging when less than this remains of its invocation (ms). */
  planningMarginMs: number;
  /** Longest planning lease (ms): how long a crashed planner's run waits before another may take it. */
  planningLeaseMaxMs: number;
  /** Multipart part size for the archive upload; memory per upload is about queueSize parts. */
  partSizeBytes: number;
  /**
   * Parts uploaded at once per file; the download is read while they are on their way, and
   * only waits when this many are. Three keep the download moving while parts go up (the
   * transfer bench measured three and four alike against a raw pipe), for 3 x 8 MiB of part
   * buffers, which keeps a 1 GiB export's peak memory within 1.25x of a 10 MiB one's.
   */
  uploadQueueSize: number;
  /** New download links asked for per job when one turns out expired. */
  maxLinkRenewals: number;
  /** Checksum S3 verifies on every uploaded part; undefined only for servers that cannot. */
  s3ChecksumAlgorithm: ArchiveChecksumAlgorithm | undefined;
}

export const DEFAULT_EXPORT_SETTINGS = {
  pageSize: 100,
  pagesAhead: 3,
  versionsConcurrency: 4,
  jobConcurrency: 2,
  minRemainingTimeMs: 60_000,
  planningMarginMs: 60_000,
  planningLeaseMaxMs: 16 * 60_000,
  partSizeBytes: 8 * MIB,
  uploadQueueSize: 3,
  maxLinkRenewals: 2,
  s3ChecksumAlgorithm: 'CRC32',
} as const satisfies Partial<ExportSettings>;

export function exportSettingsFrom(
  config: Pick<PipelineConfig, 'tenantId' | 'exportBinders' | 'claimLeaseSeconds'>,
  overrides: Partial<ExportSettings> = {},
): ExportSettings {
  return {
    ...DEFAULT_EXPORT_SETTINGS,
    tenantId: config.tenantId,
    exportBinders: config.exportBinders,
    claimLeaseSeconds: config.claimLeaseSeconds,
    ...overrides,
  };
}
