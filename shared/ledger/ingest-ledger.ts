/**
 * The ingest ledger over DynamoDB: the record that makes ingest exactly-once in effect.
 *
 * One item per object version (`pk` = `${bucket}/${key}#${versionId}`, or `#null:<upload id>` for
 * an upload of an unversioned key), moving claimed -> committed, rejected or superseded; and one
 * item per key (`pk` = `key#${bucket}#${key}`) with the newest committed event sequencer and the
 * key's short commit lease, so that an older upload never commits after a newer one. Every state change is a conditional write, so two
 * consumers never upload the same object at once and a redelivered event for a finished object
 * is recognised. Only standard DynamoDB features are used (UpdateItem with ConditionExpression,
 * TransactWriteItems for writes that go together, consistent GetItem, a TTL attribute); against
 * an endpoint without transactions (dynalite alone; the local stack puts a transactions front
 * before it) each transaction becomes one conditional write per item, in an order that keeps
 * the guarantees (the claim or the transfer's record first).
 *
 * The lease owner is the SQS messageId. A redelivery of the same message may take its own
 * claim over at once: SQS only redelivers after the visibility timeout, which the stack sets to
 * several times the function timeout. But a standard queue may also deliver one message to two
 * invocations at the same time, and the owner cannot tell those apart; so every successful
 * claim writes a random claim token, and every later write is conditional on it. Of two
 * claimants, the later one's token is stored and the earlier one fails at its next write
 * (LedgerConflictError, transient for the caller), before it sends or commits anything more.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { compareSequencers } from '../s3/event.js';
import { AllOrNothingWriter, conditionalUpdateItem } from '../export/all-or-nothing-writes.js';
import { conditionalUpdate } from './conditional-write.js';
import {
  keyOrderKey,
  LedgerConflictError,
  ledgerKey,
  objectVersionIdOf,
  type KeyCommitLease,
  type KeyCommitLeaseResult,
  type KeyCommitInOrderResult,
  type KeyOrderRequest,
  type ClaimedEntry,
  type ClaimLease,
  type ClaimResult,
  type CommitPlan,
  type CommitRecord,
  committedVersionOf,
  describeCommittedVersion,
  type IngestLedgerStore,
  sameCommittedVersion,
  type LedgerEntry,
  type ObjectRef,
  type Problem,
  type TransferRecorded,
  type TransferredClaimResult,
  type TransferredUpload,
} from './types.js';

export interface IngestLedgerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a claim is held before another consumer may take it over (s). */
  leaseSeconds: number;
  /** How long finished entries are kept before DynamoDB's TTL removes them (days). Default 90. */
  retentionDays?: number;
  /** Epoch milliseconds; injected by tests. */
  now?: () => number;
  /** A fresh claim token; injected by tests. Default crypto.randomUUID. */
  newClaimToken?: () => string;
}

const optionalString = lazySchema(() =>
  z.pipe(
    z.nullish(z.string()),
    z.transform((v) => v ?? undefined),
  ),
);

const ProblemSchema = lazySchema(() =>
  z.object({
    code: z.enum(['tags', 'untagged', 'target', 'not-allowed', 'metadata', 'file-name', 'empty-file', 'too-large', 'refused', 'ibinder']),
    field: z.string(),
    message: z.string(),
    fix: z.string(),
  }),
);

const idMap = () => z.record(z.string(), z.string());

/** A stored commit plan (shared/connectors/types.ts, CommitPlan), in its connector's terms. */
const CommitPlanSchema = lazySchema(() =>
  z.object({
    connector: z.enum(['ibinder', 'bynder']),
    fileName: z.string().check(z.minLength(1)),
    target: idMap(),
    labels: z.optional(idMap()),
    version: optionalString,
    metadata: z.array(z.object({ id: z.string().check(z.minLength(1)), value: z.string() })),
    options: z.optional(idMap()),
  }),
);

const CommitStartedSchema = lazySchema(() =>
  z.object({
    uploadId: z.string(),
    at: z.string(),
    context: z.optional(idMap()),
  }),
);

const BaseSchema = lazySchema(() =>
  z.object({
    pk: z.string(),
    bucket: z.string(),
    objectKey: z.string(),
    objectVersionId: z.string(),
    updatedAt: z.string(),
    expiresAt: z.number(),
  }),
);

/** Items are read back through zod: a hand-edited or older item fails with a clear message. */
const LedgerEntrySchema = lazySchema(() =>
  z.discriminatedUnion('state', [
    z.extend(BaseSchema, {
      state: z.literal('claimed'),
      owner: z.string(),
      claimToken: optionalString,
      leaseExpiresAt: z.number(),
      attempts: z.int(),
      claimedAt: z.string(),
      uploadId: optionalString,
      transferred: z._default(z.boolean(), false),
      commitPlan: z.pipe(
        z.nullish(CommitPlanSchema),
        z.transform((v) => v ?? undefined),
      ),
      connector: z.pipe(
        z.nullish(z.enum(['ibinder', 'bynder'])),
        z.transform((v) => v ?? undefined),
      ),
      commitStarted: z.pipe(
        z.nullish(CommitStartedSchema),
        z.transform((v) => v ?? undefined),
      ),
    }),
    z.extend(BaseSchema, {
      state: z.literal('committed'),
      committedAt: z.string(),
      connector: z.enum(['ibinder', 'bynder']),
      versionIds: idMap(),
      versionLabel: optionalString,
      target: z.optional(idMap()),
      uploadId: optionalString,
    }),
    z.extend(BaseSchema, {
      state: z.literal('rejected'),
      rejectedAt: z.string(),
      reasons: z.array(ProblemSchema),
      rejectedKey: optionalString,
    }),
    z.extend(BaseSchema, {
      state: z.literal('superseded'),
      supersededAt: z.string(),
      sequencer: z.string(),
      newerSequencer: z.string(),
    }),
  ]),
);

