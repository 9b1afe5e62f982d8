/**
 * What differs between connectors when the worker archives one version: where it goes in the
 * archive, how its bytes are opened (and how an expired link shows), and what its sidecar says.
 * Everything else (claim, evidence of an earlier attempt, the streamed upload with its
 * checksums, the ledger record, retries, the manifest) is the same for every connector. Each
 * connector gives its own (shared/connectors/<system>/...archiving.ts); the worker gets the
 * job's from shared/connectors/export-archiving.ts.
 */
import type { StreamDigest } from './hashing-stream.js';
import type { OpenedVersion } from '../export-source/types.js';

export interface VersionArchiving {
  /** Where the file goes; its sidecar is `<archiveKey>.metadata.json`. */
  readonly archiveKey: string;
  /** Reads what the sidecar needs before any byte moves (a wrong binder fails before the download). */
  prepare(): Promise<void>;
  /** Opens the version's bytes with a fresh link. */
  open(): Promise<OpenedVersion>;
  /** True when `err` (from `open` or reading its body) means the link expired: open again. */
  isExpiredLinkError(err: unknown): boolean;
  /** The sidecar's text, once the file is archived. */
  sidecarText(digest: StreamDigest, exportedAt: Date): string;
}

/** What every sidecar says of the archived file and of its run, whichever connector writes it. */
export function archivedFileFields(digest: StreamDigest, exportedAt: Date, runId: string, archiveKey: string) {
  return { size: digest.size, sha256Hex: digest.sha256Hex, sha256Base64: digest.sha256Base64, exportedAt, runId, archiveKey };
}
