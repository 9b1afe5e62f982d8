/**
 * One S3 object through the ingest: read, resolve, validate, claim, upload, commit, dispose.
 * Resolving and validating is `assessIngest` (assess.ts), the decision the CLI's `check` shares.
 *
 * Every failure is classified where it happens, because the same error means different things
 * at different steps: a 404 while listing a binder's folders is the producer's mistake (reject),
 * a 403 from the presigned PUT is an expired one-shot URL (retry with a fresh one), a 400 from
 * the commit is iBinder refusing this file (reject). Anything not known to be permanent is
 * transient: the record is handed back to SQS, which retries it and finally moves it to the
 * dead-letter queue, where an alarm tells an operator.
 *
 * Never throws: the outcome says what to do with the SQS message.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { CommittedVersion, DestinationMetadataValue, PreparedUpload, ResolvedTarget } from '../../shared/connectors/ibinder/index.js';
import { IBinderApiError, isIBinderError } from '../../shared/connectors/ibinder/index.js';
import { retryAfterMsOf } from '../../shared/connectors/ibinder/index.js';
import {
  LedgerConflictError,
  type ClaimedEntry,
  type ClaimLease,
  type CommitPlan,
  type KeyCommitLease,
  type LedgerEntry,
  objectVersionIdOf,
  type ObjectRef,
  type Problem,
} from '../../shared/ledger/types.js';
import { appendLogContext, runWithLogContext } from '../../shared/observability/log-context.js';
import { compareSequencers, type S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { assessIngest, targetOfPlan, type IngestAssessment } from '../../shared/connectors/ibinder/index.js';
import { disposeCommittedObject, disposeSupersededObject } from './disposition.js';
import {
  BucketMissingError,
  deleteObjectVersion,
  getObjectTags,
  headObjectVersion,
  normaliseETag,
  openObjectVersion,
  type ObjectVersionInfo,
} from './object-store.js';
import { rejectObject, type Rejection } from './rejection.js';
import type { IBinderRefusal, IngestPlan } from '../../shared/connectors/ibinder/index.js';
import type { IngestDependencies, RecordOutcome } from './types.js';

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

/** A permanent refusal by the destination at a given step, turned into a rejection. */
class PermanentRefusal extends Error {
  override readonly name = 'PermanentRefusal';
  constructor(
    readonly problems: Problem[],
    readonly ibinder: IBinderRefusal | undefined,
  ) {
    super(problems.map((p) => p.message).join('; '));
  }
}

