/**
 * The export ledger: which document versions are already in the archive. A DynamoDB table
 * with a string partition key `pk` (no sort key) and a TTL attribute `expiresAt`, shared with
 * the export runs' state (`shared/export/run-store.ts`).
 *
 * Item `version#<versionId>`:
 * - `state: "exported"` with `archiveKey`, `sha256` (hex), `sha256Base64`, `size`,
 *   `exportedAt`, `runId`, `documentId`, `binderId`: the version is in the archive. Never
 *   expires: it is what makes a rerun, a redelivered job or an overlapping run export nothing
 *   twice.
 * - `state: "claimed"` with `claimedBy`, `leaseExpiresAt` (epoch ms), `runId`: a worker is
 *   copying it now. A claim whose lease has run out (the worker crashed or timed out) may be
 *   taken over; a live one makes another worker back off, so two overlapping workers never
 *   upload the same version at once.
 *
 * Only `exported` counts as exported: a stale claim is work that did not finish.
 *
 * Item `doc#<documentId>`, with `pending` (a string set of version ids): the document has
 * versions that are not exported yet. The planner writes it when it lists a document's
 * versions (the set of every version not in the ledger, also those a `since` backfill leaves
 * out of scope, but not the latest version: while that one is not in the ledger the planner
 * lists the document anyway); the worker takes a version out of the set when it is exported (DynamoDB
 * drops the attribute with its last element). A permanent failure leaves its version in the
 * set. Why: the planner skips a document whose latest version is exported without listing its
 * versions; without the marker an older version whose job failed would never be tried again
 * once a later version of the same document was exported.
 */
import pLimit from 'p-limit';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { conditionalDelete, conditionalPut, conditionalUpdate, names, values } from './conditional-write.js';

export { isConditionalCheckFailed } from './conditional-write.js';

export const VERSION_KEY_PREFIX = 'version#';
export const versionKey = (versionId: string): string => `${VERSION_KEY_PREFIX}${versionId}`;
export const DOCUMENT_KEY_PREFIX = 'doc#';
export const documentKey = (documentId: string): string => `${DOCUMENT_KEY_PREFIX}${documentId}`;

/** BatchGetItem takes at most 100 keys a call. */
export const BATCH_GET_LIMIT = 100;
/** BatchGetItem calls of one lookup in flight at once (each is up to BATCH_GET_LIMIT keys). */
export const BATCH_GET_CONCURRENCY = 4;

export const ExportedVersionRecordSchema = lazySchema(() =>
  z.object({
    versionId: z.string(),
    documentId: z.string(),
    binderId: z.string(),
    archiveKey: z.string(),
    sha256: z.string(),
    sha256Base64: z.string(),
    size: z.int().check(z.nonnegative()),
    exportedAt: z.string(),
    runId: z.string(),
  }),
);
export type ExportedVersionRecord = z.infer<typeof ExportedVersionRecordSchema>;

const ClaimItemSchema = lazySchema(() =>
  z.object({
    state: z.literal('claimed'),
    claimedBy: z.string(),
    leaseExpiresAt: z.number(),
    runId: z.optional(z.string()),
  }),
);

const ExportedItemSchema = lazySchema(() => z.extend(ExportedVersionRecordSchema, { state: z.literal('exported') }));

export type ClaimOutcome =
  /**
   * `earlierAttempt`: the claim took over the item of an earlier attempt at this version (one
   * that died, timed out, or failed after it began to write the sidecar), which may have left
   * a complete file and sidecar in the archive; only then is the archive looked at.
   */
  | { kind: 'claimed'; earlierAttempt: boolean }
  | { kind: 'exported'; record: ExportedVersionRecord }
  | { kind: 'held'; leaseExpiresAt: Date; runId?: string };

export interface ClaimRequest {
  versionId: string;
  /** Unique per attempt (a fresh id per job processing), so a retry is never mistaken for the holder. */
  owner: string;
  runId: string;
  now: Date;
  leaseSeconds: number;
}

/** What the ledger says about a page of documents (see `lookUpDocuments`). */
export interface DocumentLookup {
  /** The subset of the version ids asked about that is exported. */
  exportedVersions: Set<string>;
  /** The subset of the document ids asked about that has versions not exported yet. */
  unfinishedDocuments: Set<string>;
}

export class ExportLedgerError extends Error {
  override readonly name = 'ExportLedgerError';
}

