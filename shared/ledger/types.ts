/**
 * Shapes of the ingest ledger: one item per S3 object version, so that a redelivered or
 * duplicated event for the same version never creates a second version in the document system.
 * Connector-neutral: an entry names its connector, and stores the plan and the committed ids in
 * that system's terms (shared/connectors/types.ts).
 *
 * `Problem` lives here because it is what the ledger keeps as the reasons of a rejection,
 * and the same shape is shown to a person in the rejection report and by the CLI.
 */

import type { CommitPlan, CommittedVersion, ConnectorName } from '../connectors/types.js';

export type { CommitPlan } from '../connectors/types.js';

/** Which kind of mistake a problem is; low-cardinality, used as a metric dimension. */
export type ProblemCode =
  | 'tags'
  | 'untagged'
  | 'target'
  | 'not-allowed'
  | 'metadata'
  | 'file-name'
  | 'empty-file'
  | 'too-large'
  /** The document system refused the file (the report's `refusal` names the connector and its request id). */
  | 'refused'
  /** The older name of `refused`, before connectors: still read from stored rejections. */
  | 'ibinder';

/** One reason a file cannot be accepted, written for the person who has to fix it. */
export interface Problem {
  code: ProblemCode;
  /** Where the mistake is: a tag key (`ibinder:meta:Discipline`), `size`, `key`, a config path. */
  field: string;
  /** What is wrong, naming the value that was given. */
  message: string;
  /** What to do about it. */
  fix: string;
}

/** The identity of one object version; the ledger's key. */
export interface ObjectRef {
  bucket: string;
  key: string;
  /** Absent for an unversioned bucket (stored as the literal `null`, as S3 names it). */
  versionId?: string | undefined;
  /**
   * Only without a version id: which upload of the key this is. An unversioned bucket reuses the
   * key for every upload, so without it the second upload of a key would look like a duplicate of
   * the first (and be deleted unprocessed).
   */
  upload?: UnversionedUpload | undefined;
}

/**
 * One upload of a key in an unversioned bucket: an id that differs per upload (the event's
 * sequencer, else ETag and LastModified), and what the object must still look like before
 * anything deletes it (a later upload of the key replaces the object in place).
 */
export interface UnversionedUpload {
  id: string;
  /** As S3 returns it, quotes or not. */
  eTag?: string | undefined;
  lastModified?: Date | undefined;
}

interface LedgerEntryBase {
  pk: string;
  bucket: string;
  objectKey: string;
  objectVersionId: string;
  /** ISO time of the last write. */
  updatedAt: string;
  /** Epoch seconds; DynamoDB's TTL removes the item after this. */
  expiresAt: number;
}

/** An upload in progress: owned by one SQS message until `leaseExpiresAt`. */
export interface ClaimedEntry extends LedgerEntryBase {
  state: 'claimed';
  /** The SQS messageId that holds the claim. */
  owner: string;
  /**
   * A random token written by every successful claim. The owner alone cannot tell two
   * invocations of the same message apart (a standard queue may deliver a message twice at
   * once, or again after the first invocation died), so every later write names the token:
   * only the latest claimant's writes succeed. Absent on entries written before tokens.
   */
  claimToken?: string | undefined;
  /** Epoch milliseconds; after this another consumer may take the claim over. */
  leaseExpiresAt: number;
  /** How many times the object has been claimed (first claim is 1). */
  attempts: number;
  claimedAt: string;
  /**
   * The destination's upload id, stored with its plan once its bytes were accepted (entries
   * written before that change may hold one whose bytes were not: `transferred` false).
   */
  uploadId?: string | undefined;
  /** True once the bytes of `uploadId` were accepted: a resume commits without a new PUT. */
  transferred: boolean;
  /**
   * The commit plan of `uploadId`, in its connector's terms. iBinder binds an upload id to its
   * first commit's folder and file name, so a resumed commit repeats this plan even if the
   * object's tags changed in the meantime.
   */
  commitPlan?: CommitPlan | undefined;
  /** The connector of `commitPlan`: a resume is handed back to the connector that started it. */
  connector?: ConnectorName | undefined;
  /**
   * Set before a commit that is not idempotent (ConnectorDestination.commitIsIdempotent false) is
   * sent: a later claim that finds it asks the connector what that commit created (findCommitted)
   * before it commits again. `context` is what the destination's `beforeCommit` returned.
   */
  commitStarted?: CommitStartedMark | undefined;
}

