/**
 * What every part of the bench shares: the local services (hosted by the bench's parent
 * process), how a measured process reaches them, the iBinder client the parent uses for its
 * own arrangements (presigned URLs for the baseline), and a way to start each measured case
 * with clean disk caches.
 */
import { execFile } from 'node:child_process';
import { rm, statfs } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FileBlob, type BlobSource } from '../emulator/blobs.js';
import { createLocalIBinderClient } from '../local/local-ingest-dependencies.js';
import { LOCAL_S3_CREDENTIALS } from '../local/local-s3.js';
import type { LocalServices } from '../local/services.js';
import type { IBinderClient } from '../shared/connectors/ibinder/client/types.js';
import type { LocalEndpoints } from './protocol.js';

export const MIB = 1024 * 1024;
export const GIB = 1024 * MIB;

export interface BenchContext {
  services: LocalServices;
  endpoints: LocalEndpoints;
  credentials: { clientId: string; clientSecret: string };
  ibinder: IBinderClient;
  /** Progress lines go here (stderr), the results table to stdout. */
  progress(line: string): void;
}

export function createBenchContext(services: LocalServices, progress: (line: string) => void): BenchContext {
  return {
    services,
    endpoints: {
      s3: services.s3.endpoint,
      dynamodb: services.dynamodb.endpoint,
      region: services.region,
      accessKeyId: LOCAL_S3_CREDENTIALS.accessKeyId,
      secretAccessKey: LOCAL_S3_CREDENTIALS.secretAccessKey,
    },
    credentials: { clientId: services.emulator.clientId, clientSecret: services.emulator.clientSecret },
    ibinder: createLocalIBinderClient(services),
    progress,
  };
}

const execFileAsync = promisify(execFile);

/**
 * Writes dirty pages to disk before a timed case. Without it the gigabytes written by the
 * previous case are flushed during the next one and slow it down: whichever case runs second
 * would look worse. Best effort: where `sync` does not exist the bench still runs.
 */
export async function flushDiskWrites(): Promise<void> {
  await execFileAsync('sync').catch(() => undefined);
}

/**
 * Removes bytes the emulator received once a case has verified them; nothing reads them
 * again. Keeps the disk use at one case's worth, and keeps each case's timing honest: on a
 * virtual machine, page cache that keeps growing into memory never touched before costs
 * kernel time per page: without this, six copies of the same 1 GiB object in a row took
 * between 4 and 9.5 s, mostly system time of the servers' process; with it, 4 to 5 s.
 */
export async function discardReceivedBytes(blob: BlobSource | undefined): Promise<void> {
  if (blob instanceof FileBlob) await rm(blob.path, { force: true });
}

/** Free bytes on the file system of `path` (where the local servers keep their files). */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path);
  return stats.bavail * stats.bsize;
}

export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(bytes % GIB === 0 ? 0 : 2)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(bytes % MIB === 0 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
