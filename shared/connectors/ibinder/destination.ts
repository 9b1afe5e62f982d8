/**
 * iBinder as a destination: presign (step 1), PUT the bytes to the presigned URL (step 2) and
 * commit the upload into a folder as a new document version (step 3), through IBinderClient.
 *
 * Step 2 is retried here, within the delivery, under the same backoff, budget and invocation
 * deadline as the API calls (client/retry.ts): a 429 or 5xx from storage, a timeout or
 * a dropped connection is sent again with a fresh stream of the file; a refused URL (403, or
 * 400/410: expired or already used) is replaced by a new presign, whose upload id the caller
 * records before any byte goes to it. Without this, one storage hiccup would send the record
 * back to SQS for a whole visibility timeout, and a run of them would land a good file in the
 * dead-letter queue.
 */
import type { Readable } from 'node:stream';
import { isExpiredLinkError, retryPolicyFrom } from './client/client.js';
import { type IBinderError, IBinderNetworkError } from './client/errors.js';
import { PresignedStorageError } from './client/http.js';
import { isRetryable, withRetries, type RetryPolicy } from './client/retry.js';
import type { IBinderClient } from './client/types.js';
import { logger } from '../../observability/logger.js';
import type {
  CommitRequest,
  CommittedVersion,
  Destination,
  PreparedUpload,
  ResolvedTarget,
  TransferBody,
  TransferOptions,
} from './destination-types.js';

export interface IBinderDestinationOptions {
  /** Drive domain of the commit path; iBinder's binders live under `binders`. */
  domain?: string;
  /** Retry policy of the storage transfer; default the iBinder client's defaults. */
  retry?: Partial<RetryPolicy>;
}

/**
 * A failure of the storage PUT worth another attempt within the delivery: storage's 429/5xx/408,
 * a refused (expired or used) URL, or no answer (timeout, dropped connection). Other errors
 * (the S3 source failing to open, a lost ledger claim) are the caller's to classify.
 */
export function isRetryableStorageFailure(err: unknown): err is IBinderError {
  if (err instanceof PresignedStorageError) return isRetryable(err) || isExpiredLinkError(err);
  return err instanceof IBinderNetworkError;
}

export class IBinderDestination implements Destination {
  readonly name = 'ibinder';
  private readonly domain: string | undefined;
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly client: IBinderClient,
    options: IBinderDestinationOptions = {},
  ) {
    this.domain = options.domain;
    this.retryPolicy = { ...retryPolicyFrom(), ...options.retry };
  }

  async prepareUpload(): Promise<PreparedUpload> {
    const presigned = await this.client.createPresignedUpload();
    return { uploadId: presigned.uploadId, uploadUrl: presigned.presignedUrl };
  }

  async transfer(upload: PreparedUpload, body: TransferBody, options: TransferOptions = {}): Promise<void> {
    let current = upload;
    let needsNewUrl = false;
    const description = { method: 'PUT', path: 'presigned storage upload' };
    await withRetries(
      description,
      this.retryPolicy,
      async (attempt) => {
        if (needsNewUrl) {
          const previousUploadId = current.uploadId;
          current = await this.prepareUpload();
          logger.info('the presigned upload URL was refused (expired or used); sending the file to a new one', {
            previousUploadId,
            uploadId: current.uploadId,
            attempt,
          });
          await options.onNewUpload?.(current);
          needsNewUrl = false;
        }
        const stream: Readable = await body.openBody();
        try {
          await this.client.putPresigned(current.uploadUrl, {
            body: stream,
            contentLength: body.contentLength,
            ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
          });
        } catch (err) {
          stream.destroy();
          if (isExpiredLinkError(err)) needsNewUrl = true;
          throw err;
        }
      },
      isRetryableStorageFailure,
    );
  }

  async commit(target: ResolvedTarget, request: CommitRequest): Promise<CommittedVersion> {
    const version = await this.client.commitUpload(
      target.binderId,
      target.folderId,
      {
        fileName: request.fileName,
        ...(request.version !== undefined ? { version: request.version } : {}),
        uploadId: request.uploadId,
        additionalMetadata: request.metadata.map((m) => ({ metadataElementId: m.metadataElementId, value: m.value })),
      },
      this.domain,
    );
    return { documentId: version.documentId, versionId: version.id, version: version.version };
  }
}
