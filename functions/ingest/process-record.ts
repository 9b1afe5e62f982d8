/**
 * One S3 object through the ingest, as an explicit flow:
 *
 *   read object (head or small body, tags) -> choose connector and assess -> claim -> one of
 *     fresh upload (prepare, transfer, commit) | resume (the bytes were sent: commit the stored
 *     plan) | reject | superseded (a newer upload of the key was committed) | duplicate (finished
 *     before: finish its disposal)
 *
 * A small file on its first delivery takes a shorter road with the same guarantees: it is sent
 * before it is claimed, and claimed together with the record of its transfer (and its key's
 * commit order) in one ledger write that only succeeds for an object the ledger has never seen;
 * anything else falls back to the claim above (see sendBeforeClaim).
 *
 * Everything about a document system is behind its connector (shared/connectors/types.ts): the
 * assessment (tags, target, schema, validation; the CLI's `check` shares it), the destination
 * and the classification of its errors at each step. A failure the connector classifies as
 * permanent rejects the file; anything else hands the record back to SQS, which retries it and
 * finally moves it to the dead-letter queue, where an alarm tells an operator.
 *
 * Never throws: the outcome says what to do with the SQS message.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { assessObject, chooseConnector, connectorNamed } from '../../shared/connectors/registry.js';
import type {
  Assessment,
  AssessmentRejected,
  CommitPlan,
  CommittedVersion,
  IngestConnector,
  ReportTarget,
} from '../../shared/connectors/types.js';
import {
  type ClaimedEntry,
  type ClaimLease,
  committedVersionOf,
  describeCommittedVersion,
  type KeyCommitInOrderResult,
  type KeyCommitLease,
  LedgerConflictError,
  type LedgerEntry,
  objectVersionIdOf,
  type ObjectRef,
  sameCommittedVersion,
} from '../../shared/ledger/types.js';
import { appendLogContext, runWithLogContext } from '../../shared/observability/log-context.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import { DISPOSITION_TAG, type S3Tag } from '../../shared/s3/tags.js';
import { commitMarkerOf, ConnectorStepError, isPermanentRefusal, isUploadGone, viaConnector } from './connector-step.js';
import { disposeCommittedObject, disposeSupersededObject } from './disposition.js';
import {
  BucketMissingError,
  deleteObjectVersion,
  getObjectTags,
  normaliseETag,
  openObjectVersion,
  openReadBytes,
  readObjectVersion,
  type ObjectVersionInfo,
} from './object-store.js';
import { rejectObject } from './rejection.js';
import type { IngestDependencies, RecordOutcome } from './types.js';

/** The steps of the flow; a retry's reason and its log line name the step it failed at. */
export type IngestStep =
  | 'start'
  | 'read object'
  | 'read tags'
  | 'read ledger'
  | 'choose connector'
  /** A connector's assessment step it does not name as one of the two below. */
  | 'assess'
  | 'resolve target'
  | 'read metadata schema'
  | 'claim'
  | 'record superseded'
  | 'presign'
  | 'transfer'
  | 'record transfer'
  | 'take key commit lease'
  | 'before commit'
  | 'record commit start'
  | 'commit'
  | 'find committed'
  | 'record commit'
  | 'reject'
  | 'dispose';

/** The step a record is at, updated as it goes, read when it fails. */
interface StepTracker {
  name: IngestStep;
}

/** A newer upload of the key was committed first: this one is recorded as superseded, not committed. */
class SupersededByNewerUpload extends Error {
  override readonly name = 'SupersededByNewerUpload';
  constructor(readonly newerSequencer: string) {
    super(`a newer upload of the key (sequencer ${newerSequencer}) was committed first`);
  }
}

/** Another upload of the same key holds the key's commit lease: transient, the record is retried. */
class KeyCommitBusyError extends Error {
  override readonly name = 'KeyCommitBusyError';
}

/** What the flow knows once the object is read. */
interface RecordContext {
  event: S3ObjectEvent;
  messageId: string;
  deps: IngestDependencies;
  log: Logger;
  step: StepTracker;
  ref: ObjectRef;
  object: ObjectVersionInfo;
  /** The version's bytes when the first read brought them (a small object): the transfer sends these. */
  bytes?: Buffer | undefined;
  tags: S3Tag[];
  /** How often SQS has handed this message out (ApproximateReceiveCount), when known. */
  receiveCount?: number | undefined;
}

/** ... and once the object is claimed. */
interface ClaimedContext extends RecordContext {
  lease: ClaimLease;
  entry: ClaimedEntry;
  /** The "commit under way" mark this invocation wrote last (a commit that is not idempotent), for `findCommitted`. */
  commitUnderWay?: { uploadId: string; context: Record<string, string> | undefined } | undefined;
  /** Set once the bytes were sent again because the system lost the stored upload: at most once per delivery. */
  uploadedAgain?: boolean | undefined;
}

/** A connector's decision about the object, or a rejection before any connector was chosen. */
interface Assessed {
  connector?: IngestConnector | undefined;
  assessment: Assessment;
}

/** What the queue says about the delivery of the record's message. */
export interface DeliveryInfo {
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount?: number | undefined;
}

export async function processObjectRecord(
  event: S3ObjectEvent,
  messageId: string,
  deps: IngestDependencies,
  delivery: DeliveryInfo = {},
): Promise<RecordOutcome> {
  const keys = { messageId, bucket: event.bucket, key: event.key, objectVersionId: event.versionId ?? 'null' };
  // The log context carries the keys into lines of shared code (a connector client's retries).
  return runWithLogContext(keys, async () => {
    const log = deps.logger.createChild();
    log.appendPersistentKeys(keys);
    const step: StepTracker = { name: 'start' };
    try {
      return await ingest(event, messageId, deps, log, step, delivery);
    } catch (err) {
      return retryLater(deps, log, step, err);
    }
  });
}

