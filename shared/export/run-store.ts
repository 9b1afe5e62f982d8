/**
 * State of export runs, kept in the export ledger table beside the version records.
 *
 * - `run#<runId>`: one item per run. The planner owns the plan fields (binders, cursor,
 *   counts of what it read and enqueued) and holds a short planning lease so that two planner
 *   invocations never page the same run at once. Workers only ADD to the settle counters,
 *   so the two never overwrite each other.
 * - `run#<runId>#enqueued#<versionId>`: written once per version the run enqueues. Only the
 *   planner invocation that creates it adds to the run's `versionsEnqueued`, so a page planned
 *   twice (a planner crash after sending, pages shifting while a run pages for hours) never
 *   counts a version twice. A page's markers and their count are one transaction (one call).
 * - Exported versions are counted by the worker whose claim wrote their ledger record (the
 *   record is conditional on the claim, so it happens once per version): it adds to `settled`,
 *   `exported` and `bytes`, one update per worker batch, which returns the run (no read).
 * - `run#<runId>#settled#<versionId>`: written once per version of a run whose job ended
 *   otherwise (failed, or already exported by another run). Only the worker that creates it
 *   adds to the run's counters, so a redelivered job is never counted twice; a batch's markers
 *   and counters are one transaction.
 * - `pointer#scheduled-run` (iBinder; `pointer#scheduled-run#<feed>` for another connector's
 *   feed, Bynder: `bynder#<portal>`): the run the schedule started last, so the next scheduled invocation resumes it
 *   while it is still planning.
 * - `bookmark#<feed>` (Bynder: `bookmark#bynder#<portal>`): where the next run's change feed
 *   starts, and the run that planned up to it (whose failed and unfinished versions the next run
 *   plans again). Written only when a run's feed is done.
 *
 * A run is complete when the planner has finished (`state: "planned"`) and as many jobs have
 * settled as were enqueued; whoever observes that (the planner finishing, or the worker that
 * settles the last job) writes the run's manifest and marks the run `finalized`.
 * Run items and markers expire (`expiresAt`) after `ttlDays`; version records never do.
 */
