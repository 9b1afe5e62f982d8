/**
 * The export worker's way to a job's connector: which system archives the version (the job's
 * `connector`), so that the worker names none. Each connector's part is in its own folder
 * (ibinder/export-archiving.ts, bynder/export/archiving.ts); the interface is
 * shared/export/version-archiving.ts.
 */
import type { ExportDeps } from '../export/deps.js';
import { archiveKeyFor } from '../export/archive-key.js';
import { connectorOfJob, type ExportJob } from '../export/job.js';
import type { VersionArchiving } from '../export/version-archiving.js';
import { bynderArchiveKeyOfJob, bynderVersionArchiving } from './bynder/export/archiving.js';
import { ibinderVersionArchiving } from './ibinder/export-archiving.js';

export type { VersionArchiving } from '../export/version-archiving.js';

type ArchivingDeps = Pick<ExportDeps, 'source' | 'schemas' | 'bynder'>;

export function versionArchivingFor(job: ExportJob, deps: ArchivingDeps): VersionArchiving {
  return connectorOfJob(job) === 'bynder' ? bynderVersionArchiving(job, deps.bynder) : ibinderVersionArchiving(job, deps);
}

/** The archive key alone (log context), without any connector call. */
export function archiveKeyOfJob(job: ExportJob): string {
  if (connectorOfJob(job) === 'bynder' && job.bynder !== undefined) return bynderArchiveKeyOfJob(job);
  return archiveKeyFor(job);
}
