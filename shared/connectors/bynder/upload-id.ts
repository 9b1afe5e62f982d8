/**
 * The upload id the ledger stores for a Bynder upload, and how the save's import id reaches the
 * commit through it.
 *
 * `prepareUpload` returns `<flow>:<id>` (`file-service:<fileId>` or `legacy:<targetid>`). The
 * save needs an import id, known only after the transfer: the file id itself for the
 * file-service flow, but a new `importId` for the legacy flow (returned by finalise and its
 * poll). When it differs from the upload's id, `transfer` hands the ingest
 * `<flow>:<id>:<importId>` through `TransferOptions.onNewUpload` before it returns: the ingest
 * takes that id as the upload's, so the ledger's record of the transfer, the commit and any
 * resume after a crash carry the import id. Parts are URI-encoded, so an
 * id holding a colon stays one part.
 */
import type { BynderUpload } from './client/types.js';
import { BynderUploadIdError } from './errors.js';

export interface ParsedUploadId {
  flow: BynderUpload['flow'];
  /** The client's upload id (file-service: the file id; legacy: the targetid). */
  uploadId: string;
  /** The save's import id, once the transfer has produced it (absent: not known, or the same as `uploadId`). */
  importId?: string | undefined;
}

export function formatUploadId(parsed: ParsedUploadId): string {
  const parts = [parsed.flow, parsed.uploadId, ...(parsed.importId !== undefined ? [parsed.importId] : [])];
  return parts.map(encodeURIComponent).join(':');
}

export function parseUploadId(id: string): ParsedUploadId {
  const parts = id.split(':').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return '';
    }
  });
  const [flow, uploadId, importId] = parts;
  if ((flow !== 'file-service' && flow !== 'legacy') || !uploadId || parts.length > 3 || importId === '') {
    throw new BynderUploadIdError(
      `upload id "${id}" is not a Bynder upload id ("file-service:<fileId>" or "legacy:<targetid>[:<importId>]"); ` +
        'the ledger entry was not written by the Bynder connector: the file is uploaded again',
    );
  }
  return { flow, uploadId, importId };
}
