/**
 * One structured JSON logger for every function (Powertools for AWS Lambda). Keys that tell a
 * record's story (object key, versionId, binder, folder, uploadId, documentId, versionId,
 * traceId) reach every line written for that record: the ingest appends them to a per-record
 * child logger, and `ContextualLogger` adds the keys of the current log context
 * (log-context.ts), so that lines of shared code, such as the iBinder client's retry warnings,
 * carry them too. Nothing secret is ever passed to it, and `redactUrl` strips presigned
 * signatures from any URL before it could be.
 */
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions, LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import { currentLogContext } from './log-context.js';

/**
 * Powertools' Logger, plus the keys of the current log context on every line. Keys given to the
 * log call and persistent keys win over the context's. Child loggers are of this class too
 * (Powertools' documented way to subclass: `createLogger`).
 */
export class ContextualLogger extends Logger {
  protected override createAndPopulateLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): LogItem {
    const item = super.createAndPopulateLogItem(logLevel, input, extraInput);
    const present = item.getAttributes();
    const missing = Object.entries(currentLogContext()).filter(([key]) => !(key in present));
    if (missing.length > 0) item.addAttributes(Object.fromEntries(missing));
    return item;
  }

  protected override createLogger(options?: ConstructorOptions): ContextualLogger {
    return new ContextualLogger(options);
  }

  override createChild(options?: ConstructorOptions): ContextualLogger {
    return super.createChild(options) as ContextualLogger;
  }
}

export const logger = new ContextualLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ibinder-pipeline' });

/** Keeps scheme, host and path of a URL; drops query string and fragment (signatures live there). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?<redacted>' : ''}`;
  } catch {
    return '<unparseable url>';
  }
}