export interface CommitStartedMark {
  uploadId: string;
  /** ISO time the commit was about to be sent. */
  at: string;
  context?: Record<string, string> | undefined;
}

export interface CommittedEntry extends LedgerEntryBase {
  state: 'committed';
  committedAt: string;
  connector: ConnectorName;
  /** The version the commit created, in the system's terms (`{documentId, versionId}` for iBinder). */
  versionIds: Record<string, string>;
  versionLabel?: string | undefined;
  /** Where it was committed, in the system's terms (`{binderId, folderId}`). */
  target?: Record<string, string> | undefined;
  uploadId?: string | undefined;
}

export interface RejectedEntry extends LedgerEntryBase {
  state: 'rejected';
  rejectedAt: string;
  reasons: Problem[];
  /** Where the rejected copy and its report were written. */
  rejectedKey?: string | undefined;
}

/**
 * An upload that arrived after a newer upload of the same key (by the S3 event sequencer) was
 * committed: not committed, so that the system's latest version stays the newest upload. Terminal,
 * like a rejection, but nothing is wrong with the file: no `rejected/` copy, no report.
 */
export interface SupersededEntry extends LedgerEntryBase {
  state: 'superseded';
  supersededAt: string;
  /** This upload's event sequencer. */
  sequencer: string;
  /** The newer upload's sequencer, committed (or being committed) for the key. */
  newerSequencer: string;
}

export type LedgerEntry = ClaimedEntry | CommittedEntry | RejectedEntry | SupersededEntry;

/** Outcome of trying to take an object for upload. */
export type ClaimResult =
  /** Ours: every later write of this claim passes `lease`. */
  | { outcome: 'claimed'; entry: ClaimedEntry; lease: ClaimLease }
  /** Already ingested: acknowledge, do not upload again. */
  | { outcome: 'committed'; entry: CommittedEntry }
  /** Already rejected: acknowledge. */
  | { outcome: 'rejected'; entry: RejectedEntry }
  /** Already found superseded by a newer upload of the key: acknowledge. */
  | { outcome: 'superseded'; entry: SupersededEntry }
  /** Another consumer holds a live lease: retry later. */
  | { outcome: 'busy'; entry?: ClaimedEntry | undefined };

/**
 * What one successful claim hands its holder: the owner (SQS messageId) and the token only this
 * claim got. A later claim of the same object (a concurrent duplicate of the message, or a
 * takeover after a crash or an expired lease) gets another token, so this one's writes fail.
 * Every ledger write takes one: a message id alone cannot tell two invocations of one message
 * apart, so no write goes by owner only.
 */
export interface ClaimLease {
  owner: string;
  token: string;
}

/** An upload whose bytes the destination accepted: its id and the plan it is to be committed with. */
export interface TransferredUpload {
  uploadId: string;
  plan: CommitPlan;
}

/** An upload's place in its key's commit order, taken with the record of its transfer (see KeyOrderStore). */
export interface KeyOrderRequest {
  /** Who takes the key's commit lease: the SQS message id, as for the claim. */
  owner: string;
  /** The upload's S3 event sequencer. */
  sequencer: string;
}

/** What recording a transfer with its key order did: the transfer is recorded; the key's answer says whether to commit. */
export interface TransferRecorded {
  keyOrder: KeyCommitInOrderResult;
}

/** Outcome of claiming an object the ledger has never seen together with its transferred upload. */
export type TransferredClaimResult =
  /** Ours, with the upload recorded as transferred; `keyOrder` when a key order was asked for. */
  | { outcome: 'claimed'; lease: ClaimLease; entry: ClaimedEntry; keyOrder?: KeyCommitInOrderResult | undefined }
  /** The ledger already has the object (`entry`, undefined if it vanished meanwhile): nothing was written; claim it the ordinary way. */
  | { outcome: 'known'; entry: LedgerEntry | undefined };

