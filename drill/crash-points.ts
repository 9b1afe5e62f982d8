/**
 * Crash points for the fault drill: the ingest's dependencies wrapped from outside so that, now
 * and then, a record's processing stops dead at one of the places where a Lambda that dies
 * leaves the most to recover:
 *
 * - `after-put`: the bytes were accepted by storage, the ledger does not know yet;
 * - `after-transfer-recorded`: the ledger says "transferred", nothing was committed;
 * - `after-commit`: iBinder created the version, the ledger does not say "committed".
 *
 * How a crash is modelled: the wrapped call does its work, then throws `SimulatedCrash`. From
 * that moment the claim it happened under is dead: every later ledger write under that claim's
 * token, and every transfer or commit of that object's uploads, is refused with the same error
 * (and counted), so nothing after the crash point reaches the ledger or iBinder, as if the
 * invocation had died. The ingest sees an unexpected error and hands the record back to SQS
 * (a batch item failure), which redelivers it after the visibility timeout: what SQS does for a
 * message whose invocation died. Unlike a real crash, the other records of the same batch go
 * on; each of them meets its own crash points.
 *
 * Which record crashes is decided by a seeded draw per object, crash point and occurrence, so
 * the same seed crashes the same files at the same points, whatever order they run in.
 */
import type { IngestDependencies } from '../functions/ingest/types.js';
import { seededRandom } from '../emulator/seeded-random.js';
import type { ConnectorDestination, IngestConnector } from '../shared/connectors/types.js';
import { ledgerKey, type ClaimLease, type IngestLedgerStore, type ObjectRef } from '../shared/ledger/types.js';
import { currentLogContext } from '../shared/observability/log-context.js';

export const CRASH_POINTS = ['after-put', 'after-transfer-recorded', 'after-commit'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** Thrown where the simulated Lambda died, and by every call its dead claim still attempts. */
export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
  constructor(
    readonly point: CrashPoint,
    readonly objectKey: string,
    readonly afterCrash = false,
  ) {
    super(
      afterCrash
        ? `a call for ${objectKey} after its invocation crashed (${point}) was refused: a died invocation does nothing more`
        : `simulated crash ${point} while ingesting ${objectKey}: the invocation died here, SQS redelivers the message after its visibility timeout`,
    );
  }
}

export interface CrashPointOptions {
  /** Probability that a record crashes each time it reaches a crash point, from 0 to 1. */
  rate: number;
  /** Seed of the draws. */
  seed: number | string;
  /** Which points may crash. Default: all three. */
  points?: readonly CrashPoint[];
}

export interface CrashCounts {
  byPoint: Record<CrashPoint, number>;
  total: number;
  /** Calls a dead claim still attempted and that were refused (see the module note). */
  refusedAfterCrash: number;
}

export class CrashPoints {
  private readonly rate: number;
  private readonly seed: string;
  private readonly points: ReadonlySet<CrashPoint>;
  private readonly crashed: Record<CrashPoint, number> = { 'after-put': 0, 'after-transfer-recorded': 0, 'after-commit': 0 };
  private refused = 0;
  /** How often each object reached each point, so a draw is fixed per object and occurrence. */
  private readonly occurrences = new Map<string, number>();
  /** The claim token of the latest claim of each object (ledger key -> token). */
  private readonly currentToken = new Map<string, string>();
  /** Which object each upload id belongs to (upload id -> ledger key and object key). */
  private readonly uploads = new Map<string, { pk: string; key: string }>();
  /** Claims whose invocation crashed: token -> the point it crashed at. */
  private readonly deadTokens = new Map<string, CrashPoint>();

  constructor(options: CrashPointOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError(`The crash rate is a probability from 0 to 1, got ${options.rate}`);
    this.rate = options.rate;
    this.seed = String(options.seed);
    this.points = new Set(options.points ?? CRASH_POINTS);
  }

  counts(): CrashCounts {
    const byPoint = { ...this.crashed };
    return { byPoint, total: Object.values(byPoint).reduce((a, b) => a + b, 0), refusedAfterCrash: this.refused };
  }

  /** The same dependencies, with every connector's destination and the ledger able to crash. */
  wrap(deps: IngestDependencies): IngestDependencies {
    const connectors = deps.connectors.map((c): IngestConnector => ({ ...c, destination: this.wrapDestination(c.destination) }));
    return { ...deps, connectors, ledger: this.wrapLedger(deps.ledger) };
  }

  private wrapDestination(inner: ConnectorDestination): ConnectorDestination {
    return delegate<ConnectorDestination>(inner, (args) => this.refuseIfDead(uploadOwnerOf(args, this.uploads)), {
      transfer: async (...args: Parameters<ConnectorDestination['transfer']>) => {
        const [upload] = args;
        this.refuseIfDead(this.uploads.get(upload.uploadId));
        await inner.transfer(...args);
        // The ledger learns an upload only once it is transferred (a small file may even be sent
        // before its claim): the record being ingested names the object. Nothing runs under the
        // claim after a transfer that throws, so no claim is marked dead here.
        this.maybeCrash('after-put', this.uploads.get(upload.uploadId) ?? objectOfCurrentRecord(), { claimDies: false });
      },
      commit: async (...args: Parameters<ConnectorDestination['commit']>) => {
        const [, uploadId] = args;
        const owner = this.uploads.get(uploadId);
        this.refuseIfDead(owner);
        const committed = await inner.commit(...args);
        this.maybeCrash('after-commit', owner);
        return committed;
      },
    });
  }

