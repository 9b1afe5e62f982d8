/**
 * Bynder's legacy upload, what every released SDK does (bynder-notes.md §1, "Legacy flow"):
 * `GET /api/upload/endpoint` (a bucket URL) → `POST /api/upload/init` → for each part of at most
 * 5 MiB, numbered from 1: an S3 POST (multipart form: `multipart_params`, key
 * `<s3_filename>/p<n>`, the bytes as `file`) and its registration → finalise with
 * `original_filename` = the plain file name → poll until the import is done → the `importId`.
 *
 * The S3 POST goes to storage (storage-request.ts): no bearer token, no slot of the portal's
 * budget. A part and its registration are retried on 5xx/network on their own (re-sending a
 * part number replaces it); finalise is sent once, except when Bynder itself answers 500 with
 * `"retry": 1` ("Could not complete upload").
 */
import { randomBytes } from 'node:crypto';
import type { BynderApiCaller } from './api-call.js';
import { ChunkReader, MAX_CHUNK_BYTES } from './chunk-reader.js';
import { BynderError, BynderResponseError } from './errors.js';
import { bynderAsksForRetry, errorFromResponse, parseResponse } from './http.js';
import { pollImport, type PollSettings } from './import-poll.js';
import { LegacyFinaliseSchema, UploadEndpointSchema, UploadInitSchema } from './schemas.js';
import { postToStorage, type StorageRequestOptions } from './storage-request.js';
import type { BynderUpload, LegacyUploadTarget, UploadSource } from './types.js';
import { plainFileName } from './upload-file-service.js';

export interface LegacyUploadOptions {
  caller: BynderApiCaller;
  storage: StorageRequestOptions;
  /** Attempts of one part (storage POST and registration each), the first included. */
  maxAttempts: number;
  poll: PollSettings;
  throttlePauseMs: number;
  chunkSizeBytes?: number | undefined;
}

const ENDPOINT_PATH = '/api/upload/endpoint';
const INIT_PATH = '/api/upload/init';

export class LegacyUpload {
  constructor(private readonly options: LegacyUploadOptions) {}

  async start(fileName: string): Promise<BynderUpload> {
    const { caller } = this.options;
    const endpointResponse = await caller.call({ method: 'GET', path: ENDPOINT_PATH, retry: 'transient' });
    const endpoint = parseResponse({ method: 'GET', path: ENDPOINT_PATH }, 'api', endpointResponse, UploadEndpointSchema);
    if (endpoint === undefined) {
      throw new BynderResponseError(
        `Bynder GET ${ENDPOINT_PATH} answered without an upload endpoint URL — report it with the request`,
        {
          method: 'GET',
          path: ENDPOINT_PATH,
        },
        ['endpoint: missing'],
      );
    }
    // init only reserves an upload (an orphan costs nothing): retried like a GET.
    const initResponse = await caller.call({
      method: 'POST',
      path: INIT_PATH,
      form: new URLSearchParams({ filename: plainFileName(fileName) }),
      retry: 'transient',
    });
    const init = parseResponse({ method: 'POST', path: INIT_PATH }, 'api', initResponse, UploadInitSchema);
    const legacy: LegacyUploadTarget = {
      endpoint,
      uploadId: init.s3file.uploadid,
      targetId: init.s3file.targetid,
      s3Filename: init.s3_filename,
      multipartParams: init.multipart_params,
    };
    return { uploadId: init.s3file.targetid, flow: 'legacy', legacy };
  }