import { GetCommand, PutCommand, DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import * as z from '../validation/zod.js';
import { lazySchema } from '../validation/lazy-schema.js';
import { conditionalPut, conditionalUpdate, names, values, type ConditionalWriteResult } from '../ledger/conditional-write.js';
import {
  AllOrNothingWriter,
  TRANSACTION_ITEM_LIMIT,
  conditionalPutItem,
  conditionalUpdateItem,
  type TransactItem,
} from './all-or-nothing-writes.js';

export const runKey = (runId: string): string => `run#${runId}`;
export const settledKey = (runId: string, versionId: string): string => `run#${runId}#settled#${versionId}`;
export const enqueuedKey = (runId: string, versionId: string): string => `run#${runId}#enqueued#${versionId}`;
export const SCHEDULED_RUN_POINTER_KEY = 'pointer#scheduled-run';

export const RunTriggerSchema = lazySchema(() => z.enum(['schedule', 'manual']));
export type RunTrigger = z.infer<typeof RunTriggerSchema>;
export const RunStateNameSchema = lazySchema(() => z.enum(['planning', 'planned', 'finalized']));
export type RunStateName = z.infer<typeof RunStateNameSchema>;

/** What the planner has read of the binder it is on. */
export const BinderProgressSchema = lazySchema(() =>
  z.object({
    binderId: z.string(),
    pages: z.int().check(z.nonnegative()),
    documentsSeen: z.int().check(z.nonnegative()),
    skippedUnchanged: z.int().check(z.nonnegative()),
    versionsEnqueued: z.int().check(z.nonnegative()),
    /** Documents whose versions could not be listed (gone between search and listing, refused). */
    documentErrors: z.int().check(z.nonnegative()),
    /** Why the binder could not be read; set on a permanent failure, which ends the binder. */
    error: z.optional(z.string()),
  }),
);
export type BinderProgress = z.infer<typeof BinderProgressSchema>;

const count = lazySchema(() => z._default(z.int().check(z.nonnegative()), 0));

/** An asset the run plans again by id before its change feed (the previous run left a version of it failed or unfinished). */
export const ReplanAssetSchema = lazySchema(() => z.object({ id: z.string(), brandId: z.string(), name: z.string() }));
export type ReplanAsset = z.infer<typeof ReplanAssetSchema>;

export const ExportRunStateSchema = lazySchema(() =>
  z.object({
    runId: z.string(),
    /** The connector the run reads from; absent: iBinder (runs of older planners). */
    connector: z.optional(z.string()),
    /** Bynder: the change feed's cursor (JSON of ChangeCursor), saved after each planned page. */
    changeCursor: z.optional(z.string()),
    /** Bynder: assets to plan by id before the feed; removed once they are planned. */
    replan: z.optional(z.array(ReplanAssetSchema)),
    /** Bynder: assets planned by id that could not be planned this time either: the next run plans them again. */
    replanLeft: z.optional(z.array(ReplanAssetSchema)),
    /** Bynder: assets found deleted (404 after a listing returned them). */
    deletedAssets: z.optional(z.int().check(z.nonnegative())),
    tenantId: z.string(),
    trigger: RunTriggerSchema,
    state: RunStateNameSchema,
    startedAt: z.string(),
    since: z.optional(z.string()),
    /** The binders of the run, in the order they are planned. */
    binderIds: z.array(z.string()),
    /** Cursor: index into binderIds of the binder being paged, and its next page (1-based). */
    binderIndex: z.int().check(z.nonnegative()),
    nextPage: z.int().check(z.positive()),
    current: z.optional(BinderProgressSchema),
    /** The page at the cursor failed transiently this many times (see `recordPageFailure`). */
    failedPage: z.optional(
      z.object({
        binderIndex: z.int().check(z.nonnegative()),
        nextPage: z.int().check(z.positive()),
        attempts: z.int().check(z.positive()),
      }),
    ),
    documentsSeen: count,
    skippedUnchanged: count,
    versionsEnqueued: count,
    documentErrors: count,
    binderErrors: count,
    planningInvocations: count,
    // Settle counters (added to by workers).
    settled: count,
    exported: count,
    alreadyExported: count,
    failed: count,
    bytes: count,
    plannedAt: z.optional(z.string()),
    finalizedAt: z.optional(z.string()),
    updatedAt: z.string(),
  }),
);
export type ExportRunState = z.infer<typeof ExportRunStateSchema>;

export interface NewRun {
  runId: string;
  connector?: string;
  changeCursor?: string;
  replan?: ReplanAsset[];
  tenantId: string;
  trigger: RunTrigger;
  startedAt: Date;
  since?: string;
  binderIds: string[];
}

/**
 * The planner's cursor and counters, saved after every page. (`versionsEnqueued` is not among
 * them: it is added to as versions are enqueued, see `recordEnqueued`.)
 */
export interface PlanProgress {
  binderIndex: number;
  nextPage: number;
  current?: BinderProgress;
  documentsSeen: number;
  skippedUnchanged: number;
  documentErrors: number;
  binderErrors: number;
}

export type SettleStatus = 'exported' | 'already-exported' | 'failed';

/** One job's final outcome, as counted in its run (bytes count only for `exported`). */
export interface SettleOutcome {
  versionId: string;
  status: SettleStatus;
  bytes: number;
}

export class RunStoreError extends Error {
  override readonly name = 'RunStoreError';
}

export interface ExportRunStoreOptions {
  /** Days run items and settle markers are kept. Default 90. */
  ttlDays?: number;
}

export class ExportRunStore {
  private readonly ttlSeconds: number;
  private readonly allOrNothing: AllOrNothingWriter;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    options: ExportRunStoreOptions = {},
  ) {
    this.ttlSeconds = (options.ttlDays ?? 90) * 24 * 3600;
    this.allOrNothing = new AllOrNothingWriter(doc);
  }

  private expiresAt(from: Date): number {
    return Math.floor(from.getTime() / 1000) + this.ttlSeconds;
  }

  /** Creates the run; false when a run with this id exists already. */
  async create(run: NewRun): Promise<boolean> {
    const state: ExportRunState = {
      runId: run.runId,
      tenantId: run.tenantId,
      trigger: run.trigger,
      ...(run.connector !== undefined ? { connector: run.connector } : {}),
      ...(run.changeCursor !== undefined ? { changeCursor: run.changeCursor } : {}),
      ...(run.replan !== undefined && run.replan.length > 0 ? { replan: run.replan } : {}),
      ...(run.connector === 'bynder' ? { deletedAssets: 0 } : {}),
      state: 'planning',
      startedAt: run.startedAt.toISOString(),
      ...(run.since !== undefined ? { since: run.since } : {}),
      binderIds: run.binderIds,
      binderIndex: 0,
      nextPage: 1,
      documentsSeen: 0,
      skippedUnchanged: 0,
      versionsEnqueued: 0,
      documentErrors: 0,
      binderErrors: 0,
      planningInvocations: 0,
      settled: 0,
      exported: 0,
      alreadyExported: 0,
      failed: 0,
      bytes: 0,
      updatedAt: run.startedAt.toISOString(),
    };
    const put = await conditionalPut(this.doc, {
      tableName: this.tableName,
      item: { pk: runKey(run.runId), kind: 'run', ...state, expiresAt: this.expiresAt(run.startedAt) },
      condition: ABSENT,
      names: names(['pk']),
    });
    return put.ok;
  }

  async get(runId: string): Promise<ExportRunState | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: runKey(runId) }, ConsistentRead: true }));
    return result.Item ? this.parse(result.Item, runId) : undefined;
  }

  /**
   * Takes the planning lease of a run in state `planning`: false when another planner
   * invocation holds a live one (or the run is no longer planning).
   */
  async acquirePlanningLease(runId: string, owner: string, now: Date, leaseMs: number): Promise<boolean> {
    const lease = await conditionalUpdate(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: 'SET #planningOwner = :owner, #planningLeaseUntil = :until, #updatedAt = :nowIso ADD #planningInvocations :one',
      condition:
        '#state = :planning AND (attribute_not_exists(#planningLeaseUntil) OR #planningLeaseUntil < :now OR #planningOwner = :owner)',
      names: names(['planningOwner', 'planningLeaseUntil', 'updatedAt', 'planningInvocations', 'state']),
      values: values({
        owner,
        until: now.getTime() + leaseMs,
        now: now.getTime(),
        nowIso: now.toISOString(),
        one: 1,
        planning: 'planning',
      }),
    });
    return lease.ok;
  }

  /** Saves the cursor and the planner's counts and extends the lease; fails when the lease was lost. */
  async saveProgress(runId: string, owner: string, progress: PlanProgress, now: Date, leaseMs: number): Promise<void> {
    const held = this.heldByPlanner(owner);
    const counts = {
      binderIndex: progress.binderIndex,
      nextPage: progress.nextPage,
      documentsSeen: progress.documentsSeen,
      skippedUnchanged: progress.skippedUnchanged,
      documentErrors: progress.documentErrors,
      binderErrors: progress.binderErrors,
    };
    const set = [
      ...Object.keys(counts).map((attribute) => `#${attribute} = :${attribute}`),
      '#updatedAt = :updatedAt',
      '#planningLeaseUntil = :until',
      ...(progress.current ? ['#current = :current'] : []),
    ];
    // A saved page ends the failure count of the page before it; a binder finished ends `current`.
    const remove = ['#failedPage', ...(progress.current ? [] : ['#current'])];
    const saved = await conditionalUpdate<Record<string, unknown>>(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`,
      condition: held.condition,
      names: { ...names([...Object.keys(counts), 'updatedAt', 'planningLeaseUntil', 'current', 'failedPage']), ...held.names },
      values: {
        ...values({ ...counts, updatedAt: now.toISOString(), until: now.getTime() + leaseMs, current: progress.current }),
        ...held.values,
      },
    });
    if (!saved.ok) {
      throw new RunStoreError(
        `export run ${runId}: another planner invocation took over the run (or it is no longer planning: ${describePlanning(saved)}); this one stops without saving`,
      );
    }
  }

  /**
   * Counts a transient failure of the page at the cursor, so that a page that keeps failing
   * (one document or binder the source cannot serve) is given up after a few attempts instead
   * of holding the run, and every later nightly run, in `planning`. Only the lease holder
   * writes it; false when the lease was lost meanwhile.
   */
  async recordPageFailure(
    runId: string,
    owner: string,
    failedPage: { binderIndex: number; nextPage: number; attempts: number },
    now: Date,
  ): Promise<boolean> {
    const held = this.heldByPlanner(owner);
    const recorded = await conditionalUpdate(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: 'SET #failedPage = :failedPage, #updatedAt = :now',
      condition: held.condition,
      names: { ...names(['failedPage', 'updatedAt']), ...held.names },
      values: { ...values({ failedPage, now: now.toISOString() }), ...held.values },
    });
    return recorded.ok;
  }

  /** Gives up the planning lease (the planner stops for time), so the next invocation may resume at once. */
  async releasePlanningLease(runId: string, owner: string): Promise<void> {
    // Not the holder any more: the lease is someone else's to release.
    await conditionalUpdate(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: 'REMOVE #planningLeaseUntil',
      condition: '#planningOwner = :owner',
      names: names(['planningLeaseUntil', 'planningOwner']),
      values: values({ owner }),
    });
  }

  /**
   * Records that the run enqueues these versions; returns how many it had not enqueued before
   * (and adds that many to `versionsEnqueued`). Called before the jobs are sent: a send that
   * fails is repeated by the retry without counting the versions again.
   *
   * The markers and the count go in one transaction per 99 versions (markers already there are
   * dropped and the rest written again), so a page costs one call, not one per version.
   */
  async recordEnqueued(runId: string, versionIds: readonly string[], now: Date): Promise<number> {
    const unique = [...new Set(versionIds)];
    let count = 0;
    for (let i = 0; i < unique.length; i += TRANSACTION_ITEM_LIMIT - 1) {
      const chunk = unique.slice(i, i + TRANSACTION_ITEM_LIMIT - 1);
      const written = await this.writeMarkersAndCount(
        chunk.map((versionId) => ({
          pk: enqueuedKey(runId, versionId),
          kind: 'enqueued',
          at: now.toISOString(),
          expiresAt: this.expiresAt(now),
        })),
        (markers) => ({ names: { '#enqueued': 'versionsEnqueued' }, values: { ':n': markers.length }, add: '#enqueued :n' }),
        runId,
      );
      if (written === undefined) {
        count += await this.recordEnqueuedOneByOne(runId, chunk, now);
        continue;
      }
      if (written === 'no-run') throw noRun(runId);
      count += written.size;
    }
    return count;
  }

  /** The same, one conditional write per version and then the count: for endpoints without transactions. */
  private async recordEnqueuedOneByOne(runId: string, versionIds: readonly string[], now: Date): Promise<number> {
    const limit = pLimit(8);
    const created = await Promise.all(
      versionIds.map((versionId) =>
        limit(async () => {
          const marker = await conditionalPut(this.doc, {
            tableName: this.tableName,
            item: { pk: enqueuedKey(runId, versionId), kind: 'enqueued', at: now.toISOString(), expiresAt: this.expiresAt(now) },
            condition: ABSENT,
            names: names(['pk']),
          });
          return marker.ok ? 1 : 0;
        }),
      ),
    );
    const count = created.reduce<number>((sum, n) => sum + n, 0);
    if (count > 0) {
      const counted = await this.addToCounters(runId, 'ADD #versionsEnqueued :n', {
        names: names(['versionsEnqueued']),
        values: values({ n: count }),
      });
      if (!counted.ok) throw noRun(runId);
    }
    return count;
  }

  /**
   * Writes the markers that do not exist yet and adds to the run's counters for exactly those,
   * in one transaction (repeated without the markers found to exist). Returns the pks of the
   * markers written, 'no-run' when the run's item is gone (nothing written), or undefined when
   * the endpoint has no transactions.
   */
  private async writeMarkersAndCount(
    markers: (Record<string, unknown> & { pk: string })[],
    counterUpdate: (written: (Record<string, unknown> & { pk: string })[]) => {
      names: Record<string, string>;
      values: Record<string, unknown>;
      add: string;
    },
    runId: string,
  ): Promise<Set<string> | 'no-run' | undefined> {
    let pending = markers;
    // Each round drops at least one marker, so this ends; the bound is a guard.
    for (let round = 0; pending.length > 0 && round <= markers.length; round++) {
      const counter = counterUpdate(pending);
      const items: TransactItem[] = [
        ...pending.map((item) => conditionalPutItem({ tableName: this.tableName, item, condition: ABSENT, names: names(['pk']) })),
        conditionalUpdateItem({
          tableName: this.tableName,
          key: { pk: runKey(runId) },
          update: `ADD ${counter.add}`,
          condition: PRESENT,
          names: { ...names(['pk']), ...counter.names },
          values: counter.values,
        }),
      ];
      const result = await this.allOrNothing.write(items);
      if (result.kind === 'unsupported') return undefined;
      if (result.kind === 'written') return new Set(pending.map((m) => m.pk));
      if (result.failedIndexes.includes(pending.length)) return 'no-run';
      const failed = new Set(result.failedIndexes);
      pending = pending.filter((_, index) => !failed.has(index));
    }
    return new Set();
  }

  /** Ends planning; returns the run as it is now, settle counters included. */
  async markPlanned(runId: string, owner: string, now: Date): Promise<ExportRunState> {
    const held = this.heldByPlanner(owner);
    const planned = await conditionalUpdate<Record<string, unknown>>(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: 'SET #state = :planned, #plannedAt = :now, #updatedAt = :now REMOVE #planningOwner, #planningLeaseUntil, #current',
      condition: held.condition,
      names: { ...names(['plannedAt', 'updatedAt', 'planningLeaseUntil', 'current']), ...held.names },
      values: { ...values({ planned: 'planned', now: now.toISOString() }), ...held.values },
    });
    if (!planned.ok) {
      throw new RunStoreError(
        `export run ${runId}: another planner invocation took over the run before it was marked planned (${describePlanning(planned)})`,
      );
    }
    return this.parse(planned.item, runId);
  }

  /**
   * Counts one job's final outcome once. Returns false when this version had settled for the
   * run already (a redelivery) or the run is unknown (its item expired).
   */
  async settle(runId: string, versionId: string, status: SettleStatus, bytes: number, now: Date): Promise<boolean> {
    const marker = await conditionalPut(this.doc, {
      tableName: this.tableName,
      item: { pk: settledKey(runId, versionId), kind: 'settled', status, at: now.toISOString(), expiresAt: this.expiresAt(now) },
      condition: ABSENT,
      names: names(['pk']),
    });
    if (!marker.ok) return false;
    const counter = status === 'exported' ? 'exported' : status === 'failed' ? 'failed' : 'alreadyExported';
    try {
      const counted = await this.addToCounters(runId, 'ADD #settled :one, #counter :one, #bytes :bytes', {
        names: { ...names(['settled', 'bytes']), '#counter': counter },
        values: values({ one: 1, bytes }),
      });
      return counted.ok;
    } catch (err) {
      // Undo the marker so that the redelivered job counts; if this fails too the run is
      // finalized by the next scheduled plan instead of by its last worker.
      await this.doc
        .send(new DeleteCommand({ TableName: this.tableName, Key: { pk: settledKey(runId, versionId) } }))
        .catch(() => undefined);
      throw err;
    }
  }

  /**
   * Adds versions exported for the run to its counters, in one call, and returns the run as it
   * is now (so that the worker needs no read to see whether the run is complete), or undefined
   * when the run is unknown (its item expired). No settle marker: the caller counts only versions
   * whose ledger record it wrote under its claim, which happens once per version.
   */
  async addExported(runId: string, versions: number, bytes: number, now: Date): Promise<ExportRunState | undefined> {
    const counted = await this.addToCounters(runId, 'SET #updatedAt = :now ADD #settled :n, #exported :n, #bytes :bytes', {
      names: names(['settled', 'exported', 'bytes', 'updatedAt']),
      values: values({ n: versions, bytes, now: now.toISOString() }),
    });
    return counted.ok ? this.parse(counted.item, runId) : undefined;
  }

  /**
   * Counts the final outcomes of several jobs of one run, each once: one transaction writes the
   * settle markers not there yet and adds to the counters for exactly those (a worker batch
   * costs one call). Returns the version ids counted now; a version that had settled for the run
   * already (a redelivery) is not among them, nor is anything when the run is unknown (its item
   * expired). Endpoints without transactions get `settle` per job.
   */
  async settleMany(runId: string, outcomes: readonly SettleOutcome[], now: Date): Promise<Set<string>> {
    const byVersion = new Map(outcomes.map((o) => [o.versionId, o]));
    const counted = new Set<string>();
    const unique = [...byVersion.values()];
    for (let i = 0; i < unique.length; i += TRANSACTION_ITEM_LIMIT - 1) {
      const chunk = unique.slice(i, i + TRANSACTION_ITEM_LIMIT - 1);
      const markerOf = new Map(chunk.map((o) => [settledKey(runId, o.versionId), o]));
      const written = await this.writeMarkersAndCount(
        chunk.map((o) => ({
          pk: settledKey(runId, o.versionId),
          kind: 'settled',
          status: o.status,
          at: now.toISOString(),
          expiresAt: this.expiresAt(now),
        })),
        (markers) => {
          const settled = markers.flatMap((m) => {
            const outcome = markerOf.get(m.pk);
            return outcome ? [outcome] : [];
          });
          const countOf = (status: SettleStatus): number => settled.filter((o) => o.status === status).length;
          const counters: Record<string, number> = {
            settled: settled.length,
            exported: countOf('exported'),
            alreadyExported: countOf('already-exported'),
            failed: countOf('failed'),
            bytes: settled.reduce((sum, o) => sum + (o.status === 'exported' ? o.bytes : 0), 0),
          };
          // Adding zero is left out; the names and values of those counters are dropped with it.
          const added = Object.keys(counters).filter((attribute) => attribute === 'settled' || (counters[attribute] ?? 0) > 0);
          return {
            names: names(Object.keys(counters)),
            values: values(counters),
            add: added.map((attribute) => `#${attribute} :${attribute}`).join(', '),
          };
        },
        runId,
      );
      if (written === 'no-run') continue;
      if (written === undefined) {
        for (const o of chunk) if (await this.settle(runId, o.versionId, o.status, o.bytes, now)) counted.add(o.versionId);
        continue;
      }
      for (const pk of written) {
        const outcome = markerOf.get(pk);
        if (outcome) counted.add(outcome.versionId);
      }
    }
    return counted;
  }

  async markFinalized(runId: string, now: Date): Promise<void> {
    const finalized = await this.addToCounters(runId, 'SET #state = :finalized, #finalizedAt = :now, #updatedAt = :now', {
      names: names(['state', 'finalizedAt', 'updatedAt']),
      values: values({ finalized: 'finalized', now: now.toISOString() }),
    });
    if (!finalized.ok) {
      throw new RunStoreError(`export run ${runId} is not in the export ledger (expired or never created); it cannot be marked finalized`);
    }
  }

  /** The run the schedule started last for `feed` (default iBinder, whose pointer keeps its old key). */
  async getScheduledRunId(connector?: string): Promise<string | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: scheduledRunPointerKey(connector) }, ConsistentRead: true }),
    );
    const runId = result.Item?.runId;
    return typeof runId === 'string' ? runId : undefined;
  }

  async setScheduledRunId(runId: string, now: Date, connector?: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: scheduledRunPointerKey(connector), kind: 'pointer', runId, updatedAt: now.toISOString() },
      }),
    );
  }

  /**
   * Saves a change feed's cursor (Bynder) and the planner's counts after a planned page, and
   * extends the lease; the assets to plan again by id are done once a cursor is saved. Fails
   * when the lease was lost.
   */
  async saveChangeCursor(runId: string, owner: string, progress: ChangeFeedProgress, now: Date, leaseMs: number): Promise<void> {
    const held = this.heldByPlanner(owner);
    const fields = {
      changeCursor: progress.cursor,
      documentsSeen: progress.documentsSeen,
      skippedUnchanged: progress.skippedUnchanged,
      documentErrors: progress.documentErrors,
      deletedAssets: progress.deletedAssets,
      ...(progress.replanLeft !== undefined && progress.replanLeft.length > 0 ? { replanLeft: progress.replanLeft } : {}),
      updatedAt: now.toISOString(),
      planningLeaseUntil: now.getTime() + leaseMs,
    };
    const saved = await conditionalUpdate<Record<string, unknown>>(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update: `SET ${Object.keys(fields)
        .map((f) => `#${f} = :${f}`)
        .join(', ')} REMOVE #replan`,
      condition: held.condition,
      names: { ...names([...Object.keys(fields), 'replan']), ...held.names },
      values: { ...values(fields), ...held.values },
    });
    if (!saved.ok) {
      throw new RunStoreError(
        `export run ${runId}: another planner invocation took over the run (or it is no longer planning: ${describePlanning(saved)}); this one stops without saving its change cursor`,
      );
    }
  }

  /** The stored bookmark of a change feed (`feed`: e.g. `bynder#<portal>`), with the run that planned up to it. */
  async getBookmark(feed: string): Promise<StoredBookmark | undefined> {
    const result = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: bookmarkKey(feed) }, ConsistentRead: true }));
    const parsed = StoredBookmarkSchema.safeParse(result.Item);
    if (result.Item !== undefined && !parsed.success) {
      throw new RunStoreError(
        `the export bookmark ${bookmarkKey(feed)} in the export ledger is not readable; delete the item for a full export, or give the run a since date`,
      );
    }
    return parsed.success ? parsed.data : undefined;
  }

  async setBookmark(feed: string, stored: StoredBookmark, now: Date): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: bookmarkKey(feed), kind: 'bookmark', ...stored, updatedAt: now.toISOString() },
      }),
    );
  }

  /**
   * Applies `update` to the run's item while it exists (a run whose item expired is not
   * recreated by a late counter). Returns the run after the update, or the failure.
   */
  private addToCounters(
    runId: string,
    update: string,
    parts: { names: Record<string, string>; values: Record<string, unknown> },
  ): Promise<ConditionalWriteResult<Record<string, unknown>>> {
    return conditionalUpdate(this.doc, {
      tableName: this.tableName,
      key: { pk: runKey(runId) },
      update,
      condition: PRESENT,
      names: { ...names(['pk']), ...parts.names },
      values: parts.values,
    });
  }

  /** The condition that `owner` holds the planning lease of a run still planning. */
  private heldByPlanner(owner: string): { condition: string; names: Record<string, string>; values: Record<string, unknown> } {
    return {
      condition: '#state = :planning AND #planningOwner = :owner',
      names: names(['state', 'planningOwner']),
      values: values({ planning: 'planning', owner }),
    };
  }

  private parse(item: Record<string, unknown> | undefined, runId: string): ExportRunState {
    const parsed = ExportRunStateSchema.safeParse(item);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new RunStoreError(`export run ${runId}: its state in the export ledger is not readable (${issues})`);
    }
    return parsed.data;
  }
}

