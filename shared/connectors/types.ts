/**
 * The connector boundary: what the ingest, the export and the CLI know of a document system.
 *
 * A connector (`shared/connectors/<system>/`) owns everything specific to its system: its client,
 * its tag namespace (`ibinder:`, `bynder:`), target resolution, its metadata schema and
 * validation, the destination (prepare, transfer, commit, resume), its export source, and the
 * classification of its errors into neutral refusals. `functions/` and `cli/` import only this
 * file and a connector's `index.ts`; a third system adds a folder and a line in the registry
 * (`shared/connectors/registry.ts`), and touches no handler.
 *
 * Everything the ledger stores (plans, committed ids) is plain JSON in the system's own terms,
 * tagged with the connector's name, so a resume after a crash is handed back to the connector
 * that started it.
 */
import type { Readable } from 'node:stream';
import type { Problem } from '../ledger/types.js';
import type { S3Tag } from '../s3/tags.js';

/** The systems the product serves. The name is the tag namespace without its colon. */
export type ConnectorName = 'ibinder' | 'bynder';

/** Where a target came from; decides where a person must fix a mistake. */
export type TargetSource = { kind: 'tags' } | { kind: 'rule'; prefix: string } | { kind: 'default' };

/**
 * A place in a system, for reports, logs and `check`: ids in the system's own terms
 * (`{binderId, folderId}`, `{brandId, mediaId}`), labels a person recognises (`folderPath`,
 * `brandName`), and where the target came from.
 */
export interface ReportTarget {
  connector: ConnectorName;
  ids: Record<string, string>;
  labels?: Record<string, string> | undefined;
  source?: TargetSource | undefined;
}

/**
 * What a commit needs, resolved and validated before any byte moves. Stored in the ledger with
 * the upload id, and repeated as it is on a resume: the destination may already hold the file.
 * JSON-safe; `target` and `options` are the connector's own (it parses them back).
 */
export interface CommitPlan {
  connector: ConnectorName;
  fileName: string;
  /** Ids of the place, in the system's terms. */
  target: Record<string, string>;
  /** Labels of the place, for reports and logs only. */
  labels?: Record<string, string> | undefined;
  /** Version label; absent lets the system number the version. */
  version?: string | undefined;
  /** Validated metadata as the system wants it: element (metaproperty) id and value (option) ids. */
  metadata: { id: string; value: string }[];
  /** Connector-specific settings of the commit (Bynder: name, description, tags, new version of). */
  options?: Record<string, string> | undefined;
}

/** The version a commit created, in the system's terms (`{documentId, versionId}`, `{mediaId, mediaItemId}`). */
export interface CommittedVersion {
  connector: ConnectorName;
  ids: Record<string, string>;
  /** The version label or number people see, when the system says. */
  versionLabel?: string | undefined;
}

/** A system's refusal, kept for the report: support asks for the request's trace or correlation id. */
export interface SystemRefusal {
  connector: ConnectorName;
  status: number;
  title?: string | undefined;
  /** iBinder's traceId, Bynder's X-API-Correlation-Id. */
  requestId?: string | undefined;
}

/**
 * A connector's error, classified. `permanent`: the file is rejected with these problems (a
 * person must fix something). `transient`: retried (SQS redelivers), after `retryAfterMs` when
 * the system asked for a pause. `operator`: retried and alarmed (a wrong secret, a missing
 * permission of the integration). `throttled`: the system blocked the integration; retried no
 * earlier than `retryAfterMs`, counted in the connector's throttling metric.
 *
 * A transient error with `uploadAgain` says the stored upload is gone at the system (Bynder's
 * 404 "Import ID not found" at the save, an expired upload policy): repeating the same commit
 * can never work, the bytes must be sent again. The ingest does so once the connector's
 * `findCommitted` (for a commit that is not idempotent) found nothing, so that no second
 * version can come of it; without `uploadAgain` the record is retried as it is.
 */
export type ClassifiedError =
  | { kind: 'permanent'; problems: Problem[]; refusal?: SystemRefusal | undefined }
  | { kind: 'transient'; reason: string; retryAfterMs?: number | undefined; uploadAgain?: boolean | undefined }
  | { kind: 'operator' | 'throttled'; reason: string; retryAfterMs?: number | undefined };

/** The steps of an upload, for classification (a 404 means something else at each one). */
export type UploadStep = 'resolve' | 'prepare' | 'transfer' | 'commit' | 'find-committed';

/** The object as an assessment sees it: where it is, its tags, its size and age. */
export interface AssessmentInput {
  key: string;
  /** The object's whole S3 tag set; a connector reads its own namespace. */
  tags: readonly S3Tag[];
  sizeBytes: number;
  lastModified?: Date | undefined;
  now: Date;
}

export interface AssessmentHooks {
  /** Told before each step that reads from the system; the Lambda names retry reasons and log keys by it. */
  onStep?: ((step: { name: string; ids?: Record<string, string> | undefined }) => void) | undefined;
}

