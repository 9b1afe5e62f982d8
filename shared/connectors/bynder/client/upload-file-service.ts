/**
 * Bynder's chunked file-service upload (the /v7 "modern stack" flow):
 * `prepare` → `{file_id}`; chunks of at most 5 MiB numbered from 0, each a binary POST with its
 * `Content-SHA256` (hex); `finalise` with `fileName, fileSize, chunksCount, sha256` (the whole
 * file's, computed while reading). The file id is what the save takes as its import id.
 *
 * Two path readings exist (bynder-notes.md §2.3): the SDKs' `/v7/file_cmds/upload/{id}/chunk/{n}`
 * and `…/finalise_api`, and the published outline's `/v7/file/cmds/upload/{id}/chunk/{n}` and
 * `…/finalise`. The configured one is tried first; when its `prepare` answers 404, the other is
 * tried once and, when it works, remembered for the portal for the rest of the process (and
 * reported through `onFileServicePathsSwitched` and a warning, so that the setting gets fixed).
 *
 * Retries: `prepare` only reserves an id (an orphan costs nothing) and a chunk number may be
 * sent again, so both are retried on 5xx/network; each chunk on its own, from its own bytes.
 * `finalise` is sent once: re-finalising is unconfirmed (bynder-notes.md §4); only Bynder's own
 * 500 `{"message":"Could not complete upload","retry":1}` has it sent again.
 */
import { logger } from '../../../observability/logger.js';
import type { BynderApiCaller } from './api-call.js';
import { ChunkReader, MAX_CHUNK_BYTES } from './chunk-reader.js';
import { BynderResponseError } from './errors.js';
import { bynderAsksForRetry, correlationIdOf, errorFromResponse, parseResponse, type TextResponse } from './http.js';
import { PrepareResponseSchema } from './schemas.js';
import type { BynderUpload, UploadSource } from './types.js';

export type FileServicePaths = 'sdk' | 'outline';

export const FILE_SERVICE_PATHS: Record<FileServicePaths, { base: string; finalise: string }> = {
  sdk: { base: '/v7/file_cmds/upload', finalise: 'finalise_api' },
  outline: { base: '/v7/file/cmds/upload', finalise: 'finalise' },
};

/** The reading that worked, per portal origin, for the rest of the process. */
const workingReadings = new Map<string, FileServicePaths>();

export interface FileServicePathsSwitch {
  from: FileServicePaths;
  to: FileServicePaths;
}

export interface FileServiceUploadOptions {
  caller: BynderApiCaller;
  portalUrl: string;
  configuredPaths: FileServicePaths;
  chunkSizeBytes?: number | undefined;
  throttlePauseMs: number;
  onFileServicePathsSwitched?: ((event: FileServicePathsSwitch) => void) | undefined;
}

/** The plain file name: Bynder keeps what it is given, directories included. */
export function plainFileName(fileName: string): string {
  const base = fileName
    .split(/[\\/]/)
    .filter((part) => part !== '')
    .pop();
  return base ?? fileName;
}

export class FileServiceUpload {
  private readonly portalKey: string;

  constructor(private readonly options: FileServiceUploadOptions) {
    this.portalKey = new URL(options.portalUrl).origin;
  }

  /** `prepare` on the reading that works (the configured one, or the other after a 404). */
  async prepare(): Promise<BynderUpload> {
    const first = workingReadings.get(this.portalKey) ?? this.options.configuredPaths;
    const firstTry = await this.tryPrepare(first);
    if (firstTry.fileId !== undefined) return { uploadId: firstTry.fileId, flow: 'file-service', fileServicePaths: first };
    const other: FileServicePaths = first === 'sdk' ? 'outline' : 'sdk';
    const secondTry = await this.tryPrepare(other);
    if (secondTry.fileId === undefined) throw firstTry.notFound;
    workingReadings.set(this.portalKey, other);
    logger.warn('Bynder file-service prepare answered 404 on the configured paths; the other path reading works and is used from now on', {
      configured: first,
      using: other,
      advice: `set fileServicePaths to "${other}" in the Bynder connector's settings`,
    });
    try {
      this.options.onFileServicePathsSwitched?.({ from: first, to: other });
    } catch {
      // An observer must never fail the upload.
    }
    return { uploadId: secondTry.fileId, flow: 'file-service', fileServicePaths: other };
  }

  /** Sends every chunk, then finalises; returns the file id the save takes. */
  async send(upload: BynderUpload, source: UploadSource): Promise<{ importId: string }> {
    const reading = upload.fileServicePaths ?? workingReadings.get(this.portalKey) ?? this.options.configuredPaths;
    const { base, finalise } = FILE_SERVICE_PATHS[reading];
    const fileId = encodeURIComponent(upload.uploadId);
    const reader = new ChunkReader(source, this.options.chunkSizeBytes ?? MAX_CHUNK_BYTES);
    for await (const chunk of reader.chunks()) {
      await this.options.caller.call({
        method: 'POST',
        path: `${base}/${fileId}/chunk/${chunk.index}`,
        body: chunk.bytes,
        headers: { 'content-sha256': chunk.sha256 },
        retry: 'transient',
      });
    }
    const form = new URLSearchParams({
      fileName: plainFileName(source.fileName),
      fileSize: String(source.size),
      chunksCount: String(reader.chunkCount),
      sha256: reader.fileSha256(),
    });
    const response = await this.finalise(`${base}/${fileId}/${finalise}`, form);
    logger.debug('Bynder file-service upload finalised', {
      fileId: upload.uploadId,
      chunks: reader.chunkCount,
      correlationId: correlationIdOf(response.headers),
    });
    return { importId: upload.uploadId };
  }

  /** Sent once; repeated only when Bynder answers 500 with `"retry": 1`, a bounded number of times. */
  private async finalise(path: string, form: URLSearchParams): Promise<TextResponse> {
    const { caller } = this.options;
    for (let attempt = 1; ; attempt++) {
      const response = await caller.call({ method: 'POST', path, form, retry: 'never', accept: [500] });
      if (response.status !== 500) return response;
      const error = errorFromResponse({ method: 'POST', path }, 'api', response, this.options.throttlePauseMs);
      if (!bynderAsksForRetry(response.text) || attempt >= caller.maxAttempts) throw error;
      await caller.sleep(caller.backoffMs(attempt), { method: 'POST', path }, error);
    }
  }

  private async tryPrepare(reading: FileServicePaths): Promise<{ fileId?: string; notFound?: Error }> {
    const path = `${FILE_SERVICE_PATHS[reading].base}/prepare`;
    const description = { method: 'POST', path };
    const response = await this.options.caller.call({ method: 'POST', path, retry: 'transient', accept: [404] });
    if (response.status === 404) return { notFound: errorFromResponse(description, 'api', response, this.options.throttlePauseMs) };
    const fileId = parseResponse(description, 'api', response, PrepareResponseSchema);
    if (fileId === undefined) {
      throw new BynderResponseError(
        `Bynder POST ${path} answered ${response.status} without a file_id — the API may have changed; report it with the request`,
        description,
        ['file_id: missing'],
      );
    }
    return { fileId };
  }
}