  async send(upload: BynderUpload, source: UploadSource): Promise<{ importId: string }> {
    const target = upload.legacy;
    if (!target) {
      throw new BynderError(
        `legacy upload ${upload.uploadId} has no endpoint and init details (they are not kept across processes) — start a new upload`,
        'permanent',
        { method: 'POST', path: '/api/v4/upload/' },
      );
    }
    const { caller } = this.options;
    const name = plainFileName(source.fileName);
    const registerPath = `/api/v4/upload/${encodeURIComponent(target.uploadId)}/`;
    const reader = new ChunkReader(source, this.options.chunkSizeBytes ?? MAX_CHUNK_BYTES);
    const total = reader.chunkCount;
    for await (const chunk of reader.chunks()) {
      const partNumber = chunk.index + 1;
      const key = `${target.s3Filename}/p${partNumber}`;
      const fields: Record<string, string> = {
        ...target.multipartParams,
        key,
        Filename: key,
        name,
        chunk: String(partNumber),
        chunks: String(total),
      };
      await this.withPartRetries((attempt) => {
        const form = multipartForm(fields, name, chunk.bytes);
        return postToStorage(target.endpoint, { 'content-type': form.contentType }, form.body, attempt, this.options.storage);
      });
      await caller.call({
        method: 'POST',
        path: registerPath,
        form: new URLSearchParams({ id: target.uploadId, targetid: target.targetId, filename: key, chunkNumber: String(partNumber) }),
        retry: 'transient',
      });
    }
    const importId = await this.finalise(registerPath, target, total, name);
    const polled = await pollImport(caller, importId, this.options.poll);
    if (polled.state === 'failed') {
      throw new BynderError(
        `Bynder could not process import ${importId} of "${name}" (listed as failed by the poll) — the file may be unreadable; it will not succeed on retry as is`,
        'permanent',
        {
          method: 'GET',
          path: '/api/v4/upload/poll/',
        },
      );
    }
    if (polled.state === 'pending') {
      throw new BynderError(
        `Bynder had not processed import ${importId} of "${name}" after ${polled.polls} polls — transient; try again later`,
        'transient',
        {
          method: 'GET',
          path: '/api/v4/upload/poll/',
        },
      );
    }
    return { importId };
  }

  private async finalise(path: string, target: LegacyUploadTarget, total: number, name: string): Promise<string> {
    const description = { method: 'POST', path };
    const form = new URLSearchParams({
      id: target.uploadId,
      targetid: target.targetId,
      s3_filename: `${target.s3Filename}/p${total}`,
      chunks: String(total),
      original_filename: name,
    });
    for (let attempt = 1; ; attempt++) {
      const response = await this.options.caller.call({ method: 'POST', path, form, retry: 'never', accept: [500] });
      if (response.status === 500) {
        const error = errorFromResponse(description, 'api', response, this.options.throttlePauseMs);
        if (!bynderAsksForRetry(response.text) || attempt >= this.options.maxAttempts) throw error;
        await this.options.caller.sleep(this.options.caller.backoffMs(attempt), description, error);
        continue;
      }
      const importId = parseResponse(description, 'api', response, LegacyFinaliseSchema);
      if (importId === undefined) {
        throw new BynderResponseError(
          `Bynder POST ${path} (finalise) answered ${response.status} without an importId — report it with the request`,
          description,
          ['importId: missing'],
        );
      }
      return importId;
    }
  }

  private async withPartRetries<T>(send: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(attempt);
      } catch (err) {
        if (!(err instanceof BynderError) || err.kind !== 'transient' || attempt >= this.options.maxAttempts) throw err;
        await this.options.caller.sleep(this.options.caller.backoffMs(attempt), err.request, err);
      }
    }
  }
}

/** A multipart/form-data body: every field, then the part's bytes as `file` (S3 wants the file last). */
export function multipartForm(fields: Record<string, string>, fileName: string, bytes: Buffer): { contentType: string; body: Buffer } {
  const boundary = `----bynder-part-${randomBytes(12).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${quoted(fileName)}"\r\ncontent-type: application/octet-stream\r\n\r\n`,
    ),
  );
  parts.push(bytes);
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(parts) };
}

function quoted(text: string): string {
  return text.replace(/[\r\n"]/g, (c) => (c === '"' ? '%22' : ' '));
}