/** The decision made before any byte moves, shared by the ingest and the CLI's `check`. */
export type Assessment =
  | { kind: 'accept'; plan: CommitPlan; target: ReportTarget }
  | AssessmentRejected
  | {
      kind: 'wait';
      /** No tags yet, but the producer may still be tagging (upload and tagging are two calls). */
      graceEndsAt: Date;
      rejectionAfterGrace: AssessmentRejected;
    };

export interface AssessmentRejected {
  kind: 'reject';
  /** Short machine-readable cause (`untagged`, `not-allowed`, `invalid-request`, `unknown-target`, `mixed-namespaces`...). */
  cause: string;
  /** Every reason, each with its fix, so that one round of fixes is enough. */
  problems: Problem[];
  /** The target, as far as it resolved. */
  target?: ReportTarget | undefined;
  refusal?: SystemRefusal | undefined;
}

/** Where the bytes go; one-shot, never logged or stored when it carries a signature. */
export interface PreparedUpload {
  /** Stable id of the upload (iBinder's uploadId, Bynder's file id or import id). Stored in the ledger. */
  uploadId: string;
  /** A presigned URL or an upload endpoint; never logged. Absent when the id is all the transfer needs. */
  uploadUrl?: string | undefined;
}

/**
 * The file's bytes with their exact length: a factory rather than a stream, because a retried
 * transfer re-opens the bytes from the start (or from a range: `openBody(start)`).
 */
export interface TransferBody {
  openBody: (range?: { start: number; end: number } | undefined) => Promise<Readable>;
  contentLength: number;
  contentType?: string | undefined;
}

export interface TransferOptions {
  /** Awaited before any byte goes to a replacement upload (the first one expired); the caller records its id. */
  onNewUpload?: (upload: PreparedUpload) => Promise<void>;
}

/**
 * Identifies one S3 object version to the system, so that a commit that is not idempotent can
 * be found again after a crash or a lost response (Bynder's save). Derived from the ledger's
 * key: the same for every delivery of the same upload, different for any other upload.
 */
export interface CommitMarker {
  /** `s3://bucket/key` and the version (or the unversioned upload's id), for people. */
  object: string;
  /** A short, system-safe token (hex of a hash of the object identity). */
  token: string;
}

export interface ConnectorDestination {
  prepareUpload(plan: CommitPlan): Promise<PreparedUpload>;
  /** Sends the bytes, retrying what the system's storage gets wrong within the call. */
  transfer(upload: PreparedUpload, body: TransferBody, plan: CommitPlan, options?: TransferOptions): Promise<void>;
  /**
   * True when repeating `commit` with the same upload id cannot create a second version
   * (iBinder). When false (Bynder's save), the ingest records that a commit is under way before
   * calling it, and a retry after a crash calls `findCommitted` first.
   */
  readonly commitIsIdempotent: boolean;
  /**
   * Called before a commit that is not idempotent, once the bytes are sent. What it returns (for
   * Bynder, the asset's version count before a new-version save) is stored in the ledger with the
   * "commit under way" mark, before the commit is sent, and handed to `findCommitted`.
   */
  beforeCommit?(plan: CommitPlan, uploadId: string, marker: CommitMarker): Promise<Record<string, string>>;
  commit(plan: CommitPlan, uploadId: string, marker: CommitMarker): Promise<CommittedVersion>;
  /**
   * What an earlier, interrupted `commit` of this upload created, if anything. Required when
   * `commitIsIdempotent` is false; `context` is what `beforeCommit` returned for that attempt.
   */
  findCommitted?(
    plan: CommitPlan,
    uploadId: string,
    marker: CommitMarker,
    context: Record<string, string> | undefined,
  ): Promise<CommittedVersion | undefined>;
}

/** One connector as the ingest uses it. */
export interface IngestConnector {
  readonly name: ConnectorName;
  /** `ibinder:`: the tag keys this connector reads. */
  readonly tagNamespace: string;
  /** The routing-rule prefixes this connector's configuration holds (the longest match across connectors wins). */
  readonly routingPrefixes: readonly string[];
  /** Whether the environment gives this connector a default target (files without tags or rule go there). */
  readonly hasDefaultTarget: boolean;
  /** Most records of one batch this connector may work on at once (its rate limit). */
  readonly maxConcurrentRecords: number;
  assess(input: AssessmentInput, hooks?: AssessmentHooks): Promise<Assessment>;
  readonly destination: ConnectorDestination;
  classify(err: unknown, step: UploadStep): ClassifiedError;
  /** A plan stored by this connector, as a log line shows it (no secrets, no URLs). */
  describePlan(plan: CommitPlan): Record<string, unknown>;
  /**
   * Log fields of one of this connector's errors (status, the request's method and path, the
   * system's request id); never a secret, a token or a URL's query string. Optional.
   */
  describeError?(err: unknown): Record<string, unknown>;
}