/** Any failure that is not a rejection: the record goes back to the queue, after the pause its system asked for. */
function retryLater(deps: IngestDependencies, log: Logger, step: StepTracker, err: unknown): RecordOutcome {
  deps.metrics.recordRetried();
  const failure = err instanceof ConnectorStepError ? err : undefined;
  const classified = failure?.classified;
  const reason = classified !== undefined && classified.kind !== 'permanent' ? classified.reason : describeError(err);
  // A Retry-After too long to wait in this invocation becomes the message's visibility (batch.ts).
  const retryAfterMs = classified !== undefined && classified.kind !== 'permanent' ? classified.retryAfterMs : undefined;
  const fields = {
    step: step.name,
    reason,
    ...errorFields(deps, err),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
  if (classified?.kind === 'throttled' && failure !== undefined) {
    deps.metrics.recordThrottled?.(failure.connector);
    log.warn(`${failure.connector} throttles the integration: the record is retried after its pause`, fields);
  } else if (classified?.kind === 'operator' && failure !== undefined) {
    log.error(`${failure.connector} refused the integration itself: the record is retried, but a person must act`, {
      ...fields,
      fix: `check the ${failure.connector} credentials secret and the integration's permissions; the dead-letter queue's alarm fires if retries do not help`,
    });
  } else {
    log.warn('transient failure: the record goes back to the queue and is retried', fields);
  }
  return {
    status: 'retry',
    reason: `${step.name}: ${reason}`,
    ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
  };
}

/** Keys learnt on the way (target, uploadId, version ids): on every later line of the record. */
function remember(log: Logger, keys: Record<string, string | undefined>): void {
  const known = Object.fromEntries(Object.entries(keys).filter((entry): entry is [string, string] => entry[1] !== undefined));
  log.appendPersistentKeys(known);
  appendLogContext(known);
}

async function ingest(
  event: S3ObjectEvent,
  messageId: string,
  deps: IngestDependencies,
  log: Logger,
  step: StepTracker,
  delivery: DeliveryInfo,
): Promise<RecordOutcome> {
  const screened = screenEvent(event, deps, log);
  if (screened !== undefined) return screened;
  const found = await readObject(event, messageId, deps, log, step);
  if ('outcome' in found) return found.outcome;
  const read: RecordContext = { ...found, receiveCount: delivery.receiveCount };
  step.name = 'choose connector';
  const choice = chooseConnector(read.ref.key, read.tags, deps.connectors);
  if (choice.kind === 'chosen') remember(log, { connector: choice.connector.name });
  // Within its connector's share of the batch: the rate limit is the system's (connector-concurrency.ts).
  const slot = choice.kind === 'chosen' ? deps.withConnectorSlot : undefined;
  return slot !== undefined && choice.kind === 'chosen' ? slot(choice.connector.name, () => assessAndClaim(read)) : assessAndClaim(read);
}

/** Nothing outside the inbox is ever read, copied or deleted, whatever a message names. */
function screenEvent(event: S3ObjectEvent, deps: IngestDependencies, log: Logger): RecordOutcome | undefined {
  const { config } = deps;
  if (event.bucket !== deps.inboxBucket)
    return foreignEvent(deps, log, event, `bucket ${event.bucket} is not the inbox bucket ${deps.inboxBucket}`);
  if (event.key.startsWith(config.rejectedPrefix)) return skip(log, 'the key is under the rejected prefix');
  if (!event.key.startsWith(config.inboxPrefix)) {
    return foreignEvent(deps, log, event, `key ${JSON.stringify(event.key)} is not under the inbox prefix ${config.inboxPrefix}`);
  }
  if (!event.created) return skip(log, `${event.eventName} is not an ObjectCreated event`);
  if (event.key.endsWith('/') && !event.size) return skip(log, 'a zero-byte folder marker, not a file');
  return undefined;
}

/** The object's head and tags (or why there is nothing to ingest). */
async function readObject(
  event: S3ObjectEvent,
  messageId: string,
  deps: IngestDependencies,
  log: Logger,
  step: StepTracker,
): Promise<RecordContext | { outcome: RecordOutcome }> {
  const { s3, ledger } = deps;
  let ref: ObjectRef = unversionedUpload(event, { bucket: event.bucket, key: event.key, versionId: event.versionId }, undefined);
  // The object's head (a small one's bytes with it) and its tags at once: two reads of one
  // version, neither waits for the other. The key's order is not read here: the check that
  // counts runs under the key's commit lease, taken with the record of the transfer.
  step.name = 'read object';
  let read: Awaited<ReturnType<typeof readObjectVersion>>;
  let tagsRead = readTags(s3, ref);
  try {
    // A small object is read whole here (its head and bytes in one GetObject), a larger one only headed.
    read = await readObjectVersion(s3, ref, event.size);
    if (!read && event.alternateKey !== undefined) {
      // EventBridge may send the key literally or URL-encoded: the other reading names the object.
      const alternate = { ...ref, key: event.alternateKey };
      read = await readObjectVersion(s3, alternate, event.size);
      if (read) {
        ref = alternate;
        tagsRead = readTags(s3, ref);
        remember(log, { key: ref.key });
      }
    }
  } catch (err) {
    if (err instanceof BucketMissingError) return { outcome: bucketMissing(deps, log, err) };
    throw err;
  }
  const object = read?.info;
  if (object && ref.versionId === undefined) {
    // Unversioned: the object at the key may already be a later upload than the one this event names.
    if (event.eTag && object.eTag && normaliseETag(event.eTag) !== normaliseETag(object.eTag)) {
      return {
        outcome: skip(
          log,
          `the upload this event names (ETag ${event.eTag}) was replaced by a later upload of the key (ETag ${object.eTag}); the later upload's own event ingests it`,
        ),
      };
    }
    ref = unversionedUpload(event, ref, object);
    remember(log, { objectVersionId: objectVersionIdOf(ref) });
  }
  if (!object) {
    step.name = 'read ledger';
    const entry = await ledger.get(ref);
    if (entry?.state === 'committed') return { outcome: skip(log, 'already committed; the inbox object is gone', 'info') };
    if (entry?.state === 'rejected') return { outcome: skip(log, 'already rejected; the inbox object is gone', 'info') };
    if (entry?.state === 'superseded')
      return { outcome: skip(log, 'already superseded by a newer upload; the inbox object is gone', 'info') };
    return { outcome: skip(log, 'the object version no longer exists and the ledger has no record of it: nothing to ingest', 'warn') };
  }
  step.name = 'read tags';
  const tags = await tagsRead;
  return { event, messageId, deps, log, step, ref, object, bytes: read?.bytes, tags };
}

/** The connector's assessment of the object, the claim, and the branch the claim leads to. */
async function assessAndClaim(c: RecordContext): Promise<RecordOutcome> {
  const { deps, log, step, ref } = c;
  // The decision `check` shares (connector, tags, target, schema, validation), made before the
  // claim and without reading the ledger first: the claim itself returns what the ledger holds.
  // Only when the decision would end the record without a claim (waiting for tags, or a failed
  // read) is the ledger read, because an upload whose bytes were sent must be resumed with its
  // stored plan (the destination may already hold the file): the current tags must not stop it.
  let first: Assessed | undefined;
  let failure: { error: unknown; step: IngestStep } | undefined;
  try {
    first = await assess(c);
  } catch (err) {
    failure = { error: err, step: step.name };
  }
  if (failure !== undefined || first?.assessment.kind === 'wait') {
    step.name = 'read ledger';
    const known = await deps.ledger.get(ref);
    const finished = known !== undefined && known.state !== 'claimed';
    if (resumablePlan(known) === undefined && !finished) {
      if (first?.assessment.kind === 'wait') return waitForTags(deps, log, first.assessment.graceEndsAt);
      step.name = failure?.step ?? step.name;
      throw failure?.error;
    }
    // The claim below finds the finished entry or the stored plan; the current tags do not count.
    first = undefined;
  }

  if (first?.assessment.kind === 'accept' && first.connector !== undefined && sendsBeforeClaim(c)) {
    const sent = await sendBeforeClaim(c, first.connector, first.assessment.plan);
    if (sent.kind === 'claimed') {
      const { claimed, uploadId, keyOrder, started } = sent;
      return commitTransferred(claimed, first.connector, first.assessment.plan, first.assessment.target, {
        uploadId,
        started,
        resumed: false,
        recorded: { keyOrder },
      });
    }
    return claimAndGo(c, first, { ...sent, connector: first.connector, plan: first.assessment.plan, target: first.assessment.target });
  }
  return claimAndGo(c, first, undefined);
}

/**
 * What a delivery that sent its file before claiming it (sendBeforeClaim) brings to an ordinary
 * claim: the upload it sent, or the system's refusal for good, to be settled under the claim.
 */
type SentBeforeClaim = { connector: IngestConnector; plan: CommitPlan; target: ReportTarget; started: number } & (
  | { kind: 'transferred'; uploadId: string }
  | { kind: 'refused'; error: ConnectorStepError }
);

/** The claim up front, and the branch it leads to. */
async function claimAndGo(c: RecordContext, first: Assessed | undefined, sent: SentBeforeClaim | undefined): Promise<RecordOutcome> {
  const { deps, log, step, ref } = c;
  // Claimed before anything is written, a rejection too: a consumer that loses the object to
  // another one (which may be committing it) must not leave a rejected copy behind.
  step.name = 'claim';
  const claim = await deps.ledger.claim(ref, c.messageId);
  switch (claim.outcome) {
    case 'committed':
      return duplicateOfCommitted(c, claim.entry.state === 'committed' ? committedVersionOf(claim.entry) : undefined);
    case 'rejected':
      step.name = 'dispose';
      // The ledger is written after the rejected copy and before the delete: finish a rejection that crashed in between.
      await deleteObjectVersion(deps.s3, ref);
      return skip(log, 'duplicate delivery: already rejected', 'info');
    case 'superseded':
      step.name = 'dispose';
      await disposeSupersededObject(deps.s3, log, ref, deps.config.disposition, c.tags);
      return skip(log, 'duplicate delivery: already superseded by a newer upload of the key', 'info');
    case 'busy': {
      deps.metrics.recordRetried();
      const until = claim.entry ? new Date(claim.entry.leaseExpiresAt).toISOString() : 'unknown';
      log.info('another consumer is uploading this object; retrying later', { leaseOwner: claim.entry?.owner, leaseExpiresAt: until });
      return { status: 'retry', reason: `busy: claimed by message ${claim.entry?.owner ?? 'unknown'} until ${until}` };
    }
    case 'claimed':
      break;
  }
  const claimed: ClaimedContext = { ...c, lease: claim.lease, entry: claim.entry };

  // The claim may hold a stored plan the first read did not see (taken over from a consumer that
  // died), or none although the first read saw one (another consumer replaced the upload since).
  const storedPlan = resumablePlan(claim.entry);
  if (storedPlan !== undefined) {
    if (sent?.kind === 'transferred') {
      // Never committed: the stored upload is the one a commit may already have used.
      log.info('the ledger holds a transferred upload of this object: resuming it; the upload this delivery sent is abandoned', {
        abandonedUploadId: sent.uploadId,
      });
    }
    return resume(claimed, storedPlan, first);
  }
  if (sent?.kind === 'transferred') {
    return commitTransferred(claimed, sent.connector, sent.plan, sent.target, {
      uploadId: sent.uploadId,
      started: sent.started,
      resumed: false,
      recorded: undefined,
    });
  }
  if (sent?.kind === 'refused') return settleUploadFailure(claimed, sent.error, sent.connector, sent.plan, sent.target);
  return decide(claimed, first ?? (await assess(c)));
}

/**
 * How recent an upload must be for its file to be sent before its claim. An event normally
 * reaches the function seconds after the upload; an older one is more likely a replay (a
 * dead-letter redrive, a reingest) of an object the ledger already knows.
 */
export const FRESH_UPLOAD_MS = 5 * 60_000;

/**
 * Whether the file may be sent before it is claimed. Only a small file (read whole with its head),
 * uploaded within FRESH_UPLOAD_MS, on its message's first delivery as SQS counts it (a caller
 * that does not say claims up front), without the tags a finished ingest leaves: a redelivery, a
 * replay or an object tagged as ingested most likely has a ledger entry (a stored plan to resume,
 * or a finished object), and sending it first would only cost a presign and a PUT for nothing. A
 * large file is claimed first so that two deliveries at once never both send it. Any mistake
 * here costs calls, never safety: the claim with the transfer only succeeds where the ledger has
 * no entry at all.
 */
function sendsBeforeClaim(c: RecordContext): boolean {
  if (c.bytes === undefined) return false;
  if (c.receiveCount !== 1) return false;
  const uploadedAt = c.object.lastModified?.getTime();
  if (uploadedAt === undefined || c.deps.now().getTime() - uploadedAt > FRESH_UPLOAD_MS) return false;
  return !c.tags.some((t) => t.Key.startsWith(DISPOSITION_TAG.idPrefix));
}

/**
 * A small file's shorter road: prepare and transfer first, then claim the object together with
 * the record of its transfer and its key's commit lease, in one ledger call (a transaction). The
 * claim's condition is that the ledger has no entry for the object, so the guarantees of the
 * claim up front hold: two deliveries of a new object may both send it, but only one claims it
 * and only the claimant commits; an entry of any kind (claimed, with a stored plan, finished)
 * makes the claim fail without a write, and the ordinary claim takes over, resuming a stored
 * upload rather than this one. Nothing else is written before the claim: a refusal for good is
 * settled (rejected) under the ordinary claim, and an upload never claimed is never committed.
 */
async function sendBeforeClaim(
  c: RecordContext,
  connector: IngestConnector,
  plan: CommitPlan,
): Promise<
  | { kind: 'claimed'; claimed: ClaimedContext; uploadId: string; keyOrder: KeyCommitInOrderResult | undefined; started: number }
  | ({ started: number } & ({ kind: 'transferred'; uploadId: string } | { kind: 'refused'; error: ConnectorStepError }))
> {
  const { deps, log, step, ref, event } = c;
  const started = Date.now();
  let uploadId: string;
  try {
    uploadId = await sendUpload(c, connector, plan, undefined);
  } catch (err) {
    if (isPermanentRefusal(err) || isUploadGone(err)) return { kind: 'refused', error: err, started };
    throw err;
  }
  step.name = 'claim';
  const order = event.sequencer === undefined ? undefined : { owner: c.messageId, sequencer: event.sequencer };
  const claim = await deps.ledger.claimTransferred(ref, c.messageId, { uploadId, plan }, order);
  if (claim.outcome === 'known') {
    log.info('the ledger already has this object: claiming it the ordinary way', { ledgerState: claim.entry?.state ?? 'gone' });
    return { kind: 'transferred', uploadId, started };
  }
  const claimed: ClaimedContext = { ...c, lease: claim.lease, entry: claim.entry };
  return { kind: 'claimed', claimed, uploadId, keyOrder: claim.keyOrder, started };
}

/** The connector chosen for the object and its assessment; its steps are the record's steps. */
function assess(c: RecordContext): Promise<Assessed> {
  const { step, log } = c;
  step.name = 'assess';
  const input = { key: c.ref.key, tags: c.tags, sizeBytes: c.object.size, lastModified: c.object.lastModified, now: c.deps.now() };
  const chosen = chooseConnector(c.ref.key, c.tags, c.deps.connectors);
  const hooks = {
    onStep: (next: { name: string; ids?: Record<string, string> | undefined }) => {
      if (next.ids !== undefined) remember(log, next.ids);
      step.name = next.name === 'resolve target' || next.name === 'read metadata schema' ? next.name : 'assess';
    },
  };
  if (chosen.kind !== 'chosen') return assessObject(input, c.deps.connectors, hooks);
  const connector = chosen.connector;
  return viaConnector(connector, 'resolve', async () => ({ connector, assessment: await connector.assess(input, hooks) })).catch(
    (err: unknown): Assessed => {
      // The system refused a lookup for good: a rejection like any other, made under the claim.
      if (!(isPermanentRefusal(err) && err.classified.kind === 'permanent')) throw err;
      const { problems, refusal } = err.classified;
      return { connector, assessment: { kind: 'reject', cause: 'refused', problems, refusal } };
    },
  );
}

/** The branch of a claim without a stored plan: wait, reject, or a fresh upload. */
function decide(c: ClaimedContext, assessed: Assessed, resumed = false): Promise<RecordOutcome> | RecordOutcome {
  const { assessment, connector } = assessed;
  if (assessment.kind === 'wait') return waitForTags(c.deps, c.log, assessment.graceEndsAt);
  if (assessment.kind === 'reject') return reject(c, assessment, connector);
  if (connector === undefined) throw new Error(`an accepted assessment of ${c.ref.key} names no connector`);
  return freshUpload(c, connector, assessment.plan, assessment.target, resumed);
}

/** Moves the object to rejected/ with its report, under the claim. */
function reject(
  c: ClaimedContext,
  rejection: Pick<AssessmentRejected, 'problems' | 'target' | 'refusal'>,
  connector: IngestConnector | undefined,
): Promise<RecordOutcome> {
  c.step.name = 'reject';
  return rejectObject(c.deps, c.log, {
    ref: c.ref,
    lease: c.lease,
    object: c.object,
    tags: c.tags,
    problems: rejection.problems,
    connector: connector?.name ?? rejection.target?.connector,
    target: rejection.target,
    refusal: rejection.refusal,
  });
}

/** Prepare, transfer and commit a file the system has not seen; a refusal rejects it. */
async function freshUpload(
  c: ClaimedContext,
  connector: IngestConnector,
  plan: CommitPlan,
  /** Where the file goes, for a rejection's report (absent when a stored plan is uploaded again). */
  target: ReportTarget | undefined,
  /** True when a resume's stored upload was refused or lost and this upload replaces it. */
  resumed: boolean,
): Promise<RecordOutcome> {
  const started = Date.now();
  let uploadId: string;
  try {
    uploadId = await sendUpload(c, connector, plan, c.entry.uploadId);
  } catch (err) {
    return settleUploadFailure(c, err, connector, plan, target);
  }
  return commitTransferred(c, connector, plan, target, { uploadId, started, resumed, recorded: undefined });
}

/** An upload or commit that failed: the system lost the upload (send it again), refused it (reject), or anything else (retry). */
function settleUploadFailure(
  c: ClaimedContext,
  err: unknown,
  connector: IngestConnector,
  plan: CommitPlan,
  target: ReportTarget | undefined,
): Promise<RecordOutcome> {
  if (isUploadGone(err)) return uploadAgain(c, connector, plan, target, err, { foundNothingFor: undefined });
  return settleCommitFailure(c, err, connector, target);
}

/**
 * The bytes of `uploadId` were sent under the claim: record the transfer with the key's commit
 * order (unless the claim was taken with them, `recorded`), commit in order, record the commit.
 */
async function commitTransferred(
  c: ClaimedContext,
  connector: IngestConnector,
  plan: CommitPlan,
  target: ReportTarget | undefined,
  sent: {
    uploadId: string;
    started: number;
    resumed: boolean;
    /** Set when the transfer is already recorded (the claim was taken with it), with the key order it took. */
    recorded: { keyOrder: KeyCommitInOrderResult | undefined } | undefined;
  },
): Promise<RecordOutcome> {
  try {
    const keyOrder = sent.recorded !== undefined ? sent.recorded.keyOrder : await recordTransfer(c, plan, sent.uploadId);
    const commit = await commitInOrder(c, connector, plan, sent.uploadId, keyOrder);
    return await finishCommit(c, connector, plan, commit, { resumed: sent.resumed, started: sent.started });
  } catch (err) {
    return settleUploadFailure(c, err, connector, plan, target);
  }
}

/**
 * The transfer's record under the claim: upload id, plan and the transferred mark in one write,
 * with the key's commit lease and this upload's sequencer in the same transaction when the event
 * has a sequencer (without one there is no order to keep).
 */
async function recordTransfer(c: ClaimedContext, plan: CommitPlan, uploadId: string): Promise<KeyCommitInOrderResult | undefined> {
  const { deps, step, ref, lease, event } = c;
  step.name = 'record transfer';
  const upload = { uploadId, plan };
  if (event.sequencer === undefined) {
    await deps.ledger.markTransferred(ref, lease, upload);
    return undefined;
  }
  const recorded = await deps.ledger.recordTransfer(ref, lease, upload, { owner: c.messageId, sequencer: event.sequencer });
  return recorded.keyOrder;
}

/**
 * The system lost the stored upload (Bynder's 404 "Import ID not found" at the save, an expired
 * upload policy during the transfer): repeating the commit can never work, so the bytes are sent
 * again with the same plan. For a commit that is not idempotent, only once the connector's
 * `findCommitted` found nothing for the lost upload (asked here unless the caller just did,
 * before the commit that failed): a save that went through after all is recorded, never repeated.
 * At most once per delivery; a second loss goes back to the queue like any transient failure.
 */
async function uploadAgain(
  c: ClaimedContext,
  connector: IngestConnector,
  plan: CommitPlan,
  target: ReportTarget | undefined,
  err: ConnectorStepError,
  checked: { foundNothingFor: string | undefined },
): Promise<RecordOutcome> {
  const { log, step } = c;
  if (c.uploadedAgain) throw err;
  const destination = connector.destination;
  const mark = c.commitUnderWay;
  if (err.step === 'commit' && !destination.commitIsIdempotent && mark !== undefined && checked.foundNothingFor !== mark.uploadId) {
    const findCommitted = destination.findCommitted;
    if (findCommitted === undefined) {
      throw new Error(
        `the ${connector.name} destination's commit is not idempotent but it cannot find an interrupted commit (findCommitted)`,
      );
    }
    step.name = 'find committed';
    const started = Date.now();
    const found = await viaConnector(connector, 'find-committed', () =>
      findCommitted.call(destination, plan, mark.uploadId, commitMarkerOf(c.ref), mark.context),
    );
    if (found !== undefined) {
      log.info('the commit refused as an unknown upload had gone through before: recording what it created, not uploading again', {
        version: found.ids,
      });
      return finishCommit(
        c,
        connector,
        plan,
        { committed: found, keyLease: undefined, uploadId: mark.uploadId },
        { resumed: true, started },
      );
    }
  }
  c.uploadedAgain = true;
  log.warn(`${connector.name} no longer holds the stored upload: sending the bytes again with the same plan`, {
    step: err.step,
    reason: err.classified.kind === 'transient' ? err.classified.reason : err.message,
    previousUploadId: mark?.uploadId ?? c.entry.uploadId,
  });
  return freshUpload(c, connector, plan, target, true);
}

/**
 * The bytes were sent before (a consumer crashed after the transfer): commit the stored plan,
 * never re-assess, because the destination may already hold the file. For a destination whose
 * commit is not idempotent, a "commit under way" mark means that commit may have gone through:
 * the connector is asked what it created before anything is committed again.
 */
async function resume(c: ClaimedContext, plan: CommitPlan, first: Assessed | undefined): Promise<RecordOutcome> {
  const { log, step, entry } = c;
  const uploadId = entry.uploadId as string;
  const connector = connectorNamed(c.deps.connectors, plan.connector);
  remember(log, { connector: connector.name, uploadId });
  log.info('the bytes were sent before: resuming with the stored commit plan; the current tags do not count', {
    storedPlan: connector.describePlan(plan),
    attempts: entry.attempts,
  });
  if (first?.assessment.kind === 'accept' && !sameCommitPlan(plan, first.assessment.plan)) {
    // Only for an entry whose plan appeared between the first read and the claim.
    log.warn(
      `the tags changed after the bytes were sent: the file is committed where it was first resolved; a person can move or rename it in ${connector.name}`,
      { storedPlan: connector.describePlan(plan), currentPlan: connector.describePlan(first.assessment.plan) },
    );
  }
  const started = Date.now();
  const destination = connector.destination;
  const mark = entry.commitStarted;
  /** The upload whose interrupted commit `findCommitted` found nothing for, in this delivery. */
  let foundNothingFor: string | undefined;
  if (!destination.commitIsIdempotent && mark !== undefined && mark.uploadId === uploadId) {
    const findCommitted = destination.findCommitted;
    if (findCommitted === undefined) {
      throw new Error(
        `the ${connector.name} destination's commit is not idempotent but it cannot find an interrupted commit (findCommitted)`,
      );
    }
    step.name = 'find committed';
    const found = await viaConnector(connector, 'find-committed', () =>
      findCommitted.call(destination, plan, uploadId, commitMarkerOf(c.ref), mark.context),
    );
    if (found !== undefined) {
      log.info('an interrupted commit went through before: recording what it created, not committing again', {
        version: found.ids,
        commitStartedAt: mark.at,
      });
      return finishCommit(c, connector, plan, { committed: found, keyLease: undefined, uploadId }, { resumed: true, started });
    }
    foundNothingFor = uploadId;
  }
  try {
    const commit = await commitInOrder(c, connector, plan, uploadId);
    return await finishCommit(c, connector, plan, commit, { resumed: true, started });
  } catch (err) {
    // The stored upload expired at the system: the bytes are sent again (never before findCommitted found nothing).
    if (isUploadGone(err)) return uploadAgain(c, connector, plan, undefined, err, { foundNothingFor });
    if (!isPermanentRefusal(err)) return settleCommitFailure(c, err, connector, undefined);
    // Refused with its own plan, the stored upload was never committed (it expired at the
    // destination): the file is new to the system, so the current tags decide, and the bytes are sent once more.
    log.warn('the stored upload could not be committed; uploading again', {
      problems: err.classified.kind === 'permanent' ? err.classified.problems : [],
    });
    return decide(c, first ?? (await assess(c)), true);
  }
}

/** A commit that did not happen: a refusal rejects the file, a newer upload supersedes it, anything else is retried. */
function settleCommitFailure(
  c: ClaimedContext,
  err: unknown,
  connector: IngestConnector,
  target: ReportTarget | undefined,
): Promise<RecordOutcome> {
  if (isPermanentRefusal(err) && err.classified.kind === 'permanent') {
    return reject(c, { problems: err.classified.problems, refusal: err.classified.refusal, target }, connector);
  }
  if (err instanceof SupersededByNewerUpload && c.event.sequencer !== undefined) return supersede(c, c.event.sequencer, err.newerSequencer);
  throw err;
}

/** Records this upload as superseded by a newer committed one and disposes of it; no commit. */
async function supersede(c: ClaimedContext, sequencer: string, newerSequencer: string): Promise<RecordOutcome> {
  const { deps, log, step } = c;
  step.name = 'record superseded';
  await deps.ledger.markSuperseded(c.ref, c.lease, { sequencer, newerSequencer });
  deps.metrics.fileSuperseded?.();
  log.warn('an older upload of the key arrived after a newer one was committed: recorded as superseded, not committed', {
    sequencer,
    newerSequencer,
    disposition: deps.config.disposition,
  });
  step.name = 'dispose';
  await disposeSupersededObject(deps.s3, log, c.ref, deps.config.disposition, c.tags);
  return { status: 'superseded', sequencer, newerSequencer };
}

/** A redelivered or duplicated event for a committed object: finish its disposal and stop. */
async function duplicateOfCommitted(c: RecordContext, version: CommittedVersion | undefined): Promise<RecordOutcome> {
  const { deps, log, step } = c;
  if (version !== undefined) remember(log, { connector: version.connector, ...version.ids });
  step.name = 'dispose';
  if (version !== undefined) await disposeCommittedObject(deps.s3, log, c.ref, deps.config.disposition, version, c.tags);
  return skip(log, 'duplicate delivery: already committed, no second version created', 'info');
}

/** What a commit produced, and the key's commit lease to give up with its record. */
interface CommitDone {
  committed: CommittedVersion;
  keyLease: KeyCommitLease | undefined;
  /** The upload the commit took its bytes from (after a replaced or repeated upload, not the claim's). */
  uploadId: string;
}

/**
 * Prepares an upload and sends the bytes to it; the upload id the bytes went to. Nothing is
 * written to the ledger here: the id is recorded with its plan once the transfer is done
 * (recordTransfer), so a stored upload id is always one whose bytes were sent.
 */
async function sendUpload(
  c: RecordContext,
  connector: IngestConnector,
  plan: CommitPlan,
  previousUploadId: string | undefined,
): Promise<string> {
  const { deps, log, step, ref, object } = c;
  const destination = connector.destination;
  // An upload URL is one-shot and is never stored, so any upload that did not finish starts over.
  step.name = 'presign';
  let upload = await viaConnector(connector, 'prepare', () => destination.prepareUpload(plan));
  remember(log, { uploadId: upload.uploadId });
  if (previousUploadId !== undefined) log.info('replacing an unfinished upload', { previousUploadId });

  step.name = 'transfer';
  // A factory, not a stream: each attempt of the transfer re-opens the version from its start (or
  // a range); from the bytes the first read brought for a small object, from S3 for a larger one.
  const bytes = c.bytes;
  const openBody = async (range?: { start: number; end: number }) =>
    bytes !== undefined ? openReadBytes(bytes, range) : (await openObjectVersion(deps.s3, ref, range)).body;
  await viaConnector(connector, 'transfer', () =>
    destination.transfer(upload, { openBody, contentLength: object.size, contentType: object.contentType }, plan, {
      // The destination replaced a refused (expired or used) upload, or named the one to commit
      // (Bynder's import id): that id is the one recorded once the bytes are sent.
      onNewUpload: async (next) => {
        upload = next;
        remember(log, { uploadId: next.uploadId });
      },
    }),
  );
  return upload.uploadId;
}

/**
 * Commits under the key's commit lease, in sequencer order: a newer upload already recorded
 * means this one is superseded; otherwise this upload's sequencer is recorded first (so that an
 * older upload arriving while the commit runs is superseded, not committed after it), then the
 * commit runs. A commit refused for good takes the record back. Without a sequencer (hand-made
 * events) there is no order to keep.
 */
async function commitInOrder(
  c: ClaimedContext,
  connector: IngestConnector,
  plan: CommitPlan,
  uploadId: string,
  /** The key's answer when it was asked with the transfer's record; else it is asked here. */
  keyOrder?: KeyCommitInOrderResult | undefined,
): Promise<CommitDone> {
  const { deps, log, step, ref, event } = c;
  const sequencer = event.sequencer;
  if (sequencer === undefined) return { committed: await commit(c, connector, plan, uploadId), keyLease: undefined, uploadId };
  step.name = 'take key commit lease';
  // The lease and this upload's sequencer in one write; a newer upload recorded means superseded.
  const acquired = keyOrder ?? (await deps.ledger.acquireKeyCommitInOrder(ref.bucket, ref.key, c.messageId, sequencer));
  if (acquired.outcome === 'busy') {
    const until = acquired.leaseExpiresAt !== undefined ? new Date(acquired.leaseExpiresAt).toISOString() : 'unknown';
    throw new KeyCommitBusyError(
      `another upload of s3://${ref.bucket}/${ref.key} is being committed (message ${acquired.owner ?? 'unknown'}, lease until ${until}); this one is committed after it`,
    );
  }
  if (acquired.outcome === 'superseded') throw new SupersededByNewerUpload(acquired.newerSequencer);
  try {
    // The lease is given up with the ledger's record of the commit, in the same call where DynamoDB can.
    return { committed: await commit(c, connector, plan, uploadId), keyLease: acquired.lease, uploadId };
  } catch (err) {
    if (isPermanentRefusal(err)) await deps.ledger.restoreCommittedSequencer(acquired.lease, sequencer, acquired.previousSequencer);
    await deps.ledger.releaseKeyCommit(acquired.lease).catch((releaseErr: unknown) => {
      log.warn('could not release the key commit lease; it expires by itself', { reason: describeError(releaseErr) });
    });
    throw err;
  }
}

/** The commit itself; before one that is not idempotent, the ledger records that it is under way. */
async function commit(c: ClaimedContext, connector: IngestConnector, plan: CommitPlan, uploadId: string): Promise<CommittedVersion> {
  const { deps, step, ref, lease } = c;
  const destination = connector.destination;
  const marker = commitMarkerOf(ref);
  if (!destination.commitIsIdempotent) {
    step.name = 'before commit';
    const beforeCommit = destination.beforeCommit;
    const context =
      beforeCommit === undefined
        ? undefined
        : await viaConnector(connector, 'commit', () => beforeCommit.call(destination, plan, uploadId, marker));
    step.name = 'record commit start';
    await deps.ledger.markCommitStarted(ref, lease, uploadId, context);
    c.commitUnderWay = { uploadId, context };
  }
  step.name = 'commit';
  return viaConnector(connector, 'commit', () => destination.commit(plan, uploadId, marker));
}

/** Records the commit (giving up the key's lease with it), counts it, and disposes of the inbox object. */
async function finishCommit(
  c: ClaimedContext,
  connector: IngestConnector,
  plan: CommitPlan,
  done: CommitDone,
  how: { resumed: boolean; started: number },
): Promise<RecordOutcome> {
  const { deps, log, step, ref, lease, object } = c;
  const { committed, keyLease } = done;
  const durationMs = Date.now() - how.started;
  remember(log, { connector: committed.connector, ...committed.ids });

  step.name = 'record commit';
  const record = { version: committed, target: plan.target, uploadId: done.uploadId };
  try {
    if (keyLease === undefined) await deps.ledger.markCommitted(ref, lease, record);
    else await deps.ledger.markCommittedReleasingKeyCommit(ref, lease, record, keyLease);
  } catch (err) {
    // Whatever became of the record, the key's commit step is over: other uploads of the key need not wait for the lease to expire.
    if (keyLease !== undefined) await deps.ledger.releaseKeyCommit(keyLease).catch(() => undefined);
    const recorded = err instanceof LedgerConflictError ? err.current : undefined;
    if (recorded?.state === 'committed' && !sameCommittedVersion(committedVersionOf(recorded), committed)) {
      // Should not happen with claim tokens; if it does, a person has to remove one version.
      log.error('a second version was created for one object version: the ledger records another one', {
        recorded: describeCommittedVersion(committedVersionOf(recorded)),
        surplus: describeCommittedVersion(committed),
        fix: `check both versions in ${committed.connector} and remove the surplus one`,
      });
    }
    throw err;
  }
  deps.metrics.fileIngested(object.size, durationMs);
  log.info('file ingested as a new version', {
    connector: connector.name,
    sizeBytes: object.size,
    durationMs,
    resumed: how.resumed,
    fileName: plan.fileName,
  });

  step.name = 'dispose';
  await disposeCommittedObject(deps.s3, log, ref, deps.config.disposition, committed, c.tags);
  return { status: 'committed', version: committed, resumed: how.resumed };
}

/**
 * The stored plan of an entry whose bytes were sent: the destination may already have
 * committed them, so the entry must be resumed with this plan, never re-assessed or rejected.
 */
function resumablePlan(entry: LedgerEntry | undefined): CommitPlan | undefined {
  if (entry?.state !== 'claimed' || !entry.transferred || entry.uploadId === undefined) return undefined;
  return entry.commitPlan;
}

/** Same connector, place, name, version label, options and metadata values (in any order); labels are only for people. */
function sameCommitPlan(a: CommitPlan, b: CommitPlan): boolean {
  const key = (p: CommitPlan) =>
    JSON.stringify([
      p.connector,
      Object.entries(p.target).sort(),
      p.fileName,
      p.version ?? null,
      Object.entries(p.options ?? {}).sort(),
      p.metadata.map((m) => JSON.stringify([m.id, m.value])).sort(),
    ]);
  return key(a) === key(b);
}

function describeError(err: unknown): string {
  if (err instanceof LedgerConflictError || err instanceof KeyCommitBusyError) return err.message;
  if (err instanceof ConnectorStepError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Log fields of an error: its name, the connector's own fields (status, request id), an AWS status. */
function errorFields(deps: IngestDependencies, err: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const failure = err instanceof ConnectorStepError ? err : undefined;
  const cause = failure !== undefined ? failure.cause : err;
  if (cause instanceof Error) fields.errorName = cause.name;
  if (failure !== undefined) {
    fields.connector = failure.connector;
    const connector = deps.connectors.find((c) => c.name === failure.connector);
    Object.assign(fields, connector?.describeError?.(cause) ?? {});
  }
  const status = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined) fields.status = status;
  return fields;
}

/**
 * GetObjectTagging started beside HeadObject. A version that turns out to be gone never looks
 * at its tags, and their failed read must not surface as an unhandled rejection.
 */
function readTags(s3: IngestDependencies['s3'], ref: ObjectRef): Promise<S3Tag[]> {
  return settledLater(getObjectTags(s3, ref));
}

/** A read started ahead of its use: a failure waits for whoever awaits it instead of going unhandled. */
function settledLater<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

/**
 * For an object without a version id: which upload of the key the event names (its sequencer,
 * else the object's ETag and LastModified), and what the object must still look like before it
 * is deleted. Versioned objects are returned as they are.
 */
function unversionedUpload(event: S3ObjectEvent, ref: ObjectRef, object: ObjectVersionInfo | undefined): ObjectRef {
  if (ref.versionId !== undefined) return ref;
  // The event's ETag names its own upload; the object's may already be a later one's.
  const eTag = event.eTag ?? object?.eTag;
  let id: string | undefined;
  if (event.sequencer !== undefined) id = `seq:${event.sequencer}`;
  else if (eTag !== undefined && object?.lastModified !== undefined)
    id = `etag:${normaliseETag(eTag)}@${object.lastModified.toISOString()}`;
  if (id === undefined) return ref;
  return { ...ref, upload: { id, eTag, lastModified: object?.lastModified } };
}

/** The inbox bucket does not exist: a deployment problem, left to the dead-letter queue with a message that says so. */
function bucketMissing(deps: IngestDependencies, log: Logger, err: BucketMissingError): RecordOutcome {
  deps.metrics.recordRetried();
  log.error('the bucket the event names does not exist: nothing to read; the message goes on to the dead-letter queue', {
    eventBucket: err.bucket,
    eventKey: err.key,
    reason: err.message,
    fix: 'check that the inbox bucket exists and that INBOX_BUCKET_NAME and the bucket notification name it; then redrive the dead-letter queue',
  });
  return { status: 'retry', reason: `read object: ${err.message}` };
}

/**
 * An event for an object outside the inbox: never acted on, and left to reach the dead-letter
 * queue (a retry outcome), where a person sees it, rather than acknowledged and forgotten.
 */
function foreignEvent(deps: IngestDependencies, log: Logger, event: S3ObjectEvent, why: string): RecordOutcome {
  deps.metrics.recordRetried();
  log.error('event for an object outside the inbox: nothing is read, copied or deleted; the message goes on to the dead-letter queue', {
    eventBucket: event.bucket,
    eventKey: event.key,
    eventSource: event.source,
    inboxBucket: deps.inboxBucket,
    inboxPrefix: deps.config.inboxPrefix,
    why,
    fix:
      'check which bucket notification, SNS subscription or EventBridge rule sends to the ingest queue; ' +
      'only the inbox bucket under its prefix may; then delete the message from the dead-letter queue',
  });
  return { status: 'retry', reason: `not an inbox object: ${why}` };
}

function waitForTags(deps: IngestDependencies, log: Logger, graceEndsAt: Date): RecordOutcome {
  deps.metrics.recordRetried();
  log.info('no ingest tags yet: waiting for the producer to tag the object', { graceEndsAt: graceEndsAt.toISOString() });
  return { status: 'retry', reason: `untagged; waiting for tags until ${graceEndsAt.toISOString()}` };
}

function skip(log: Logger, reason: string, level: 'info' | 'warn' = 'info'): RecordOutcome {
  log[level](`record acknowledged without upload: ${reason}`);
  return { status: 'skipped', reason };
}