export interface ExportLedgerOptions {
  /** Rounds of re-asking for keys DynamoDB left unprocessed (throttling). Default 6. */
  maxBatchGetRounds?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class ExportLedger {
  private readonly maxBatchGetRounds: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: ExportLedgerOptions = {},
  ) {
    this.maxBatchGetRounds = options.maxBatchGetRounds ?? 6;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * The subset of `versionIds` that is exported. One BatchGetItem per 100 distinct ids (plus
   * re-asks for throttled keys), reading only the key and the state.
   */
  async exportedAmong(versionIds: readonly string[]): Promise<Set<string>> {
    return (await this.lookUpDocuments(versionIds, [])).exportedVersions;
  }

  /**
   * Which of `versionIds` are exported and which of `documentIds` have versions not exported
   * yet (a `doc#` marker with a non-empty `pending` set), in the same BatchGetItem calls (one
   * per 100 distinct keys, plus re-asks for throttled keys), reading only the key, the state
   * and the pending set: this is the read that decides, for a page of documents, which ones
   * need their versions listed.
   */
  async lookUpDocuments(versionIds: readonly string[], documentIds: readonly string[]): Promise<DocumentLookup> {
    const keys = [...new Set([...versionIds.map(versionKey), ...documentIds.map(documentKey)])];
    const lookup: DocumentLookup = { exportedVersions: new Set(), unfinishedDocuments: new Set() };
    // The chunks at once, a few at a time: a page of documents is two chunks (its latest
    // versions and its documents), and one after another they cost the planner a round trip
    // per page of an unchanged night, which is otherwise all waiting on page calls.
    const limit = pLimit(BATCH_GET_CONCURRENCY);
    const chunks: string[][] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) chunks.push(keys.slice(i, i + BATCH_GET_LIMIT));
    await Promise.all(chunks.map((chunk) => limit(() => this.lookUpChunk(chunk, lookup))));
    return lookup;
  }

