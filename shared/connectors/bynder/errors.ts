/**
 * The Bynder connector's own errors (the client's are in `client/errors.ts`). Each one says what
 * was wrong, with which upload or asset, and what happens next; none carries a URL or a token.
 * `classify.ts` maps them to neutral refusals.
 */

/**
 * `findCommitted` found nothing yet, but the interrupted save is too recent to believe that:
 * Bynder's asset search (by tag) is an index that may lag a save by a while. Saving now could
 * create a second asset, so the record is retried after `retryAfterMs`.
 */
export class BynderCommitNotSettledError extends Error {
  override readonly name = 'BynderCommitNotSettledError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/**
 * A stored upload id that cannot be committed: malformed, or a legacy upload whose import id was
 * never recorded (a caller that passed no `onNewUpload`). The bytes must be sent again.
 */
export class BynderUploadIdError extends Error {
  override readonly name = 'BynderUploadIdError';
}

/**
 * A version save was interrupted and no "before" record of the asset's versions exists (the
 * ledger lost `beforeCommit`'s context): whether the version was created cannot be told, and
 * guessing either way breaks exactly-once. An operator must look at the asset.
 */
export class BynderCommitUnknownError extends Error {
  override readonly name = 'BynderCommitUnknownError';
}
