/**
 * Bynder's errors as neutral refusals: permanent (the file is rejected, with Bynder's message,
 * its correlation id and the fix), transient (SQS delivers the record again), operator (retried
 * and alarmed: credentials, scopes, the portal URL or path reading), throttled (Bynder blocked
 * the integration: no call for at least five minutes).
 *
 * The client's errors are read by shape (`name`, `status`, `kind`, `bynderMessage`,
 * `correlationId`, `retryAfterMs`, `operator`, `request.path`), not by class, so that an error
 * crossing a bundle or a worker boundary is classified the same.
 *
 * Per step, because a status means something else at each:
 * - commit (the save): 400/409/413/422 and other 4xx are Bynder refusing this file: permanent.
 *   A 404 "Import ID not found" means our upload expired before the save: transient with
 *   `uploadAgain` (the ingest asks `findCommitted` first, and sends the bytes again only when it
 *   finds nothing). A 404 on a version
 *   save that does not name the import means the asset is gone: permanent. A 2xx Bynder's client
 *   could not read may have saved the file: transient, so that `findCommitted` decides.
 * - prepare and transfer: 413 is the file (too large); any other 4xx is the upload flow or its
 *   paths (configuration): operator. A legacy S3 part refused with 401/403 is the upload's POST
 *   policy (expired, or a part of another upload), not our credentials: transient with
 *   `uploadAgain` (a new upload gets a new policy).
 * - errors the client raises without a status: an import the poll lists as failed (after the
 *   legacy finalise, or after a save's 303) is Bynder unable to process the file, and a source
 *   that ends before (or runs past) its size is an object whose bytes are not what its size
 *   says: both permanent, the file is rejected. A legacy upload whose endpoint and policy this
 *   process no longer holds is uploaded again.
 * - resolve and find-committed: a 4xx on a listing is the integration's (operator).
 * - every step: 401/403 operator, 404 "no Route matched" operator (wrong portal or path),
 *   429 throttled, 408/5xx and no answer transient.
 */
import type { Problem } from '../../ledger/types.js';
import type { ClassifiedError, UploadStep } from '../types.js';

/** The path of Bynder's import poll (client/import-poll.ts), as the client's errors name it. */
const POLL_PATH = '/api/v4/upload/poll/';
/** The path the client's chunk reader names when the upload's source misbehaves (client/chunk-reader.ts). */
const UPLOAD_SOURCE_PATH = '(upload source)';
/** The legacy flow's upload endpoint request (client/upload-legacy.ts), named when a process lost its policy. */
const LEGACY_UPLOAD_PATH = '/api/v4/upload/';

/** Bynder lifts its block only after five minutes without a request. */
export const MIN_THROTTLE_PAUSE_MS = 5 * 60 * 1000;

/** What the classification reads of an error; every field optional, so any thrown value fits. */
interface ErrorShape {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  kind?: unknown;
  bynderMessage?: unknown;
  correlationId?: unknown;
  retryAfterMs?: unknown;
  operator?: unknown;
  request?: { method?: unknown; path?: unknown } | undefined;
}

export interface ClassifyOptions {
  /** The connector's configured pause after a 429 (ms); never less than five minutes. */
  throttlePauseMs?: number | undefined;
}