export async function processObjectRecord(event: S3ObjectEvent, messageId: string, deps: IngestDependencies): Promise<RecordOutcome> {
  const keys = { messageId, bucket: event.bucket, key: event.key, objectVersionId: event.versionId ?? 'null' };
  // The log context carries the keys into lines of shared code (the iBinder client's retries).
  return runWithLogContext(keys, async () => {
    const log = deps.logger.createChild();
    log.appendPersistentKeys(keys);
    const step = { name: 'start' };
    try {
      return await ingest(event, messageId, deps, log, step);
    } catch (err) {
      deps.metrics.recordRetried();
      const reason = describeTransient(err);
      // A Retry-After too long to wait in this invocation becomes the message's visibility (batch.ts).
      const retryAfterMs = retryAfterMsOf(err);
      log.warn('transient failure: the record goes back to the queue and is retried', {
        step: step.name,
        reason,
        ...errorFields(err),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      });
      return {
        status: 'retry',
        reason: `${step.name}: ${reason}`,
        ...(retryAfterMs !== undefined ? { retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : {}),
      };
    }
  });
}

/** Keys learnt on the way (target, uploadId, document ids): on every later line of the record. */
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
  step: { name: string },
): Promise<RecordOutcome> {
  const { config, s3, ledger } = deps;
  // Nothing outside the inbox is ever read, copied or deleted, whatever a message names.
  if (event.bucket !== deps.inboxBucket)
    return foreignEvent(deps, log, event, `bucket ${event.bucket} is not the inbox bucket ${deps.inboxBucket}`);
  if (event.key.startsWith(config.rejectedPrefix)) return skip(log, 'the key is under the rejected prefix');
  if (!event.key.startsWith(config.inboxPrefix)) {
    return foreignEvent(deps, log, event, `key ${JSON.stringify(event.key)} is not under the inbox prefix ${config.inboxPrefix}`);
  }
  if (!event.created) return skip(log, `${event.eventName} is not an ObjectCreated event`);
  if (event.key.endsWith('/') && !event.size) return skip(log, 'a zero-byte folder marker, not a file');

  let ref: ObjectRef = unversionedUpload(event, { bucket: event.bucket, key: event.key, versionId: event.versionId }, undefined);

  // The object's head and its tags at once: two reads of one version, neither waits for the other.
  step.name = 'read object';
  let object: ObjectVersionInfo | undefined;
  let tagsRead = readTags(s3, ref);
  // A cheap early look at the key's order beside them, so that a superseded upload sends no
  // byte; the check that counts runs under the key's lease, just before the commit.
  let newestCommitRead = event.sequencer === undefined ? undefined : settledLater(ledger.committedSequencer(ref.bucket, ref.key));
  try {
    object = await headObjectVersion(s3, ref);
    if (!object && event.alternateKey !== undefined) {
      // EventBridge may send the key literally or URL-encoded: the other reading names the object.
      const alternate = { ...ref, key: event.alternateKey };
      object = await headObjectVersion(s3, alternate);
      if (object) {
        ref = alternate;
        tagsRead = readTags(s3, ref);
        if (newestCommitRead !== undefined) newestCommitRead = settledLater(ledger.committedSequencer(ref.bucket, ref.key));
        remember(log, { key: ref.key });
      }
    }
  } catch (err) {
    if (err instanceof BucketMissingError) return bucketMissing(deps, log, err);
    throw err;
  }
  if (object && ref.versionId === undefined) {
    // Unversioned: the object at the key may already be a later upload than the one this event names.
    if (event.eTag && object.eTag && normaliseETag(event.eTag) !== normaliseETag(object.eTag)) {
      return skip(
        log,
        `the upload this event names (ETag ${event.eTag}) was replaced by a later upload of the key (ETag ${object.eTag}); the later upload's own event ingests it`,
      );
    }
    ref = unversionedUpload(event, ref, object);
    remember(log, { objectVersionId: objectVersionIdOf(ref) });
  }
  if (!object) {
    step.name = 'read ledger';
    const entry = await ledger.get(ref);
    if (entry?.state === 'committed') return skip(log, 'already committed; the inbox object is gone', 'info');
    if (entry?.state === 'rejected') return skip(log, 'already rejected; the inbox object is gone', 'info');
    if (entry?.state === 'superseded') return skip(log, 'already superseded by a newer upload; the inbox object is gone', 'info');
    return skip(log, 'the object version no longer exists and the ledger has no record of it: nothing to ingest', 'warn');
  }

  step.name = 'read tags';
  const tagSet = await tagsRead;

  const assess = (): Promise<IngestAssessment> =>
    assessIngest(
      { key: ref.key, tags: tagSet, sizeBytes: object.size, lastModified: object.lastModified, now: deps.now() },
      {
        config,
        folders: deps.folders,
        schemas: deps.schemas,
        onStep: (next) => {
          if (next.name === 'read metadata schema') remember(log, { binderId: next.binderId, folderId: next.folderId });
          step.name = next.name;
        },
      },
    );

  // The decision `check` shares (tags, target, schema, validation), made before the claim and
  // without reading the ledger first: the claim itself returns what the ledger holds. Only when
  // the decision would end the record without a claim (waiting for tags, or a failed read) is the
  // ledger read, because an upload whose bytes were sent must be resumed with its stored plan
  // (the destination may already hold the file): re-assessing the current tags must not stop it.
  let assessment: IngestAssessment | undefined;
  let assessmentFailure: { error: unknown; step: string } | undefined;
  try {
    assessment = await assess();
  } catch (err) {
    assessmentFailure = { error: err, step: step.name };
  }
  if (assessmentFailure !== undefined || assessment?.kind === 'wait') {
    step.name = 'read ledger';
    const known = await ledger.get(ref);
    const finished = known !== undefined && known.state !== 'claimed';
    if (resumablePlan(known) === undefined && !finished) {
      if (assessment?.kind === 'wait') return waitForTags(deps, log, assessment.graceEndsAt);
      step.name = assessmentFailure?.step ?? step.name;
      throw assessmentFailure?.error;
    }
    // The claim below finds the finished entry or the stored plan; the current tags do not count.
    assessment = undefined;
  }

  // Claimed before anything is written, a rejection too: a consumer that loses the object to
  // another one (which may be committing it) must not leave a rejected copy behind.
  step.name = 'claim';
  const claim = await ledger.claim(ref, messageId);
  // A redelivered or duplicated event for a finished object: finish its disposal and stop.
  if (claim.outcome === 'committed') {
    remember(log, { documentId: claim.entry.documentId, documentVersionId: claim.entry.documentVersionId });
    step.name = 'dispose';
    await disposeCommittedObject(
      s3,
      log,
      ref,
      config.disposition,
      { connector: 'ibinder', ids: { documentId: claim.entry.documentId, versionId: claim.entry.documentVersionId } },
      tagSet,
    );
    return skip(log, 'duplicate delivery: already committed, no second version created', 'info');
  }
  if (claim.outcome === 'rejected') {
    step.name = 'dispose';
    // The ledger is written after the rejected copy and before the delete: finish a rejection that crashed in between.
    await deleteObjectVersion(s3, ref);
    return skip(log, 'duplicate delivery: already rejected', 'info');
  }
  if (claim.outcome === 'superseded') {
    step.name = 'dispose';
    await disposeSupersededObject(s3, log, ref, config.disposition, tagSet);
    return skip(log, 'duplicate delivery: already superseded by a newer upload of the key', 'info');
  }
  if (claim.outcome === 'busy') {
    deps.metrics.recordRetried();
    const until = claim.entry ? new Date(claim.entry.leaseExpiresAt).toISOString() : 'unknown';
    log.info('another consumer is uploading this object; retrying later', { leaseOwner: claim.entry?.owner, leaseExpiresAt: until });
    return { status: 'retry', reason: `busy: claimed by message ${claim.entry?.owner ?? 'unknown'} until ${until}` };
  }
  const { lease, entry } = claim;

  /** Records this upload as superseded by a newer committed one and disposes of it; no commit. */
  const supersede = async (sequencer: string, newerSequencer: string): Promise<RecordOutcome> => {
    step.name = 'record superseded';
    await ledger.markSuperseded(ref, lease, { sequencer, newerSequencer });
    deps.metrics.fileSuperseded?.();
    log.warn('an older upload of the key arrived after a newer one was committed: recorded as superseded, not committed', {
      sequencer,
      newerSequencer,
      disposition: config.disposition,
    });
    step.name = 'dispose';
    await disposeSupersededObject(s3, log, ref, config.disposition, tagSet);
    return { status: 'superseded', sequencer, newerSequencer };
  };

  if (event.sequencer !== undefined && newestCommitRead !== undefined) {
    step.name = 'read key order';
    const newer = await newestCommitRead;
    if (newer !== undefined && compareSequencers(newer, event.sequencer) > 0) return supersede(event.sequencer, newer);
  }

  /**
   * Commits under the key's commit lease, in sequencer order: a newer upload already recorded
   * means this one is superseded; otherwise this upload's sequencer is recorded first (so that an
   * older upload arriving while the commit runs is superseded, not committed after it), then the
   * commit runs. A commit refused for good takes the record back. Without a sequencer (hand-made
   * events) there is no order to keep: the commit runs as before.
   */
  /** The key's commit lease after a successful commit: given up with the commit record. */
  let committedKeyLease: KeyCommitLease | undefined;
  const commitInOrder = async (plan: CommitPlan, uploadId: string): Promise<CommittedVersion> => {
    const sequencer = event.sequencer;
    if (sequencer === undefined) return commit(deps, plan, uploadId, step);
    step.name = 'take key commit lease';
    // The lease and this upload's sequencer in one write; a newer upload recorded means superseded.
    const acquired = await ledger.acquireKeyCommitInOrder(ref.bucket, ref.key, messageId, sequencer);
    if (acquired.outcome === 'busy') {
      const until = acquired.leaseExpiresAt !== undefined ? new Date(acquired.leaseExpiresAt).toISOString() : 'unknown';
      throw new KeyCommitBusyError(
        `another upload of s3://${ref.bucket}/${ref.key} is being committed (message ${acquired.owner ?? 'unknown'}, lease until ${until}); this one is committed after it`,
      );
    }
    if (acquired.outcome === 'superseded') throw new SupersededByNewerUpload(acquired.newerSequencer);
    const release = (): Promise<void> =>
      ledger.releaseKeyCommit(acquired.lease).catch((err: unknown) => {
        log.warn('could not release the key commit lease; it expires by itself', { reason: describeTransient(err) });
      });
    try {
      const committed = await commit(deps, plan, uploadId, step);
      // Given up with the ledger's record of the commit, in the same call where DynamoDB can.
      committedKeyLease = acquired.lease;
      return committed;
    } catch (err) {
      if (err instanceof PermanentRefusal) await ledger.restoreCommittedSequencer(acquired.lease, sequencer, acquired.previousSequencer);
      await release();
      throw err;
    }
  };

  const reject = (problems: Problem[], extra: Partial<Rejection> = {}): Promise<RecordOutcome> => {
    step.name = 'reject';
    return rejectObject(deps, log, { ref, lease, object, tags: tagSet, problems, ...extra });
  };

  /** The current tags' plan, or the outcome (wait, reject under our claim) that ends the record. */
  const assessedPlan = async (): Promise<{ plan: CommitPlan; target: Rejection['target'] } | { outcome: RecordOutcome }> => {
    assessment ??= await assess();
    if (assessment.kind === 'wait') return { outcome: waitForTags(deps, log, assessment.graceEndsAt) };
    if (assessment.kind === 'accept') {
      return { plan: commitPlanOf(assessment.plan, assessment.additionalMetadata), target: targetOfPlan(assessment.plan) };
    }
    // The report names a target once one resolved; a half-known one (a binder without a folder) is left out.
    switch (assessment.cause) {
      case 'untagged':
        return { outcome: await reject(assessment.problems) };
      case 'unresolved-target':
        return { outcome: await reject(assessment.problems, { ibinder: assessment.ibinder }) };
      case 'unknown-binder':
        return { outcome: await reject(assessment.problems, { target: targetOfPlan(assessment.plan), ibinder: assessment.ibinder }) };
      case 'invalid-request':
        return { outcome: await reject(assessment.problems, { target: targetOfPlan(assessment.plan) }) };
      case 'not-allowed':
        return { outcome: await reject(assessment.problems, { target: assessment.target }) };
    }
  };

  // The claim may hold a stored plan the first read did not see (taken over from a consumer that
  // died), or none although the first read saw one (another consumer replaced the upload since).
  const storedPlan = resumablePlan(entry);
  if (storedPlan !== undefined) {
    log.info('the bytes were sent before: resuming with the stored commit plan; the current tags do not count', {
      storedPlan: describePlan(storedPlan),
    });
  }
  let freshPlan: CommitPlan | undefined;
  let target: Rejection['target'];
  if (storedPlan === undefined) {
    const assessed = await assessedPlan();
    if ('outcome' in assessed) return assessed.outcome;
    freshPlan = assessed.plan;
    target = assessed.target;
  } else {
    target = targetOfCommitPlan(storedPlan);
  }

  const started = Date.now();
  let committed: CommittedVersion;
  // The plan the version was actually committed with: the stored one on a resume.
  let committedPlan: CommitPlan;
  let resumed = false;
  try {
    const resumePlan = entry.uploadId !== undefined && entry.transferred ? (storedPlan ?? freshPlan) : undefined;
    if (entry.uploadId !== undefined && resumePlan !== undefined) {
      resumed = true;
      remember(log, { uploadId: entry.uploadId });
      log.info('resuming: the bytes were transferred before; committing the stored upload', { attempts: entry.attempts });
      // iBinder binds an upload to its first commit's folder and name (another one is a 409), and
      // that commit may have gone through before the crash: repeat the plan stored with the upload.
      if (storedPlan === undefined) {
        log.info('the stored upload has no commit plan (recorded before plans were stored): committing with the current tags');
      } else if (freshPlan !== undefined && !sameCommitPlan(storedPlan, freshPlan)) {
        // Only for an entry whose plan appeared between the first read and the claim.
        log.warn(
          'the tags changed after the bytes were sent: the file is committed where it was first resolved; a person can move or rename it in iBinder',
          { storedPlan: describePlan(storedPlan), currentPlan: describePlan(freshPlan) },
        );
      }
      try {
        committed = await commitInOrder(resumePlan, entry.uploadId);
        committedPlan = resumePlan;
      } catch (err) {
        if (!(err instanceof PermanentRefusal)) throw err;
        // Refused with its own plan, the stored upload was never committed (it expired at the
        // destination): the file is new to iBinder, so the current tags decide, and the bytes are sent once more.
        log.warn('the stored upload could not be committed; uploading again', { problems: err.problems });
        if (freshPlan === undefined) {
          const assessed = await assessedPlan();
          if ('outcome' in assessed) return assessed.outcome;
          freshPlan = assessed.plan;
          target = assessed.target;
        }
        committedPlan = freshPlan;
        committed = await uploadAndCommit(deps, log, ref, lease, object, freshPlan, entry, step, commitInOrder);
      }
    } else if (freshPlan !== undefined) {
      committedPlan = freshPlan;
      committed = await uploadAndCommit(deps, log, ref, lease, object, freshPlan, entry, step, commitInOrder);
    } else {
      // Unreachable: without a stored plan the assessment ran and gave a fresh one.
      throw new Error(`no commit plan for ${ref.key}: neither a stored one nor an assessed one`);
    }
  } catch (err) {
    if (err instanceof PermanentRefusal) return reject(err.problems, { target, ibinder: err.ibinder });
    if (err instanceof SupersededByNewerUpload && event.sequencer !== undefined) return supersede(event.sequencer, err.newerSequencer);
    throw err;
  }
  const durationMs = Date.now() - started;
  remember(log, { documentId: committed.documentId, documentVersionId: committed.versionId });

  step.name = 'record commit';
  const commitRecord = {
    documentId: committed.documentId,
    documentVersionId: committed.versionId,
    versionLabel: committed.version,
    binderId: committedPlan.binderId,
    folderId: committedPlan.folderId,
  };
  try {
    if (committedKeyLease === undefined) await ledger.markCommitted(ref, lease, commitRecord);
    else await ledger.markCommittedReleasingKeyCommit(ref, lease, commitRecord, committedKeyLease);
  } catch (err) {
    // Whatever became of the record, the key's commit step is over: other uploads of the key need not wait for the lease to expire.
    if (committedKeyLease !== undefined) await ledger.releaseKeyCommit(committedKeyLease).catch(() => undefined);
    const recorded = err instanceof LedgerConflictError ? err.current : undefined;
    if (recorded?.state === 'committed' && recorded.documentVersionId !== committed.versionId) {
      // Should not happen with claim tokens; if it does, a person has to remove one version.
      log.error('a second document version was created for one object version: the ledger records another one', {
        recordedDocumentId: recorded.documentId,
        recordedDocumentVersionId: recorded.documentVersionId,
        surplusDocumentId: committed.documentId,
        surplusDocumentVersionId: committed.versionId,
        fix: 'check both versions in iBinder and remove the surplus one',
      });
    }
    throw err;
  }
  deps.metrics.fileIngested(object.size, durationMs);
  log.info('file ingested as a new document version', { sizeBytes: object.size, durationMs, resumed, fileName: committedPlan.fileName });

  step.name = 'dispose';
  await disposeCommittedObject(
    s3,
    log,
    ref,
    config.disposition,
    { connector: 'ibinder', ids: { documentId: committed.documentId, versionId: committed.versionId } },
    tagSet,
  );
  return { status: 'committed', documentId: committed.documentId, documentVersionId: committed.versionId, resumed };
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
 * The stored plan of an entry whose bytes were sent: the destination may already have
 * committed them, so the entry must be resumed with this plan, never re-assessed or rejected.
 */
function resumablePlan(entry: LedgerEntry | undefined): CommitPlan | undefined {
  if (entry?.state !== 'claimed' || !entry.transferred || entry.uploadId === undefined) return undefined;
  return entry.commitPlan;
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

async function uploadAndCommit(
  deps: IngestDependencies,
  log: Logger,
  ref: ObjectRef,
  lease: ClaimLease,
  object: ObjectVersionInfo,
  plan: CommitPlan,
  claim: ClaimedEntry,
  step: { name: string },
  commitUpload: (plan: CommitPlan, uploadId: string) => Promise<CommittedVersion>,
): Promise<CommittedVersion> {
  // A presigned URL is one-shot and is never stored, so any upload that did not finish starts over.
  step.name = 'presign';
  let upload: PreparedUpload;
  try {
    upload = await deps.destination.prepareUpload();
  } catch (err) {
    // Not the file's fault, whatever the status: permissions or an outage are operator problems.
    throw transientFrom(err);
  }
  remember(log, { uploadId: upload.uploadId });
  if (claim.uploadId !== undefined) log.info('replacing an unfinished upload', { previousUploadId: claim.uploadId });

  step.name = 'record upload';
  await deps.ledger.recordUpload(ref, lease, upload.uploadId, plan);

  step.name = 'transfer';
  // A factory, not a stream: each attempt of the transfer re-opens the version from its start.
  const openBody = async () => (await openObjectVersion(deps.s3, ref)).body;
  try {
    await deps.destination.transfer(
      upload,
      { openBody, contentLength: object.size, contentType: object.contentType },
      {
        // The destination replaced a refused (expired or used) URL: record its upload id like the first.
        onNewUpload: async (next) => {
          upload = next;
          remember(log, { uploadId: next.uploadId });
          await deps.ledger.recordUpload(ref, lease, next.uploadId, plan);
        },
      },
    );
  } catch (err) {
    // A PUT still refused after the destination's own retries is not a bad file: retry the record.
    throw transientFrom(err);
  }

  step.name = 'record transfer';
  await deps.ledger.markTransferred(ref, lease, upload.uploadId);
  return commitUpload(plan, upload.uploadId);
}

/** What a commit needs from a resolved and validated request; stored with the upload id. */
function commitPlanOf(plan: IngestPlan, additionalMetadata: DestinationMetadataValue[]): CommitPlan {
  return {
    binderId: plan.target.binderId,
    folderId: plan.target.folderId,
    folderPath: plan.target.folderPath,
    fileName: plan.fileName,
    version: plan.version,
    metadata: additionalMetadata.map((m) => ({ metadataElementId: m.metadataElementId, value: m.value })),
  };
}

/** Same destination, name, version label and metadata values (in any order); the path is only a label. */
function sameCommitPlan(a: CommitPlan, b: CommitPlan): boolean {
  const key = (p: CommitPlan) =>
    JSON.stringify([
      p.binderId,
      p.folderId,
      p.fileName,
      p.version ?? null,
      p.metadata.map((m) => JSON.stringify([m.metadataElementId, m.value])).sort(),
    ]);
  return key(a) === key(b);
}

/** A plan for a log line: where, under which name and version label, with which metadata value ids. */
function describePlan(p: CommitPlan): Record<string, unknown> {
  return {
    binderId: p.binderId,
    folderId: p.folderId,
    folderPath: p.folderPath,
    fileName: p.fileName,
    version: p.version,
    metadata: Object.fromEntries(p.metadata.map((m) => [m.metadataElementId, m.value])),
  };
}

function targetOfCommitPlan(plan: CommitPlan): ResolvedTarget {
  return { binderId: plan.binderId, folderId: plan.folderId, folderPath: plan.folderPath };
}

async function commit(deps: IngestDependencies, plan: CommitPlan, uploadId: string, step: { name: string }): Promise<CommittedVersion> {
  step.name = 'commit';
  try {
    return await deps.destination.commit(targetOfCommitPlan(plan), {
      fileName: plan.fileName,
      version: plan.version,
      uploadId,
      metadata: plan.metadata,
    });
  } catch (err) {
    if (err instanceof IBinderApiError && err.kind === 'permanent') {
      throw new PermanentRefusal(commitProblems(err, plan), refusalOf(err));
    }
    throw err;
  }
}

/** iBinder's refusal of a commit as problems a person can act on, one per field error. */
function commitProblems(err: IBinderApiError, plan: CommitPlan): Problem[] {
  const trace = err.traceId ? ` (traceId ${err.traceId})` : '';
  const where = `binder ${plan.binderId}, folder ${plan.folderPath ?? plan.folderId}`;
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
        code: 'ibinder',
        field: 'ibinder',
        message: `iBinder refused the upload into ${where}: ${err.status}${err.title ? ` ${err.title}` : ''}${trace}`,
        fix,
      },
    ];
  }
  return entries.map(([field, messages]) => ({
    code: 'ibinder',
    field: `ibinder:${field}`,
    message: `iBinder refused the upload into ${where}: ${field}: ${messages.join(' ')}${trace}`,
    fix,
  }));
}

