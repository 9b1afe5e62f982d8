/**
 * The destination boundary: where ingested files go. iBinder is the first destination; a
 * second system (Bynder) can implement the same three steps without touching the handlers.
 *
 * The upload is split into steps so that the ledger can record progress between them:
 * `prepareUpload` returns an upload id that is stored before any byte moves; after `transfer`
 * the ledger marks it transferred; a consumer that crashed after the transfer resumes by
 * calling `commit` with the stored upload id, without sending the bytes again. An upload URL is
 * one-shot and never stored, so a crash before the transfer completed starts with a fresh
 * `prepareUpload`.
 */
import type { Readable } from 'node:stream';

/** A resolved place for a file: binder and folder ids, never names. */
export interface ResolvedTarget {
  binderId: string;
  folderId: string;
  /** The folder path the id was resolved from, kept for reports and logs. */
  folderPath?: string | undefined;
}

export interface PreparedUpload {
  /** Stable id of the upload; the commit is idempotent by it. Stored in the ledger. */
  uploadId: string;
  /** Where the bytes go. One-shot and carries a signature: never log or store it. */
  uploadUrl: string;
}

/**
 * The file's bytes with their exact length: never the whole file in memory. A factory rather
 * than a stream, because a stream can be sent once: a transfer that is retried (storage
 * answered 503, the connection dropped) opens the bytes again from the start for each attempt.
 */
export interface TransferBody {
  /** Opens a fresh stream of the whole file; called once per attempt. */
  openBody: () => Promise<Readable>;
  contentLength: number;
  contentType?: string | undefined;
}

export interface TransferOptions {
  /**
   * Called, and awaited, when the upload to commit is not the one prepared: the first upload URL
   * expired or was used up, so the destination prepared another one with a new upload id (called
   * before any byte goes to it), or the system named the id to commit only after the transfer
   * (Bynder's import id). The caller takes that id as the one its ledger records with the
   * transfer, once the bytes are sent; if this throws, the transfer stops with that error.
   */
  onNewUpload?: (upload: PreparedUpload) => Promise<void>;
}

export interface DestinationMetadataValue {
  metadataElementId: string;
  /** The allowed value id (labels are mapped to ids by validation before the commit). */
  value: string;
}

export interface CommitRequest {
  fileName: string;
  /** Version label; absent lets the destination number the version. */
  version?: string | undefined;
  uploadId: string;
  metadata: DestinationMetadataValue[];
}

/** The version a commit created. */
export interface CommittedVersion {
  documentId: string;
  versionId: string;
  version?: string | undefined;
}

export interface Destination {
  /** Short name for logs and the ledger, e.g. `ibinder`. */
  readonly name: string;
  prepareUpload(): Promise<PreparedUpload>;
  /**
   * Sends the bytes, retrying what storage gets wrong within the call (see the destination's
   * own notes). The bytes end up under `upload`, or under the last upload handed to
   * `options.onNewUpload`: that one is what the caller commits.
   */
  transfer(upload: PreparedUpload, body: TransferBody, options?: TransferOptions): Promise<void>;
  /** Idempotent by `request.uploadId`: safe to retry and to resume after a crash. */
  commit(target: ResolvedTarget, request: CommitRequest): Promise<CommittedVersion>;
}
