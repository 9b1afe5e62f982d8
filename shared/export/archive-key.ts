/**
 * Where an exported version lives in the archive bucket:
 *
 * ```
 * <tenantId>/<binderId>/<documentId>/<versionId>/<fileName>                 the file's bytes
 * <tenantId>/<binderId>/<documentId>/<versionId>/<fileName>.metadata.json   its sidecar
 * manifests/<YYYY-MM-DD>/<runId>.jsonl                                       a run's manifest
 * ```
 *
 * One version per folder, so a version is found from its ids alone and a file name never
 * collides with another version's. Each segment is made safe as an S3 key segment: `/` and
 * `\` would add folders and control characters break tools, so they become `_`; `.` and `..`
 * segments, which some S3 clients resolve like paths, are prefixed. The sidecar keeps the
 * file name exactly as the source had it.
 */

export const SIDECAR_SUFFIX = '.metadata.json';

export interface ArchiveKeyParts {
  tenantId: string;
  binderId: string;
  documentId: string;
  versionId: string;
  fileName: string;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this check is for
const UNSAFE_IN_SEGMENT = /[/\\\u0000-\u001f\u007f]/g;

/** A string made safe as one segment of an S3 key; `fallback` when nothing usable is left. */
export function safeKeySegment(value: string, fallback: string): string {
  const cleaned = value.replace(UNSAFE_IN_SEGMENT, '_').trim();
  if (cleaned === '') return fallback;
  if (cleaned === '.' || cleaned === '..') return `_${cleaned}`;
  return cleaned;
}

export function archiveKeyFor(parts: ArchiveKeyParts): string {
  return [
    safeKeySegment(parts.tenantId, '_'),
    safeKeySegment(parts.binderId, '_'),
    safeKeySegment(parts.documentId, '_'),
    safeKeySegment(parts.versionId, '_'),
    safeKeySegment(parts.fileName, parts.versionId),
  ].join('/');
}

export function sidecarKeyFor(archiveKey: string): string {
  return `${archiveKey}${SIDECAR_SUFFIX}`;
}