  /** One BatchGetItem of at most BATCH_GET_LIMIT keys, asked again for the keys it left unprocessed. */
  private async lookUpChunk(keys: readonly string[], lookup: DocumentLookup): Promise<void> {
    let chunk: Record<string, unknown>[] = keys.map((pk) => ({ pk }));
    for (let round = 0; chunk.length > 0; round++) {
      if (round >= this.maxBatchGetRounds) {
        throw new ExportLedgerError(
          `export ledger ${this.tableName}: ${chunk.length} keys stayed unprocessed after ${round} BatchGetItem rounds (throttled); retry later`,
        );
      }
      if (round > 0) await this.sleep(Math.min(50 * 2 ** round, 2_000));
      const result = await this.doc.send(
        new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: chunk,
              ProjectionExpression: '#pk, #state, #pending',
              ExpressionAttributeNames: { '#pk': 'pk', '#state': 'state', '#pending': 'pending' },
              // Eventually consistent (half the cost): a version exported a moment ago that
              // reads as missing is enqueued again, and the worker's claim makes that a no-op.
              ConsistentRead: false,
            },
          },
        }),
      );
      for (const item of result.Responses?.[this.tableName] ?? []) {
        const pk = item.pk;
        if (typeof pk !== 'string') continue;
        if (item.state === 'exported' && pk.startsWith(VERSION_KEY_PREFIX)) {
          lookup.exportedVersions.add(pk.slice(VERSION_KEY_PREFIX.length));
        } else if (pk.startsWith(DOCUMENT_KEY_PREFIX) && isNonEmptySet(item.pending)) {
          lookup.unfinishedDocuments.add(pk.slice(DOCUMENT_KEY_PREFIX.length));
        }
      }
      chunk = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
  }

  /**
   * Sets the versions of a document that are not exported yet (the planner, after listing
   * them); an empty list removes the marker. A plain overwrite: the planner read the ledger
   * just before, and a version exported meanwhile is also enqueued, so its job takes it out
   * of the set again.
   */
  async setDocumentPending(documentId: string, binderId: string, pendingVersionIds: readonly string[], now: Date): Promise<void> {
    if (pendingVersionIds.length === 0) {
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: documentKey(documentId) } }));
      return;
    }
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: documentKey(documentId),
          kind: 'document',
          documentId,
          binderId,
          pending: new Set(pendingVersionIds),
          updatedAt: now.toISOString(),
        },
      }),
    );
  }

  /**
   * Takes an exported version out of its document's pending set (the worker, after the
   * version is in the ledger). A no-op when the document has no marker.
   */
  async clearDocumentPending(documentId: string, versionId: string): Promise<void> {
    // A failed condition (no marker, or its set already empty) leaves nothing to do.
    await conditionalUpdate(this.doc, {
      tableName: this.tableName,
      key: { pk: documentKey(documentId) },
      update: 'DELETE #pending :version',
      condition: 'attribute_exists(#pending)',
      names: names(['pending']),
      values: values({ version: new Set([versionId]) }),
    });
  }

  async getExported(versionId: string): Promise<ExportedVersionRecord | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: versionKey(versionId) }, ConsistentRead: true }),
    );
    const parsed = ExportedItemSchema.safeParse(result.Item);
    if (!parsed.success) return undefined;
    const { state: _state, ...record } = parsed.data;
    return record;
  }

  /**
   * Claims a version for export with one conditional write. A failed condition comes back with
   * the item that failed it, which tells "already exported" (acknowledge the job) from "someone
   * else is on it" (retry later) without a read of our own.
   */
  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const nowMs = request.now.getTime();
    for (let attempt = 0; attempt < 3; attempt++) {
      const put = await conditionalPut(this.doc, {
        tableName: this.tableName,
        item: {
          pk: versionKey(request.versionId),
          kind: 'version',
          state: 'claimed',
          claimedBy: request.owner,
          claimedAt: request.now.toISOString(),
          leaseExpiresAt: nowMs + request.leaseSeconds * 1000,
          runId: request.runId,
        },
        condition: 'attribute_not_exists(#pk) OR (#state = :claimed AND (#leaseExpiresAt < :now OR #claimedBy = :owner))',
        names: names(['pk', 'state', 'leaseExpiresAt', 'claimedBy']),
        values: values({ claimed: 'claimed', now: nowMs, owner: request.owner }),
      });
      // The item this claim replaces, if any, tells a first attempt from a later one.
      if (put.ok) return { kind: 'claimed', earlierAttempt: put.previous !== undefined };
      const exported = ExportedItemSchema.safeParse(put.current);
      if (exported.success) {
        const { state: _state, ...record } = exported.data;
        return { kind: 'exported', record };
      }
      const claim = ClaimItemSchema.safeParse(put.current);
      if (claim.success && claim.data.leaseExpiresAt >= nowMs) {
        return {
          kind: 'held',
          leaseExpiresAt: new Date(claim.data.leaseExpiresAt),
          ...(claim.data.runId !== undefined ? { runId: claim.data.runId } : {}),
        };
      }
      // Only where the server does not return the item with the failure (it is then read after
      // the write): it changed in between (released, or its lease ran out). Try again.
    }
    throw new ExportLedgerError(
      `export ledger ${this.tableName}: could not claim version ${request.versionId}: its ledger item kept changing; retry later`,
    );
  }

  /** Marks the version exported. Unconditional: whoever wrote last wrote the same bytes to the same key. */
  async recordExported(record: ExportedVersionRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: versionKey(record.versionId), kind: 'version', state: 'exported', ...record },
      }),
    );
  }

  /**
   * Marks the version exported only while `owner`'s claim holds, so that exactly one attempt
   * records the version, and counts it in its run: a worker whose lease ran out while it copied
   * does not write over the one that took over. False when the claim was no longer its own.
   */
  async recordExportedUnderClaim(record: ExportedVersionRecord, owner: string): Promise<boolean> {
    const put = await conditionalPut(this.doc, {
      tableName: this.tableName,
      item: { pk: versionKey(record.versionId), kind: 'version', state: 'exported', ...record },
      ...this.heldBy(owner),
    });
    return put.ok;
  }

  /**
   * Gives up a claim after a failure, so a retry need not wait for the lease to run out.
   * Normally the item is deleted. With `keepAsEarlierAttempt` (the failed attempt had begun to
   * write the sidecar, so a complete file and sidecar may be in the archive) it stays, with its
   * lease ended, so that the next claim knows to look in the archive first. A claim that is no
   * longer `owner`'s is left as it is.
   */
  async releaseClaim(versionId: string, owner: string, options: { keepAsEarlierAttempt?: boolean } = {}): Promise<void> {
    const key = { pk: versionKey(versionId) };
    if (options.keepAsEarlierAttempt) {
      await conditionalUpdate(this.doc, { tableName: this.tableName, key, update: 'SET #leaseExpiresAt = :ended', ...this.heldBy(owner) });
      return;
    }
    await conditionalDelete(this.doc, { tableName: this.tableName, key, ...this.heldBy(owner) });
  }

  /** The condition that `owner`'s claim still holds the version, with every name and value any caller adds. */
  private heldBy(owner: string): { condition: string; names: Record<string, string>; values: Record<string, unknown> } {
    return {
      condition: '#state = :claimed AND #claimedBy = :owner',
      names: names(['state', 'claimedBy', 'leaseExpiresAt']),
      values: values({ claimed: 'claimed', owner, ended: 0 }),
    };
  }
}

function isNonEmptySet(value: unknown): boolean {
  return (value instanceof Set || Array.isArray(value)) && (value instanceof Set ? value.size : value.length) > 0;
}