export function classifyBynderError(err: unknown, step: UploadStep, options: ClassifyOptions = {}): ClassifiedError {
  const e: ErrorShape = typeof err === 'object' && err !== null ? (err as ErrorShape) : {};
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const status = typeof e.status === 'number' ? e.status : undefined;
  const kind = typeof e.kind === 'string' ? e.kind : undefined;
  const retryAfterMs = typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : undefined;
  const bynderMessage = typeof e.bynderMessage === 'string' ? e.bynderMessage : undefined;
  const correlationId = typeof e.correlationId === 'string' ? e.correlationId : undefined;
  const path = typeof e.request?.path === 'string' ? e.request.path : '';

  // The connector's own errors.
  if (name === 'BynderCommitNotSettledError') return { kind: 'transient', reason: message, retryAfterMs };
  if (name === 'BynderUploadIdError') return { kind: 'transient', reason: message };
  if (name === 'BynderCommitUnknownError') return { kind: 'operator', reason: message };

  if (name === 'BynderThrottledError' || status === 429 || kind === 'throttled') {
    const pause = Math.max(retryAfterMs ?? 0, options.throttlePauseMs ?? 0, MIN_THROTTLE_PAUSE_MS);
    return { kind: 'throttled', reason: `Bynder blocked the integration (429): ${message}`, retryAfterMs: pause };
  }
  if (name === 'BynderNetworkError') return { kind: 'transient', reason: message };
  if (name === 'BynderResponseError') {
    // At the save, a reply the client could not read may follow a save that went through.
    return step === 'commit' || step === 'transfer'
      ? { kind: 'transient', reason: `${message} (whether it took effect is looked up before anything is sent again)` }
      : { kind: 'operator', reason: message };
  }
  if (status === undefined) {
    if (kind === 'auth' || e.operator === true) return { kind: 'operator', reason: message };
    if (kind === 'permanent') {
      const refused = clientRefusal(message, path, step);
      if (refused !== undefined) return refused;
    }
    // Not a Bynder answer: an S3 read, a timeout, a bug. Retrying is safe (the ledger guards commits).
    return { kind: 'transient', reason: message };
  }

  if ((status === 401 || status === 403) && kind !== 'auth' && e.operator !== true && (step === 'transfer' || step === 'prepare')) {
    // Only storage answers keep a 401/403 that is not `auth`: a legacy part's POST policy expired or was refused.
    return {
      kind: 'transient',
      uploadAgain: true,
      reason: `Bynder's storage refused an upload part (HTTP ${status}): ${message}; the upload's policy expired, so the file is uploaded again`,
    };
  }
  if (status === 401 || status === 403 || kind === 'auth') {
    return {
      kind: 'operator',
      reason: `Bynder refused the integration's credentials or scopes (HTTP ${status}): ${message}; check the Bynder secret and the API client's scopes`,
    };
  }
  if (status === 404 && /no route matched/i.test(bynderMessage ?? message)) {
    return {
      kind: 'operator',
      reason: `Bynder's gateway knows no such path (HTTP 404 "no Route matched"): ${message}; check portalUrl and the upload path settings`,
    };
  }
  if (status === 408 || status >= 500) return { kind: 'transient', reason: message };

  switch (step) {
    case 'commit': {
      const versionSave = /\/media\/[^/]+\/save\//.test(path);
      const mentionsImport = /import/i.test(bynderMessage ?? '');
      if (status === 404 && (mentionsImport || !versionSave)) {
        return {
          kind: 'transient',
          uploadAgain: true,
          reason: `Bynder no longer knows the upload (HTTP 404${bynderMessage ? ` "${bynderMessage}"` : ''}): it expired before the save; the file is uploaded again`,
        };
      }
      return {
        kind: 'permanent',
        problems: [refusalProblem(status, bynderMessage, correlationId, versionSave)],
        refusal: refusalOf(status, bynderMessage, correlationId),
      };
    }
    case 'prepare':
    case 'transfer':
      if (status === 413) {
        return {
          kind: 'permanent',
          problems: [
            {
              code: 'too-large',
              field: 'size',
              message: `Bynder refused the file's bytes as too large (HTTP 413${bynderMessage ? ` "${bynderMessage}"` : ''}${correlationSuffix(correlationId)})`,
              fix: 'split or compress the file, or upload it to Bynder by hand',
            },
          ],
          refusal: refusalOf(status, bynderMessage, correlationId),
        };
      }
      return {
        kind: 'operator',
        reason: `Bynder refused the upload (HTTP ${status}): ${message}; check the connector's uploadFlow and fileServicePaths settings against the portal`,
      };
    default:
      return { kind: 'operator', reason: `Bynder refused a read (HTTP ${status}): ${message}` };
  }
}