export function scheduledRunPointerKey(connector?: string): string {
  return connector === undefined || connector === 'ibinder' ? SCHEDULED_RUN_POINTER_KEY : `${SCHEDULED_RUN_POINTER_KEY}#${connector}`;
}

export const bookmarkKey = (feed: string): string => `bookmark#${feed}`;

/** A change feed's bookmark as the ledger keeps it: opaque to the store (the connector validates it). */
export const StoredBookmarkSchema = lazySchema(() =>
  z.object({
    /** JSON of the connector's bookmark; absent until a run has seen anything. */
    bookmark: z.optional(z.string()),
    /** The run whose completed feed set it. */
    runId: z.string(),
  }),
);
export type StoredBookmark = z.infer<typeof StoredBookmarkSchema>;

/** What a change-feed planner saves after each page. */
export interface ChangeFeedProgress {
  /** JSON of the connector's cursor. */
  cursor: string;
  documentsSeen: number;
  skippedUnchanged: number;
  documentErrors: number;
  deletedAssets: number;
  /** Assets planned by id that could not be planned: kept for the next run. */
  replanLeft?: ReplanAsset[];
}

/** True when every enqueued job of a planned run has settled. */
export function isRunSettled(run: ExportRunState): boolean {
  return run.state === 'planned' && run.settled >= run.versionsEnqueued;
}

const ABSENT = 'attribute_not_exists(#pk)';
const PRESENT = 'attribute_exists(#pk)';

function noRun(runId: string): RunStoreError {
  return new RunStoreError(`export run ${runId} is not in the export ledger (expired or never created); its versions cannot be counted`);
}

/** Who holds the planning of a run whose conditional write failed, from the item returned with the failure. */
function describePlanning(result: ConditionalWriteResult<Record<string, unknown>>): string {
  if (result.ok) return 'written';
  const current = result.current;
  if (current === undefined) return 'the run item is gone';
  const holder = typeof current.planningOwner === 'string' ? `held by ${current.planningOwner}` : 'held by nobody';
  return `state ${String(current.state)}, ${holder}`;
}