function refusalOf(err: IBinderApiError): IBinderRefusal {
  return { status: err.status, title: err.title, traceId: err.traceId };
}

/** Marks an error as transient for this step, keeping it as the cause. */
function transientFrom(err: unknown): Error {
  if (err instanceof Error && !(err instanceof IBinderApiError && err.kind === 'permanent')) return err;
  const wrapped = new Error(`${describeTransient(err)} (treated as transient at this step)`, { cause: err });
  wrapped.name = 'TransientStepError';
  return wrapped;
}

function skip(log: Logger, reason: string, level: 'info' | 'warn' = 'info'): RecordOutcome {
  log[level](`record acknowledged without upload: ${reason}`);
  return { status: 'skipped', reason };
}

function describeTransient(err: unknown): string {
  if (err instanceof LedgerConflictError || err instanceof KeyCommitBusyError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

/** Log fields of an error: name, status, traceId; never a URL's query string (errors carry none). */
function errorFields(err: unknown): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const cause = err instanceof Error && err.name === 'TransientStepError' ? err.cause : err;
  if (cause instanceof Error) fields.errorName = cause.name;
  if (isIBinderError(cause)) {
    fields.errorKind = cause.kind;
    fields.request = `${cause.request.method} ${cause.request.path}`;
  }
  if (cause instanceof IBinderApiError) {
    fields.status = cause.status;
    if (cause.traceId) fields.traceId = cause.traceId;
  }
  const status = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined) fields.status = status;
  return fields;
}
