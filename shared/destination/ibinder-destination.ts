/**
 * iBinder as a destination: presign (step 1), PUT the bytes to the presigned URL (step 2) and
 * commit the upload into a folder as a new document version (step 3), through IBinderClient.
 */
import type { IBinderClient } from '../ibinder/types.js';
import type {
  CommitRequest,
  CommittedVersion,
  Destination,
  PreparedUpload,
  ResolvedTarget,
  TransferBody,
} from './types.js';

export interface IBinderDestinationOptions {
  /** Drive domain of the commit path; iBinder's binders live under `binders`. */
  domain?: string;
}

export class IBinderDestination implements Destination {
  readonly name = 'ibinder';
  private readonly domain: string | undefined;

  constructor(
    private readonly client: IBinderClient,
    options: IBinderDestinationOptions = {},
  ) {
    this.domain = options.domain;
  }

  async prepareUpload(): Promise<PreparedUpload> {
    const presigned = await this.client.createPresignedUpload();
    return { uploadId: presigned.uploadId, uploadUrl: presigned.presignedUrl };
  }

  async transfer(upload: PreparedUpload, body: TransferBody): Promise<void> {
    await this.client.putPresigned(upload.uploadUrl, {
      body: body.body,
      contentLength: body.contentLength,
      ...(body.contentType !== undefined ? { contentType: body.contentType } : {}),
    });
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