/** A key's commit order item (see KeyOrderStore). */
const KeyOrderSchema = lazySchema(() =>
  z.object({
    pk: z.string(),
    committedSequencer: optionalString,
    leaseOwner: optionalString,
    leaseToken: optionalString,
    leaseExpiresAt: z.pipe(
      z.nullish(z.number()),
      z.transform((v) => v ?? undefined),
    ),
  }),
);

/** Attribute names used in expressions; several (`state`, `owner`, `key`) are reserved words. */
const NAMES = {
  '#pk': 'pk',
  '#state': 'state',
  '#owner': 'owner',
  '#claimToken': 'claimToken',
  '#lease': 'leaseExpiresAt',
  '#updatedAt': 'updatedAt',
  '#expiresAt': 'expiresAt',
} as const;

/** Attribute names of the key order item; none of them is an index key, so it stays out of the object index. */
const KEY_ORDER_NAMES = {
  '#committedSequencer': 'committedSequencer',
  '#leaseOwner': 'leaseOwner',
  '#leaseToken': 'leaseToken',
  '#leaseExpiresAt': 'leaseExpiresAt',
  '#updatedAt': 'updatedAt',
  '#expiresAt': 'expiresAt',
} as const;

/** Writes tried for the key's lease and order before another upload's commit counts as busy. */
const KEY_ORDER_ATTEMPTS = 3;

