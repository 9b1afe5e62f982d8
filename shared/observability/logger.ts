/**
 * One structured JSON logger for every function (Powertools for AWS Lambda). Keys that tell a
 * record's story (object key, versionId, binder, folder, uploadId, documentId, versionId,
 * traceId) are appended per record; nothing secret is ever passed to it, and
 * `redactUrl` strips presigned signatures from any URL before it could be.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ibinder-pipeline' });

/** Keeps scheme, host and path of a URL; drops query string and fragment (signatures live there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?<redacted>' : ''}`;
  } catch {
    return '<unparseable url>';
  }
}