export interface CommitRecord {
  version: CommittedVersion;
  /** Where it was committed, in the system's terms (the plan's target). */
  target?: Record<string, string> | undefined;
  uploadId?: string | undefined;
}

/** The committed version an entry records, as the connector returned it. */
export function committedVersionOf(entry: CommittedEntry): CommittedVersion {
  return { connector: entry.connector, ids: entry.versionIds, versionLabel: entry.versionLabel };
}

/** Two records of the same version: same connector and same ids. */
export function sameCommittedVersion(a: CommittedVersion, b: CommittedVersion): boolean {
  const key = (v: CommittedVersion) => JSON.stringify([v.connector, Object.entries(v.ids).sort()]);
  return key(a) === key(b);
}

/** A committed version for messages: `ibinder documentId=… versionId=…`. */
export function describeCommittedVersion(version: CommittedVersion): string {
  return `${version.connector} ${Object.entries(version.ids)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')}`;
}

/**
 * What the ingest flow needs from a ledger. `IngestLedger` implements it over DynamoDB; tests
 * may use an in-memory implementation with the same semantics.
 */
export interface IngestLedgerStore extends KeyOrderStore {
  get(ref: ObjectRef): Promise<LedgerEntry | undefined>;
  /** Every successful claim gets a fresh token (see ClaimLease), also a takeover by the same owner. */
  claim(ref: ObjectRef, owner: string): Promise<ClaimResult>;
  /**
   * Records an upload whose bytes the destination accepted: its id, the plan it is to be
   * committed with and its connector, marked transferred, in one write under the caller's claim
   * (an earlier "commit under way" mark goes). Written only after the transfer, so a stored
   * upload id is always one a resume can commit.
   */
  markTransferred(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload): Promise<void>;
  /**
   * markTransferred and acquireKeyCommitInOrder in one call: one transaction where the store
   * has them. The claim decides first: a lost claim is a LedgerConflictError and nothing is
   * written, the key's lease neither. A busy key or a newer committed upload still leaves the
   * transfer recorded (a redelivery resumes without sending the bytes again) and says so.
   */
  recordTransfer(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload, order: KeyOrderRequest): Promise<TransferRecorded>;
  /**
   * Claims an object the ledger has never seen, its upload already transferred, with the key's
   * commit order when `order` is given, in one call (the claim up front and the transfer's record
   * made one, for a small file sent before its claim). Only where there is no entry at all: any
   * entry (a claim, a stored plan, a finished object) is `known`, nothing is written, and the
   * caller claims the ordinary way.
   */
  claimTransferred(ref: ObjectRef, owner: string, upload: TransferredUpload, order?: KeyOrderRequest): Promise<TransferredClaimResult>;
  /**
   * Records that a commit of the transferred `uploadId` that is not idempotent is about to be
   * sent, with what the destination's `beforeCommit` returned (see ClaimedEntry.commitStarted).
   */
  markCommitStarted(ref: ObjectRef, lease: ClaimLease, uploadId: string, context?: Record<string, string>): Promise<void>;
  /**
   * Records the commit under the caller's claim. Already committed with the same version (same
   * connector and ids) is success; with another one, a LedgerConflictError whose `current` names it.
   */
  markCommitted(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord): Promise<void>;
  /**
   * markCommitted, and the key's commit lease given up, in one call where the store can (a
   * transaction); the commit record's outcome is the answer, a lease already lost is no error.
   */
  markCommittedReleasingKeyCommit(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord, keyLease: KeyCommitLease): Promise<void>;
  /**
   * Only under the caller's claim (or if already rejected): a consumer that lost the object, or
   * never claimed it, never rejects it.
   */
  markRejected(ref: ObjectRef, lease: ClaimLease, reasons: Problem[], rejectedKey?: string): Promise<void>;
  /** Only under the caller's claim (or if already superseded); see SupersededEntry. */
  markSuperseded(ref: ObjectRef, lease: ClaimLease, order: { sequencer: string; newerSequencer: string }): Promise<void>;
}