export class IngestLedger implements IngestLedgerStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly leaseMs: number;
  private readonly retentionSeconds: number;
  private readonly now: () => number;
  private readonly newClaimToken: () => string;
  /** Transactions where the endpoint has them; remembers a local server that has none. */
  private readonly transactions: AllOrNothingWriter;

  constructor(options: IngestLedgerOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.leaseMs = options.leaseSeconds * 1000;
    this.retentionSeconds = (options.retentionDays ?? 90) * 86_400;
    this.now = options.now ?? Date.now;
    this.newClaimToken = options.newClaimToken ?? randomUUID;
    this.transactions = new AllOrNothingWriter(options.client);
  }

  async get(ref: ObjectRef): Promise<LedgerEntry | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: ledgerKey(ref) }, ConsistentRead: true }));
    return this.parseEntry(ref, out.Item);
  }

  /** An item read back (or returned by a failed write) through the entry schema, with a message that names it. */
  private parseEntry(ref: ObjectRef, item: Record<string, unknown> | undefined): LedgerEntry | undefined {
    if (!item) return undefined;
    const parsed = LedgerEntrySchema.safeParse(item);
    if (!parsed.success) {
      throw new Error(
        `ledger item ${ledgerKey(ref)} in table ${this.tableName} is not a valid ingest ledger entry: ` +
          parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    return parsed.data;
  }

  /**
   * Takes the object for upload. Succeeds when there is no item, when the item is a claim whose
   * lease expired, or when the caller already owns the claim; a taken-over claim keeps its
   * uploadId and transferred flag so that the new owner resumes instead of uploading again.
   * Every success writes a fresh claim token, so the writes of an earlier claimant with the same
   * owner (a concurrent duplicate delivery, or an invocation that was given up on) fail.
   */
  async claim(ref: ObjectRef, owner: string): Promise<ClaimResult> {
    const now = this.now();
    const token = this.newClaimToken();
    // A failed condition returns the item as it is (ALL_OLD): no second read to say why.
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update:
        'SET #state = :claimed, #owner = :owner, #claimToken = :claimToken, #lease = :lease, #updatedAt = :nowIso, #expiresAt = :ttl, ' +
        '#bucket = :bucket, #objectKey = :objectKey, #objectVersionId = :objectVersionId, ' +
        '#attempts = if_not_exists(#attempts, :zero) + :one, #claimedAt = if_not_exists(#claimedAt, :nowIso), ' +
        '#transferred = if_not_exists(#transferred, :false)',
      condition: 'attribute_not_exists(#pk) OR (#state = :claimed AND (#lease < :now OR #owner = :owner))',
      names: {
        ...NAMES,
        '#bucket': 'bucket',
        '#objectKey': 'objectKey',
        '#objectVersionId': 'objectVersionId',
        '#attempts': 'attempts',
        '#claimedAt': 'claimedAt',
        '#transferred': 'transferred',
      },
      values: {
        ':claimed': 'claimed',
        ':owner': owner,
        ':claimToken': token,
        ':lease': now + this.leaseMs,
        ':now': now,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ':bucket': ref.bucket,
        ':objectKey': ref.key,
        ':objectVersionId': objectVersionIdOf(ref),
        ':zero': 0,
        ':one': 1,
        ':false': false,
      },
    });
    if (result.ok) {
      const entry = LedgerEntrySchema.parse(result.item);
      if (entry.state !== 'claimed') throw new Error(`ledger claim of ${ledgerKey(ref)} returned state ${entry.state}`);
      return { outcome: 'claimed', entry, lease: { owner, token } };
    }
    const current = this.parseEntry(ref, result.current);
    if (current?.state === 'committed') return { outcome: 'committed', entry: current };
    if (current?.state === 'rejected') return { outcome: 'rejected', entry: current };
    if (current?.state === 'superseded') return { outcome: 'superseded', entry: current };
    return { outcome: 'busy', entry: current };
  }

  /**
   * The upload id, its plan and connector, and the transferred mark in one update, after the
   * transfer: a stored upload id always has the plan it was meant for and its bytes were sent
   * (an upload that did not finish leaves nothing, and starts over). A "commit under way" mark
   * of an earlier upload goes.
   */
  async markTransferred(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload): Promise<void> {
    const write = this.transferredWrite(ref, lease, upload);
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, write);
    if (!result.ok) throw this.lostClaim(ref, lease, result.current, `record upload ${upload.uploadId} as transferred`);
  }

  /**
   * The transfer's record and the key's commit lease with this upload's sequencer in one
   * transaction (they were two writes one after the other); see IngestLedgerStore.recordTransfer.
   */
  async recordTransfer(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload, order: KeyOrderRequest): Promise<TransferRecorded> {
    const result = await this.writeWithKeyOrder(ref, this.transferredWrite(ref, lease, upload), order);
    if (!result.ok) throw this.lostClaim(ref, lease, result.current, `record upload ${upload.uploadId} as transferred`);
    return { keyOrder: result.keyOrder };
  }

  /**
   * The claim of a new object, already transferred, and the key's commit order in one
   * transaction; see IngestLedgerStore.claimTransferred. The condition is that no item exists:
   * every other case (a claim, a stored plan, a finished object) goes through `claim`.
   */
  async claimTransferred(
    ref: ObjectRef,
    owner: string,
    upload: TransferredUpload,
    order?: KeyOrderRequest,
  ): Promise<TransferredClaimResult> {
    const now = this.now();
    const token = this.newClaimToken();
    const write = this.claimTransferredWrite(ref, owner, token, upload, now);
    const result = order === undefined ? await this.singleWrite(write) : await this.writeWithKeyOrder(ref, write, order);
    if (!result.ok) return { outcome: 'known', entry: this.parseEntry(ref, result.current) };
    const entry: ClaimedEntry = {
      pk: ledgerKey(ref),
      bucket: ref.bucket,
      objectKey: ref.key,
      objectVersionId: objectVersionIdOf(ref),
      updatedAt: new Date(now).toISOString(),
      expiresAt: this.ttl(now),
      state: 'claimed',
      owner,
      claimToken: token,
      leaseExpiresAt: now + this.leaseMs,
      attempts: 1,
      claimedAt: new Date(now).toISOString(),
      uploadId: upload.uploadId,
      transferred: true,
      commitPlan: upload.plan,
      connector: upload.plan.connector,
      commitStarted: undefined,
    };
    return { outcome: 'claimed', lease: { owner, token }, entry, ...(result.keyOrder !== undefined ? { keyOrder: result.keyOrder } : {}) };
  }

  /** The update that records a transferred upload under the caller's claim. */
  private transferredWrite(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload): UpdateParts {
    const held = claimCondition(lease);
    return {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update:
        'SET #uploadId = :uploadId, #transferred = :true, #commitPlan = :commitPlan, #connector = :connector, #updatedAt = :nowIso ' +
        'REMOVE #commitStarted',
      condition: `#state = :claimed AND ${held.expression}`,
      names: {
        ...pick(NAMES, '#state', '#updatedAt'),
        ...held.names,
        '#uploadId': 'uploadId',
        '#transferred': 'transferred',
        '#commitPlan': 'commitPlan',
        '#connector': 'connector',
        '#commitStarted': 'commitStarted',
      },
      values: {
        ':claimed': 'claimed',
        ...held.values,
        ':uploadId': upload.uploadId,
        ':true': true,
        ':commitPlan': storedPlan(upload.plan),
        ':connector': upload.plan.connector,
        ':nowIso': new Date(this.now()).toISOString(),
      },
    };
  }

  /** The update that claims an object no entry exists for, with its transferred upload. */
  private claimTransferredWrite(ref: ObjectRef, owner: string, token: string, upload: TransferredUpload, now: number): UpdateParts {
    return {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update:
        'SET #state = :claimed, #owner = :owner, #claimToken = :claimToken, #lease = :lease, #updatedAt = :nowIso, #expiresAt = :ttl, ' +
        '#bucket = :bucket, #objectKey = :objectKey, #objectVersionId = :objectVersionId, #attempts = :one, #claimedAt = :nowIso, ' +
        '#uploadId = :uploadId, #transferred = :true, #commitPlan = :commitPlan, #connector = :connector',
      condition: 'attribute_not_exists(#pk)',
      names: {
        ...NAMES,
        '#bucket': 'bucket',
        '#objectKey': 'objectKey',
        '#objectVersionId': 'objectVersionId',
        '#attempts': 'attempts',
        '#claimedAt': 'claimedAt',
        '#uploadId': 'uploadId',
        '#transferred': 'transferred',
        '#commitPlan': 'commitPlan',
        '#connector': 'connector',
      },
      values: {
        ':claimed': 'claimed',
        ':owner': owner,
        ':claimToken': token,
        ':lease': now + this.leaseMs,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ':bucket': ref.bucket,
        ':objectKey': ref.key,
        ':objectVersionId': objectVersionIdOf(ref),
        ':one': 1,
        ':uploadId': upload.uploadId,
        ':true': true,
        ':commitPlan': storedPlan(upload.plan),
        ':connector': upload.plan.connector,
      },
    };
  }

  /** One conditional update; a failure carries the item as it is. */
  private async singleWrite(
    write: UpdateParts,
  ): Promise<{ ok: true; keyOrder?: undefined } | { ok: false; current: Record<string, unknown> | undefined }> {
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, write);
    return result.ok ? { ok: true } : { ok: false, current: result.current };
  }

  /**
   * `own` (a write to the object's entry) and the key's commit lease with `order.sequencer` in
   * one transaction. The first try expects no committed sequencer (a key's first upload, the
   * common case); a cancellation returns the items as they are (ALL_OLD) and says which
   * condition failed: the entry's (`ok: false`, nothing written), or the key's: busy or a newer
   * sequencer (then `own` is written alone and the answer says so), or an older sequencer (tried
   * again, expecting it). Without transactions (a local server), `own` first, then the key.
   */
  private async writeWithKeyOrder(
    ref: ObjectRef,
    own: UpdateParts,
    order: KeyOrderRequest,
  ): Promise<{ ok: true; keyOrder: KeyCommitInOrderResult } | { ok: false; current: Record<string, unknown> | undefined }> {
    const { bucket, key } = ref;
    const pk = keyOrderKey(bucket, key);
    let expected: string | undefined;
    for (let attempt = 0; attempt < KEY_ORDER_ATTEMPTS; attempt += 1) {
      const now = this.now();
      const token = this.newClaimToken();
      const keyWrite = this.keyOrderWrite(pk, order, token, expected, now);
      const result = await this.transactions.write([
        conditionalUpdateItem({ ...own, returnCurrentOnFailure: true }),
        conditionalUpdateItem({ ...keyWrite, returnCurrentOnFailure: true }),
      ]);
      if (result.kind === 'written') {
        return {
          ok: true,
          keyOrder: { outcome: 'acquired', lease: { bucket, key, owner: order.owner, token }, previousSequencer: expected },
        };
      }
      if (result.kind === 'unsupported') break;
      if (result.failedIndexes.includes(0)) {
        const current = result.currentItems?.[0] ?? (await this.readItem(own.key));
        return { ok: false, current };
      }
      const keyItem = this.parseKeyOrder(pk, result.currentItems?.[1] ?? (await this.readItem({ pk })));
      const answer = keyOrderAnswer(keyItem, order, now);
      if (answer !== undefined) {
        // Busy, or a newer upload is recorded: the transfer is recorded all the same (a redelivery resumes without sending it again).
        const alone = await this.singleWrite(own);
        return alone.ok ? { ok: true, keyOrder: answer } : alone;
      }
      expected = keyItem?.committedSequencer;
    }
    const alone = await this.singleWrite(own);
    if (!alone.ok) return alone;
    return { ok: true, keyOrder: await this.acquireKeyCommitInOrder(bucket, key, order.owner, order.sequencer) };
  }

  /** The key's commit lease and `order.sequencer` as its newest commit, if the lease is free (or the owner's) and the key records `expected`. */
  private keyOrderWrite(pk: string, order: KeyOrderRequest, token: string, expected: string | undefined, now: number): UpdateParts {
    return {
      tableName: this.tableName,
      key: { pk },
      update:
        'SET #leaseOwner = :owner, #leaseToken = :token, #leaseExpiresAt = :expires, #committedSequencer = :sequencer, ' +
        '#updatedAt = :nowIso, #expiresAt = :ttl',
      condition:
        '(attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now OR #leaseOwner = :owner) AND ' +
        (expected === undefined ? 'attribute_not_exists(#committedSequencer)' : '#committedSequencer = :expected'),
      names: { ...KEY_ORDER_NAMES },
      values: {
        ':owner': order.owner,
        ':token': token,
        ':expires': now + this.leaseMs,
        ':sequencer': order.sequencer,
        ':now': now,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ...(expected === undefined ? {} : { ':expected': expected }),
      },
    };
  }

  /** A consistent read of one item, for a failed transaction whose server returned no item. */
  private async readItem(key: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  /** The error of a write under a claim that is no longer the caller's. */
  private lostClaim(ref: ObjectRef, lease: ClaimLease, item: Record<string, unknown> | undefined, what: string): LedgerConflictError {
    const current = this.parseEntry(ref, item);
    return new LedgerConflictError(
      `cannot ${what} for ${ledgerKey(ref)}: the ledger entry is ${describe(current)}, not ${describeHolder(lease)}`,
      ref,
      current,
    );
  }

  /** Only for the transferred upload it names: a mark for another upload would send a finder to the wrong place. */
  async markCommitStarted(ref: ObjectRef, lease: ClaimLease, uploadId: string, context?: Record<string, string>): Promise<void> {
    const mark = { uploadId, at: new Date(this.now()).toISOString(), ...(context !== undefined ? { context } : {}) };
    await this.updateOwnClaim(ref, lease, 'SET #commitStarted = :mark', {
      names: { '#uploadId': 'uploadId', '#transferred': 'transferred', '#commitStarted': 'commitStarted' },
      values: { ':uploadId': uploadId, ':true': true, ':mark': mark },
      extraCondition: '#uploadId = :uploadId AND #transferred = :true',
      what: `mark the commit of upload ${uploadId} as under way`,
    });
  }

  /**
   * Records the new version. If the condition fails because the object is already committed with
   * the same version (another consumer that took the lease over committed the same uploadId, or
   * found what an interrupted commit created), that is success. Committed with another version
   * means two versions were created: a LedgerConflictError naming both.
   */
  async markCommitted(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord): Promise<void> {
    const write = this.committedWrite(ref, lease, commit);
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: write.key,
      update: write.update,
      condition: write.condition,
      names: write.names,
      values: write.values,
    });
    if (result.ok) return;
    const current = this.parseEntry(ref, result.current);
    if (current?.state === 'committed' && sameCommittedVersion(committedVersionOf(current), commit.version)) return;
    if (current?.state === 'committed') {
      throw new LedgerConflictError(
        `cannot record the commit of ${ledgerKey(ref)} as ${describeCommittedVersion(commit.version)}: ` +
          `the ledger already records ${describeCommittedVersion(committedVersionOf(current))}, so the destination ` +
          `now holds two versions of this object; check both in ${current.connector} and remove the surplus one`,
        ref,
        current,
      );
    }
    throw new LedgerConflictError(
      `cannot record the commit of ${ledgerKey(ref)} (${describeCommittedVersion(commit.version)}): ` +
        `the ledger entry is ${describe(current)}, not ${describeHolder(lease)}`,
      ref,
      current,
    );
  }

  /**
   * Records the commit and gives the key's commit lease up in one call (TransactWriteItems)
   * where the endpoint has transactions; they were two writes at the same moment. The commit
   * record decides: a lease that is already gone (expired and taken over) leaves the record to
   * be written alone, and an endpoint without transactions (dynalite alone), or a record
   * whose own condition failed, gets one write each, markCommitted's answer standing.
   */
  async markCommittedReleasingKeyCommit(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord, keyLease: KeyCommitLease): Promise<void> {
    const write = this.committedWrite(ref, lease, commit);
    const result = await this.transactions.write([
      conditionalUpdateItem({
        tableName: this.tableName,
        key: write.key,
        update: write.update,
        condition: write.condition,
        names: write.names,
        values: write.values,
      }),
      conditionalUpdateItem({
        tableName: this.tableName,
        key: { pk: keyOrderKey(keyLease.bucket, keyLease.key) },
        update: 'REMOVE #leaseOwner, #leaseToken, #leaseExpiresAt',
        condition: '#leaseToken = :token',
        names: pick(KEY_ORDER_NAMES, '#leaseOwner', '#leaseToken', '#leaseExpiresAt'),
        values: { ':token': keyLease.token },
      }),
    ]);
    if (result.kind === 'written') return;
    if (result.kind === 'conditions-failed' && !result.failedIndexes.includes(0)) {
      await this.markCommitted(ref, lease, commit);
      return;
    }
    const [committed] = await Promise.allSettled([this.markCommitted(ref, lease, commit), this.releaseKeyCommit(keyLease)]);
    if (committed.status === 'rejected') throw committed.reason;
  }

  /** The conditional update that records a commit under the caller's claim. */
  private committedWrite(
    ref: ObjectRef,
    lease: ClaimLease,
    commit: CommitRecord,
  ): { key: { pk: string }; update: string; condition: string; names: Record<string, string>; values: Record<string, unknown> } {
    const now = this.now();
    const held = claimCondition(lease);
    const optional: Record<string, unknown> = {};
    if (commit.version.versionLabel !== undefined) optional.versionLabel = commit.version.versionLabel;
    if (commit.target !== undefined) optional.target = commit.target;
    if (commit.uploadId !== undefined) optional.uploadId = commit.uploadId;
    const setOptional = Object.keys(optional).map((n) => `#${n} = :${n}`);
    return {
      key: { pk: ledgerKey(ref) },
      update: `SET ${[
        '#state = :committed',
        '#committedAt = :nowIso',
        '#connector = :connector',
        '#versionIds = :versionIds',
        '#updatedAt = :nowIso',
        '#expiresAt = :ttl',
        ...setOptional,
      ].join(', ')} REMOVE #lease`,
      condition: `#state = :claimed AND ${held.expression}`,
      names: {
        ...pick(NAMES, '#state', '#lease', '#updatedAt', '#expiresAt'),
        ...held.names,
        '#committedAt': 'committedAt',
        '#connector': 'connector',
        '#versionIds': 'versionIds',
        ...Object.fromEntries(Object.keys(optional).map((n) => [`#${n}`, n])),
      },
      values: {
        ':committed': 'committed',
        ':claimed': 'claimed',
        ...held.values,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ':connector': commit.version.connector,
        ':versionIds': commit.version.ids,
        ...Object.fromEntries(Object.entries(optional).map(([n, v]) => [`:${n}`, v])),
      },
    };
  }

  /**
   * Records a rejection. Only the claim of the lease may be rejected (or an object already
   * rejected): the ingest claims before it writes a rejected copy, so a consumer that lost the
   * object, or never claimed it, never rejects it. Fails (LedgerConflictError) otherwise.
   */
  async markRejected(ref: ObjectRef, lease: ClaimLease, reasons: Problem[], rejectedKey?: string): Promise<void> {
    const now = this.now();
    const held = claimCondition(lease);
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update:
        'SET #state = :rejected, #rejectedAt = :nowIso, #reasons = :reasons, #updatedAt = :nowIso, #expiresAt = :ttl, ' +
        '#bucket = :bucket, #objectKey = :objectKey, #objectVersionId = :objectVersionId' +
        (rejectedKey !== undefined ? ', #rejectedKey = :rejectedKey' : '') +
        ' REMOVE #lease',
      condition: `#state = :rejected OR (#state = :claimed AND ${held.expression})`,
      names: {
        ...pick(NAMES, '#state', '#lease', '#updatedAt', '#expiresAt'),
        ...held.names,
        '#rejectedAt': 'rejectedAt',
        '#reasons': 'reasons',
        '#bucket': 'bucket',
        '#objectKey': 'objectKey',
        '#objectVersionId': 'objectVersionId',
        '#rejectedKey': 'rejectedKey',
      },
      values: {
        ':rejected': 'rejected',
        ':claimed': 'claimed',
        ...held.values,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ':reasons': reasons.map((r) => ({ code: r.code, field: r.field, message: r.message, fix: r.fix })),
        ':bucket': ref.bucket,
        ':objectKey': ref.key,
        ':objectVersionId': objectVersionIdOf(ref),
        ...(rejectedKey !== undefined ? { ':rejectedKey': rejectedKey } : {}),
      },
    });
    if (result.ok) return;
    const current = this.parseEntry(ref, result.current);
    if (current?.state === 'rejected') return;
    throw new LedgerConflictError(
      `cannot record the rejection of ${ledgerKey(ref)}: the ledger entry is ${describe(current)}`,
      ref,
      current,
    );
  }

  /**
   * Records that a newer upload of the key was committed first. Like a rejection, only under the
   * caller's claim (or if already superseded), so a consumer that lost the object writes nothing.
   */
  async markSuperseded(ref: ObjectRef, lease: ClaimLease, order: { sequencer: string; newerSequencer: string }): Promise<void> {
    const now = this.now();
    const held = claimCondition(lease);
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update:
        'SET #state = :superseded, #supersededAt = :nowIso, #sequencer = :sequencer, #newerSequencer = :newerSequencer, ' +
        '#updatedAt = :nowIso, #expiresAt = :ttl REMOVE #lease',
      condition: `#state = :superseded OR (#state = :claimed AND ${held.expression})`,
      names: {
        ...pick(NAMES, '#state', '#lease', '#updatedAt', '#expiresAt'),
        ...held.names,
        '#supersededAt': 'supersededAt',
        '#sequencer': 'sequencer',
        '#newerSequencer': 'newerSequencer',
      },
      values: {
        ':superseded': 'superseded',
        ':claimed': 'claimed',
        ...held.values,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
        ':sequencer': order.sequencer,
        ':newerSequencer': order.newerSequencer,
      },
    });
    if (result.ok) return;
    const current = this.parseEntry(ref, result.current);
    if (current?.state === 'superseded') return;
    throw new LedgerConflictError(
      `cannot record ${ledgerKey(ref)} as superseded by sequencer ${order.newerSequencer}: the ledger entry is ${describe(current)}`,
      ref,
      current,
    );
  }

  async committedSequencer(bucket: string, key: string): Promise<string | undefined> {
    return (await this.readKeyOrder(bucket, key))?.committedSequencer;
  }

  /**
   * Takes the key's commit lease: free, expired, or already this owner's (a redelivery of the
   * same message). Every success writes a fresh token; the raise is conditional on it.
   */
  async acquireKeyCommit(bucket: string, key: string, owner: string): Promise<KeyCommitLeaseResult> {
    const now = this.now();
    const token = this.newClaimToken();
    const pk = keyOrderKey(bucket, key);
    // A failed condition returns the item as it is (ALL_OLD): its lease holder, no second read.
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: { pk },
      update: 'SET #leaseOwner = :owner, #leaseToken = :token, #leaseExpiresAt = :expires, #updatedAt = :nowIso, #expiresAt = :ttl',
      condition: 'attribute_not_exists(#leaseExpiresAt) OR #leaseExpiresAt < :now OR #leaseOwner = :owner',
      names: pick(KEY_ORDER_NAMES, '#leaseOwner', '#leaseToken', '#leaseExpiresAt', '#updatedAt', '#expiresAt'),
      values: {
        ':owner': owner,
        ':token': token,
        ':expires': now + this.leaseMs,
        ':now': now,
        ':nowIso': new Date(now).toISOString(),
        ':ttl': this.ttl(now),
      },
    });
    if (result.ok) {
      const item = this.parseKeyOrder(pk, result.item);
      return { outcome: 'acquired', lease: { bucket, key, owner, token }, committedSequencer: item?.committedSequencer };
    }
    const current = this.parseKeyOrder(pk, result.current);
    return { outcome: 'busy', owner: current?.leaseOwner, leaseExpiresAt: current?.leaseExpiresAt };
  }

  /**
   * Takes the key's commit lease and records `sequencer` as the key's newest commit in one
   * conditional write (the lease and the raise used to be two writes one after the other). The
   * condition names the committed sequencer the write expects: none on the first try (the first
   * upload of a key, the common case); when the item holds one, the failed write returns it
   * (ALL_OLD), and an older or equal one is replaced by a second write conditional on it, while a
   * newer one means this upload is superseded and nothing is written.
   */
  async acquireKeyCommitInOrder(bucket: string, key: string, owner: string, sequencer: string): Promise<KeyCommitInOrderResult> {
    const pk = keyOrderKey(bucket, key);
    const order = { owner, sequencer };
    let expected: string | undefined;
    for (let attempt = 0; attempt < KEY_ORDER_ATTEMPTS; attempt += 1) {
      const now = this.now();
      const token = this.newClaimToken();
      const result = await conditionalUpdate<Record<string, unknown>>(this.client, this.keyOrderWrite(pk, order, token, expected, now));
      if (result.ok) return { outcome: 'acquired', lease: { bucket, key, owner, token }, previousSequencer: expected };
      const current = this.parseKeyOrder(pk, result.current);
      const answer = keyOrderAnswer(current, order, now);
      if (answer !== undefined) return answer;
      expected = current?.committedSequencer;
    }
    // The item kept changing under the writes: another upload of the key is committing right now.
    const current = await this.readKeyOrder(bucket, key);
    return { outcome: 'busy', owner: current?.leaseOwner, leaseExpiresAt: current?.leaseExpiresAt };
  }

  async raiseCommittedSequencer(lease: KeyCommitLease, sequencer: string): Promise<void> {
    const result = await conditionalUpdate(this.client, {
      tableName: this.tableName,
      key: { pk: keyOrderKey(lease.bucket, lease.key) },
      update: 'SET #committedSequencer = :sequencer, #updatedAt = :nowIso',
      condition: '#leaseToken = :token',
      names: pick(KEY_ORDER_NAMES, '#committedSequencer', '#updatedAt', '#leaseToken'),
      values: { ':sequencer': sequencer, ':token': lease.token, ':nowIso': new Date(this.now()).toISOString() },
    });
    if (!result.ok) {
      throw new LedgerConflictError(
        `cannot record sequencer ${sequencer} as the newest commit of s3://${lease.bucket}/${lease.key}: ` +
          `the key's commit lease of message ${lease.owner} was taken over (it expired); the record is retried`,
        { bucket: lease.bucket, key: lease.key },
      );
    }
  }

  async restoreCommittedSequencer(lease: KeyCommitLease, sequencer: string, previous: string | undefined): Promise<void> {
    // A failed condition (lost the lease, or a newer upload was recorded meanwhile) leaves
    // nothing to undo, so the result is not looked at.
    await conditionalUpdate(this.client, {
      tableName: this.tableName,
      key: { pk: keyOrderKey(lease.bucket, lease.key) },
      update:
        previous === undefined
          ? 'SET #updatedAt = :nowIso REMOVE #committedSequencer'
          : 'SET #committedSequencer = :previous, #updatedAt = :nowIso',
      condition: '#leaseToken = :token AND #committedSequencer = :sequencer',
      names: pick(KEY_ORDER_NAMES, '#committedSequencer', '#updatedAt', '#leaseToken'),
      values: {
        ':sequencer': sequencer,
        ':token': lease.token,
        ':nowIso': new Date(this.now()).toISOString(),
        ...(previous === undefined ? {} : { ':previous': previous }),
      },
    });
  }

  async releaseKeyCommit(lease: KeyCommitLease): Promise<void> {
    // A failed condition means the lease was already taken over: nothing of this owner's to release.
    await conditionalUpdate(this.client, {
      tableName: this.tableName,
      key: { pk: keyOrderKey(lease.bucket, lease.key) },
      update: 'REMOVE #leaseOwner, #leaseToken, #leaseExpiresAt',
      condition: '#leaseToken = :token',
      names: pick(KEY_ORDER_NAMES, '#leaseOwner', '#leaseToken', '#leaseExpiresAt'),
      values: { ':token': lease.token },
    });
  }

  private async readKeyOrder(bucket: string, key: string): Promise<z.infer<typeof KeyOrderSchema> | undefined> {
    const pk = keyOrderKey(bucket, key);
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true }));
    return this.parseKeyOrder(pk, out.Item);
  }

  private parseKeyOrder(pk: string, item: Record<string, unknown> | undefined): z.infer<typeof KeyOrderSchema> | undefined {
    if (!item) return undefined;
    const parsed = KeyOrderSchema.safeParse(item);
    if (!parsed.success) {
      throw new Error(
        `ledger item ${pk} in table ${this.tableName} is not a valid key order item: ` +
          parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    return parsed.data;
  }

  private async updateOwnClaim(
    ref: ObjectRef,
    lease: ClaimLease,
    setExpression: string,
    opts: {
      names: Record<string, string>;
      values: Record<string, unknown>;
      extraCondition?: string;
      /** A `REMOVE ...` clause after the SET clause. */
      removeExpression?: string;
      what: string;
    },
  ): Promise<void> {
    const now = this.now();
    const held = claimCondition(lease);
    const result = await conditionalUpdate<Record<string, unknown>>(this.client, {
      tableName: this.tableName,
      key: { pk: ledgerKey(ref) },
      update: `${setExpression}, #updatedAt = :nowIso${opts.removeExpression ? ` ${opts.removeExpression}` : ''}`,
      condition: `#state = :claimed AND ${held.expression}${opts.extraCondition ? ` AND ${opts.extraCondition}` : ''}`,
      names: { ...pick(NAMES, '#state', '#updatedAt'), ...held.names, ...opts.names },
      values: {
        ':claimed': 'claimed',
        ...held.values,
        ':nowIso': new Date(now).toISOString(),
        ...opts.values,
      },
    });
    if (result.ok) return;
    const current = this.parseEntry(ref, result.current);
    throw new LedgerConflictError(
      `cannot ${opts.what} for ${ledgerKey(ref)}: the ledger entry is ${describe(current)}, not ${describeHolder(lease)}`,
      ref,
      current,
    );
  }

  private ttl(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.retentionSeconds;
  }
}

/** A conditional update as conditionalUpdate and conditionalUpdateItem take it. */
interface UpdateParts {
  tableName: string;
  key: Record<string, string>;
  update: string;
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * What a key order item that refused this upload's write means: busy (another owner's live
 * lease) or superseded (a newer sequencer recorded); undefined when the write can be tried again
 * expecting the item's sequencer (none, an older one, or this one).
 */
function keyOrderAnswer(
  current: { committedSequencer?: string | undefined; leaseOwner?: string | undefined; leaseExpiresAt?: number | undefined } | undefined,
  order: KeyOrderRequest,
  now: number,
): Exclude<KeyCommitInOrderResult, { outcome: 'acquired' }> | undefined {
  if (current?.leaseExpiresAt !== undefined && current.leaseExpiresAt >= now && current.leaseOwner !== order.owner) {
    return { outcome: 'busy', owner: current.leaseOwner, leaseExpiresAt: current.leaseExpiresAt };
  }
  const committed = current?.committedSequencer;
  if (committed !== undefined && compareSequencers(committed, order.sequencer) > 0)
    return { outcome: 'superseded', newerSequencer: committed };
  return undefined;
}

/** The plan as a DynamoDB map: only defined attributes, metadata as plain pairs. */
function storedPlan(plan: CommitPlan): Record<string, unknown> {
  return {
    connector: plan.connector,
    fileName: plan.fileName,
    target: { ...plan.target },
    ...(plan.labels !== undefined ? { labels: { ...plan.labels } } : {}),
    ...(plan.version !== undefined ? { version: plan.version } : {}),
    metadata: plan.metadata.map((m) => ({ id: m.id, value: m.value })),
    ...(plan.options !== undefined ? { options: { ...plan.options } } : {}),
  };
}

/** The condition that the caller holds the claim: its owner and the token of its lease. */
function claimCondition(lease: ClaimLease): { expression: string; names: Record<string, string>; values: Record<string, string> } {
  return {
    expression: '#owner = :owner AND #claimToken = :claimToken',
    names: { '#owner': 'owner', '#claimToken': 'claimToken' },
    values: { ':owner': lease.owner, ':claimToken': lease.token },
  };
}

/** Which claim a write expected, for messages; never the token (it is not a secret, but noise). */
function describeHolder(lease: ClaimLease): string {
  return `the claim this invocation of message ${lease.owner} took (another claim took the object over)`;
}

function describe(entry: LedgerEntry | undefined): string {
  if (!entry) return 'missing';
  if (entry.state === 'claimed') {
    return `claimed by message ${entry.owner} until ${new Date(entry.leaseExpiresAt).toISOString()}`;
  }
  if (entry.state === 'committed') return `committed as ${describeCommittedVersion(committedVersionOf(entry))}`;
  if (entry.state === 'superseded') return `superseded at ${entry.supersededAt} by the newer upload with sequencer ${entry.newerSequencer}`;
  return `rejected at ${entry.rejectedAt}`;
}

function pick<T extends Record<string, string>, K extends keyof T>(obj: T, ...keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = obj[k];
  return out;
}
