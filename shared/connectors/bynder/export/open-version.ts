/**
 * Opens the bytes of one Bynder version for the export worker. The download location
 * (`GET /api/v4/media/{id}/download/...` -> `s3_file`) is temporary, so it is asked for right
 * before the download and never kept: not in the job, not in a cache, not in a log line. The
 * client sends no Authorization header to it (the location is storage, not Bynder's API).
 *
 * A location that expired between the two calls (storage answers 403) is asked for once more
 * and the download tried again; a second refusal is the worker's to classify (it retries the
 * job later). A refusal of the download-location call itself is Bynder's API refusing the
 * integration, not an expired link, and is never retried here.
 */
import type { Readable } from 'node:stream';
import type { BynderClient } from '../client/types.js';
import type { BynderVersionJob } from './job.js';

export interface OpenedBynderVersion {
  body: Readable;
  contentLength?: number | undefined;
  contentType?: string | undefined;
  /** Download locations asked for (1, or 2 after an expired one). */
  locationsFetched: number;
}

export interface OpenBynderVersionOptions {
  /** Recognises storage refusing an expired location; default: an error with HTTP status 403. */
  isExpiredLinkError?: ((err: unknown) => boolean) | undefined;
}

/**
 * True for storage's refusal of an expired download location: an error that carries HTTP
 * status 403 (`status`, as the Bynder client's BynderApiError does, or `statusCode`).
 */
export function isExpiredDownloadLinkError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const status = (err as { status?: unknown }).status ?? (err as { statusCode?: unknown }).statusCode;
  return status === 403;
}

/** Which file to ask for: the media item when the job names one (exact), else the version number. */
export function downloadTargetOf(job: Pick<BynderVersionJob, 'version' | 'mediaItemId'>): { version?: number; itemId?: string } {
  return job.mediaItemId !== undefined ? { itemId: job.mediaItemId } : { version: job.version };
}

export async function openBynderVersion(
  client: Pick<BynderClient, 'getDownloadUrl' | 'download'>,
  job: Pick<BynderVersionJob, 'assetId' | 'version' | 'mediaItemId'>,
  options: OpenBynderVersionOptions = {},
): Promise<OpenedBynderVersion> {
  const isExpired = options.isExpiredLinkError ?? isExpiredDownloadLinkError;
  const target = downloadTargetOf(job);
  for (let locationsFetched = 1; ; locationsFetched++) {
    const location = await client.getDownloadUrl(job.assetId, target);
    try {
      const download = await client.download(location);
      return {
        body: download.body,
        ...(download.contentLength !== undefined ? { contentLength: download.contentLength } : {}),
        ...(download.contentType !== undefined ? { contentType: download.contentType } : {}),
        locationsFetched,
      };
    } catch (err) {
      if (locationsFetched >= 2 || !isExpired(err)) throw err;
    }
  }
}