/**
 * The short lease on a key's commit step. Uploads of one key run in parallel; only the check
 * "is a newer upload committed?" and the commit itself are serialized per key, so that an older
 * upload can never commit after a newer one.
 */
export interface KeyCommitLease {
  bucket: string;
  key: string;
  owner: string;
  token: string;
}

export type KeyCommitLeaseResult =
  /** Ours until released or expired; `committedSequencer` is the key's newest committed upload. */
  | { outcome: 'acquired'; lease: KeyCommitLease; committedSequencer?: string | undefined }
  /** Another upload of the key is committing: retry later. */
  | { outcome: 'busy'; owner?: string | undefined; leaseExpiresAt?: number | undefined };

/** Outcome of taking a key's commit lease and recording an upload's sequencer in one write. */
export type KeyCommitInOrderResult =
  /**
   * Ours until released or expired, and `sequencer` is now the key's newest commit;
   * `previousSequencer` is what it replaced (for restoreCommittedSequencer).
   */
  | { outcome: 'acquired'; lease: KeyCommitLease; previousSequencer?: string | undefined }
  /** A newer upload of the key was committed (or is being committed): nothing was written. */
  | { outcome: 'superseded'; newerSequencer: string }
  /** Another upload of the key is committing: retry later. */
  | { outcome: 'busy'; owner?: string | undefined; leaseExpiresAt?: number | undefined };

/**
 * The per-key order of commits, kept beside the object entries: the highest sequencer committed
 * for each key, and the key's commit lease.
 */
export interface KeyOrderStore {
  /** The key's newest committed sequencer, without taking the lease (a read for tools; the ingest's check is under the lease). */
  committedSequencer(bucket: string, key: string): Promise<string | undefined>;
  acquireKeyCommit(bucket: string, key: string, owner: string): Promise<KeyCommitLeaseResult>;
  /**
   * Takes the lease and records `sequencer` as the key's newest commit in one write, unless a
   * newer upload is recorded (superseded) or another upload holds the lease (busy). What the
   * ingest calls before a commit: acquireKeyCommit + raiseCommittedSequencer in one call.
   */
  acquireKeyCommitInOrder(bucket: string, key: string, owner: string, sequencer: string): Promise<KeyCommitInOrderResult>;
  /** Records `sequencer` as the key's newest commit; only under the lease (else LedgerConflictError). */
  raiseCommittedSequencer(lease: KeyCommitLease, sequencer: string): Promise<void>;
  /**
   * Undoes a raise whose commit was refused for good, so that the refused upload does not hide
   * older ones: back to `previous` if the key still records `sequencer`.
   */
  restoreCommittedSequencer(lease: KeyCommitLease, sequencer: string, previous: string | undefined): Promise<void>;
  /** Gives the lease up; a lease already lost is no error. */
  releaseKeyCommit(lease: KeyCommitLease): Promise<void>;
}

/** The ledger changed under us (lease lost, another consumer finished): transient, retry. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
  constructor(
    message: string,
    readonly ref: ObjectRef,
    readonly current?: LedgerEntry | undefined,
  ) {
    super(message);
  }
}

/**
 * The ledger partition key of an object version. Stored items keep the part after `#` as
 * `objectVersionId`, so that an entry found through the object index reads back with
 * `{ versionId: objectVersionId }`.
 */
export function ledgerKey(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.key}#${objectVersionIdOf(ref)}`;
}

/**
 * The version part of an object's ledger identity: its version id, `null:<upload id>` for an
 * upload of an unversioned key, or `null` (entries written before uploads were told apart).
 */
export function objectVersionIdOf(ref: ObjectRef): string {
  if (ref.versionId !== undefined) return ref.versionId;
  return ref.upload ? `null:${ref.upload.id}` : 'null';
}

/** The ledger partition key of a key's commit order (see KeyOrderStore); never an object's key. */
export function keyOrderKey(bucket: string, key: string): string {
  return `key#${bucket}#${key}`;
}