/**
 * A permanent error the client raised without an HTTP status: the file cannot be processed (the
 * poll lists its import as failed), its bytes are not its size, or a legacy upload must start
 * over. Undefined for anything else (retried as before).
 */
function clientRefusal(message: string, path: string, step: UploadStep): ClassifiedError | undefined {
  if (path === UPLOAD_SOURCE_PATH) {
    return {
      kind: 'permanent',
      problems: [
        {
          code: 'refused',
          field: 'size',
          message: `the file's bytes do not match its size: ${message}`,
          fix: 'upload the file to the inbox again (the object was changed or cut while it was read)',
        },
      ],
    };
  }
  if (path === POLL_PATH || (step === 'commit' && /as failed/i.test(message))) {
    return {
      kind: 'permanent',
      problems: [
        {
          code: 'refused',
          field: 'bynder',
          message: `Bynder could not process the file (its import is listed as failed): ${message}`,
          fix: 'check that the file opens and is a type the portal accepts, then upload it again; or upload it to Bynder by hand to see its error',
        },
      ],
    };
  }
  if (path === LEGACY_UPLOAD_PATH && step === 'transfer') return { kind: 'transient', uploadAgain: true, reason: message };
  return undefined;
}

function refusalProblem(
  status: number,
  bynderMessage: string | undefined,
  correlationId: string | undefined,
  versionSave: boolean,
): Problem {
  const what = versionSave ? 'as a new version of the asset' : 'as a new asset';
  const said = bynderMessage ? `: "${bynderMessage}"` : '';
  return {
    code: status === 413 ? 'too-large' : 'refused',
    field: 'bynder',
    message: `Bynder refused to save the file ${what} (HTTP ${status})${said}${correlationSuffix(correlationId)}`,
    fix: fixFor(status, versionSave, correlationId),
  };
}

function fixFor(status: number, versionSave: boolean, correlationId: string | undefined): string {
  const support = correlationId ? `; if it stays unclear, give Bynder support the correlation id ${correlationId}` : '';
  switch (status) {
    case 404:
      return `the asset of bynder:asset (or of the same-name rule) no longer exists: remove bynder:asset, or name an existing asset${support}`;
    case 409:
      return `the asset is being changed in Bynder (a conflict): reingest the file once nobody edits it${support}`;
    case 413:
      return `the file is too large for Bynder: split or compress it, or upload it by hand${support}`;
    default:
      return (
        (versionSave
          ? 'check that bynder:asset names an asset the integration may add versions to'
          : "fix what Bynder's message names (brand, name, tags or a bynder:meta: value; the CLI's check command validates the tags)") +
        support
      );
  }
}

function refusalOf(status: number, title: string | undefined, requestId: string | undefined) {
  return { connector: 'bynder' as const, status, title, requestId };
}

function correlationSuffix(correlationId: string | undefined): string {
  return correlationId ? `, correlation id ${correlationId}` : '';
}

/**
 * Log fields of an error: its name, status, kind, Bynder's correlation id, and the request's
 * method and path (the client never puts a query string there). No message text: the client's
 * messages are safe, but a log field list is the place to be sure.
 */
export function describeBynderError(err: unknown): Record<string, unknown> {
  const e: ErrorShape = typeof err === 'object' && err !== null ? (err as ErrorShape) : {};
  const fields: Record<string, unknown> = {};
  if (typeof e.name === 'string') fields.errorName = e.name;
  if (typeof e.status === 'number') fields.status = e.status;
  if (typeof e.kind === 'string') fields.errorKind = e.kind;
  if (typeof e.correlationId === 'string') fields.correlationId = e.correlationId;
  if (typeof e.retryAfterMs === 'number') fields.retryAfterMs = e.retryAfterMs;
  if (typeof e.request?.method === 'string') fields.method = e.request.method;
  if (typeof e.request?.path === 'string') fields.path = e.request.path.split('?')[0];
  return fields;
}
