/**
 * iBinder's errors as neutral refusals (types.ts, ClassifiedError). The same status means
 * different things at different steps: a 403 while preparing an upload is the integration's
 * missing permission (an operator problem), a 403 from the presigned PUT an expired one-shot URL
 * (the destination already retried it), a 400 from the commit iBinder refusing this file (the
 * file is rejected). Anything not known to be permanent is transient: SQS retries it, and the
 * dead-letter queue's alarm tells an operator when retrying does not help.
 */
import type { Problem } from '../../ledger/types.js';
import type { ClassifiedError, CommitPlan, SystemRefusal, UploadStep } from '../types.js';
import { IBinderApiError, isIBinderError } from './client/errors.js';
import { retryAfterMsOf } from './client/retry.js';

/** iBinder refused a commit for good: thrown by the connector's destination, with the plan it refused. */
export class IBinderCommitRefusedError extends Error {
  override readonly name = 'IBinderCommitRefusedError';
  constructor(
    readonly refusal: IBinderApiError,
    readonly plan: CommitPlan,
  ) {
    super(`iBinder refused the commit of ${plan.fileName}: ${refusal.message}`, { cause: refusal });
  }
}

/** iBinder's side of a refusal, kept for the report: support asks for the traceId. */
export function refusalOf(err: IBinderApiError): SystemRefusal {
  return { connector: 'ibinder', status: err.status, title: err.title, requestId: err.traceId };
}

export function classifyIBinderError(err: unknown, step: UploadStep): ClassifiedError {
  if (err instanceof IBinderCommitRefusedError) {
    return { kind: 'permanent', problems: commitProblems(err.refusal, err.plan), refusal: refusalOf(err.refusal) };
  }
  const retryAfterMs = retryAfterMsOf(err);
  const reason = describe(err);
  const cause = unwrap(err);
  if (isIBinderError(cause) && cause.kind === 'auth') return { kind: 'operator', reason, retryAfterMs };
  if (cause instanceof IBinderApiError && cause.kind === 'permanent' && step === 'prepare') {
    // Not the file's fault, whatever the status: the integration's permissions are an operator's to fix.
    return { kind: 'operator', reason: `${reason} (treated as an operator problem at step ${step})`, retryAfterMs };
  }
  if (cause instanceof IBinderApiError && cause.status === 429) return { kind: 'throttled', reason, retryAfterMs };
  if (isIBinderError(cause) && cause.kind === 'permanent' && step === 'transfer') {
    return { kind: 'transient', reason: `${reason} (treated as transient at this step)`, retryAfterMs };
  }
  return { kind: 'transient', reason, retryAfterMs };
}

/** iBinder's refusal of a commit as problems a person can act on, one per field error. */
export function commitProblems(err: IBinderApiError, plan: CommitPlan): Problem[] {
  const trace = err.traceId ? ` (traceId ${err.traceId})` : '';
  const where = `binder ${plan.target.binderId}, folder ${plan.labels?.folderPath ?? plan.target.folderId}`;
  const fix =
    err.status === 404
      ? 'check the binder and folder (the folder id may be wrong, or the folder was deleted)'
      : err.status === 403
        ? 'ask the tenant administrator to let the integration upload into this folder'
        : err.status === 409
          ? 'check the document in iBinder (it may be locked or checked out), then re-ingest'
          : 'correct the values iBinder names, then re-ingest';
  const entries = Object.entries(err.fieldErrors);
  if (entries.length === 0) {
    return [
      {
        code: 'refused',
        field: 'ibinder',
        message: `iBinder refused the upload into ${where}: ${err.status}${err.title ? ` ${err.title}` : ''}${trace}`,
        fix,
      },
    ];
  }
  return entries.map(([field, messages]) => ({
    code: 'refused',
    field: `ibinder:${field}`,
    message: `iBinder refused the upload into ${where}: ${field}: ${messages.join(' ')}${trace}`,
    fix,
  }));
}

/** Log fields of an iBinder error: kind, request, status, traceId; never a URL's query string (errors carry none). */
export function ibinderErrorFields(err: unknown): Record<string, unknown> {
  const cause = unwrap(err);
  const fields: Record<string, unknown> = {};
  if (isIBinderError(cause)) {
    fields.errorKind = cause.kind;
    fields.request = `${cause.request.method} ${cause.request.path}`;
  }
  if (cause instanceof IBinderApiError) {
    fields.status = cause.status;
    if (cause.traceId) fields.traceId = cause.traceId;
  }
  return fields;
}

function unwrap(err: unknown): unknown {
  return err instanceof IBinderCommitRefusedError ? err.refusal : err;
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