  /**
   * Every ledger method is passed through; any call that carries a claim lease whose
   * invocation crashed is refused first, so new ledger methods are covered without a change here.
   */
  private wrapLedger(inner: IngestLedgerStore): IngestLedgerStore {
    const guard = (args: readonly unknown[]): void => {
      const ref = args[0];
      for (const arg of args) {
        if (!isClaimLease(arg)) continue;
        const point = this.deadTokens.get(arg.token);
        if (point !== undefined) this.refuse(point, isObjectRef(ref) ? ref.key : '(unknown object)');
      }
    };
    return delegate<IngestLedgerStore>(inner, guard, {
      claim: async (...args: Parameters<IngestLedgerStore['claim']>) => {
        const result = await inner.claim(...args);
        if (result.outcome === 'claimed') this.currentToken.set(ledgerKey(args[0]), result.lease.token);
        return result;
      },
      markTransferred: async (...args: Parameters<IngestLedgerStore['markTransferred']>) => {
        guard(args);
        const [ref, , upload] = args;
        this.uploads.set(upload.uploadId, { pk: ledgerKey(ref), key: ref.key });
        await inner.markTransferred(...args);
        this.maybeCrash('after-transfer-recorded', { pk: ledgerKey(ref), key: ref.key });
      },
      recordTransfer: async (...args: Parameters<IngestLedgerStore['recordTransfer']>) => {
        guard(args);
        const [ref, , upload] = args;
        this.uploads.set(upload.uploadId, { pk: ledgerKey(ref), key: ref.key });
        const recorded = await inner.recordTransfer(...args);
        this.maybeCrash('after-transfer-recorded', { pk: ledgerKey(ref), key: ref.key });
        return recorded;
      },
      claimTransferred: async (...args: Parameters<IngestLedgerStore['claimTransferred']>) => {
        const [ref, , upload] = args;
        const result = await inner.claimTransferred(...args);
        if (result.outcome !== 'claimed') return result;
        this.currentToken.set(ledgerKey(ref), result.lease.token);
        this.uploads.set(upload.uploadId, { pk: ledgerKey(ref), key: ref.key });
        this.maybeCrash('after-transfer-recorded', { pk: ledgerKey(ref), key: ref.key });
        return result;
      },
    });
  }

  private maybeCrash(point: CrashPoint, owner: { pk: string; key: string } | undefined, options = { claimDies: true }): void {
    if (owner === undefined || !this.points.has(point) || this.rate === 0) return;
    const occurrenceKey = `${point}|${owner.pk}`;
    const occurrence = (this.occurrences.get(occurrenceKey) ?? 0) + 1;
    this.occurrences.set(occurrenceKey, occurrence);
    if (seededRandom(`${this.seed}|${occurrenceKey}|${occurrence}`)() >= this.rate) return;
    const token = options.claimDies ? this.currentToken.get(owner.pk) : undefined;
    if (token !== undefined) this.deadTokens.set(token, point);
    this.crashed[point] += 1;
    throw new SimulatedCrash(point, owner.key);
  }

  /** A transfer or commit for an object whose current claim died. */
  private refuseIfDead(owner: { pk: string; key: string } | undefined): void {
    if (owner === undefined) return;
    const token = this.currentToken.get(owner.pk);
    const point = token === undefined ? undefined : this.deadTokens.get(token);
    if (point !== undefined) this.refuse(point, owner.key);
  }

  private refuse(point: CrashPoint, key: string): never {
    this.refused += 1;
    throw new SimulatedCrash(point, key, true);
  }
}

/**
 * `inner` with some methods replaced; every other method is passed through after `guard` has
 * seen its arguments (a dead claim's call is refused there). A proxy rather than a list of
 * methods, so that a method added to the interface later is still guarded and passed through.
 */
function delegate<T extends object>(inner: T, guard: (args: readonly unknown[]) => void, overrides: Partial<T>): T {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return (overrides as Record<PropertyKey, unknown>)[property];
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      // Every method of the destination and ledger interfaces is async: a refusal is a rejection.
      return (...args: unknown[]): unknown => {
        try {
          guard(args);
        } catch (err) {
          return Promise.reject(err);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function isClaimLease(value: unknown): value is ClaimLease {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ClaimLease).token === 'string' &&
    typeof (value as ClaimLease).owner === 'string'
  );
}

function isObjectRef(value: unknown): value is ObjectRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ObjectRef).key === 'string' &&
    typeof (value as ObjectRef).bucket === 'string'
  );
}

/** The object of the record being ingested, from its log context (bucket, key, object version), if there is one. */
function objectOfCurrentRecord(): { pk: string; key: string } | undefined {
  const { bucket, key, objectVersionId } = currentLogContext();
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof objectVersionId !== 'string') return undefined;
  return { pk: `${bucket}/${key}#${objectVersionId}`, key };
}

/** The object an upload belongs to, for a destination call whose arguments name an upload id. */
function uploadOwnerOf(
  args: readonly unknown[],
  uploads: ReadonlyMap<string, { pk: string; key: string }>,
): { pk: string; key: string } | undefined {
  for (const arg of args) {
    if (typeof arg === 'string' && uploads.has(arg)) return uploads.get(arg);
    const uploadId = typeof arg === 'object' && arg !== null ? (arg as { uploadId?: unknown }).uploadId : undefined;
    if (typeof uploadId === 'string') return uploads.get(uploadId);
  }
  return undefined;
}
