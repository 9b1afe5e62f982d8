/**
 * Switchable faults: make the next N matching calls answer 429/500/503, arrive late, lose
 * their connection, or lose their answer after the work was done, so that retry, backoff and
 * Retry-After handling can be tested against a real socket instead of a mock. Faults are
 * consumed in the order they were added; a call takes at most one fault. A call no one-off
 * fault takes may still be faulted by the probabilistic mix (`setMix`, fault-mix.ts). Every
 * fault applied is counted by kind, so a drill can say how many of each it injected.
 */
import { z } from 'zod';
import { FaultMix, type FaultMixDescription, type FaultMixSpec } from './fault-mix.js';
import { selectorMatches, type CallIdentity } from './fault-route.js';

export type { CallIdentity } from './fault-route.js';

export interface FaultSpec {
  /**
   * Which calls: a route template (`/documents/{documentId}/versions`, with or without the
   * `/api` prefix), `METHOD template`, `api`, `token`, `storage`, or `*` (default: all).
   */
  route?: string;
  /** Restricts to one HTTP method (case-insensitive). */
  method?: string;
  /** Status to answer with. Omitted: the call proceeds normally after `latencyMs`. */
  status?: number;
  /** How many matching calls this fault applies to. Default 1; `Infinity` for all. */
  times?: number;
  /** Let this many matching calls pass untouched first (fail the 3rd call: `after: 2`). */
  after?: number;
  /** `Retry-After` seconds; 429 answers always carry one (default 1). */
  retryAfterSeconds?: number;
  /** Delay before the call is handled (or faulted). */
  latencyMs?: number;
  /** Destroy the socket without answering, before the request is read or handled. */
  dropConnection?: boolean;
  /**
   * Handle the request in full (an upload is stored, a commit creates its version), then
   * destroy the socket instead of answering: the client sees a network error for work that
   * was done, which only an idempotent retry survives.
   */
  dropResponse?: boolean;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'route'>> {
  id: number;
  method: string | undefined;
  status: number | undefined;
  /** Applications left; `null` when unlimited (JSON has no Infinity). */
  remaining: number | null;
  skipRemaining: number;
  retryAfterSeconds: number | undefined;
  latencyMs: number | undefined;
  dropConnection: boolean;
  dropResponse: boolean;
}

/** What the server does with a call that took a fault. */
export interface FaultAction {
  /** How the fault is counted: `429`, `500`, ..., `dropped-connection`, `dropped-response`, `latency`. */
  kind: string;
  status: number | undefined;
  retryAfterSeconds: number | undefined;
  latencyMs: number;
  dropConnection: boolean;
  dropResponse: boolean;
}

/** Faults applied so far, by kind (see `FaultAction.kind`). */
export interface InjectedFaults {
  total: number;
  byKind: Record<string, number>;
}

/** The body accepted by `POST /__emulator/faults` (one fault or a list). */
export const FaultSpecSchema = z
  .object({
    route: z.string().min(1).optional(),
    method: z.string().min(1).optional(),
    status: z.number().int().min(100).max(599).optional(),
    times: z.union([z.number().int().positive(), z.literal('always')]).optional(),
    after: z.number().int().nonnegative().optional(),
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    latencyMs: z.number().int().nonnegative().max(600_000).optional(),
    dropConnection: z.boolean().optional(),
    dropResponse: z.boolean().optional(),
  })
  .strict()
  .refine((f) => f.status !== undefined || f.latencyMs !== undefined || f.dropConnection === true || f.dropResponse === true, {
    message: 'A fault needs at least one of status, latencyMs, dropConnection or dropResponse',
  });
export const FaultRequestSchema = z.union([FaultSpecSchema, z.array(FaultSpecSchema)]);

export function faultSpecFromJson(input: z.infer<typeof FaultSpecSchema>): FaultSpec {
  const { times, ...rest } = input;
  return { ...rest, ...(times === undefined ? {} : { times: times === 'always' ? Infinity : times }) };
}

export class FaultController {
  private faults: ActiveFault[] = [];
  private nextId = 1;
  private mix: FaultMix | undefined;
  private readonly injectedByKind = new Map<string, number>();

  add(spec: FaultSpec): ActiveFault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError(`Fault times must be positive, got ${times}`);
    if (spec.status === undefined && spec.latencyMs === undefined && !spec.dropConnection && !spec.dropResponse) {
      throw new RangeError('A fault needs at least one of status, latencyMs, dropConnection or dropResponse');
    }
    const fault: ActiveFault = {
      id: this.nextId++,
      route: spec.route ?? '*',
      method: spec.method?.toUpperCase(),
      status: spec.status,
      remaining: Number.isFinite(times) ? times : null,
      skipRemaining: spec.after ?? 0,
      retryAfterSeconds: spec.retryAfterSeconds ?? (spec.status === 429 ? 1 : undefined),
      latencyMs: spec.latencyMs,
      dropConnection: spec.dropConnection ?? false,
      dropResponse: spec.dropResponse ?? false,
    };
    this.faults.push(fault);
    return { ...fault };
  }

  /** Removes every one-off fault and the mix; the counts of injected faults are kept. */
  clear(): void {
    this.faults = [];
    this.mix = undefined;
  }

  /** Faults a share of the calls no one-off fault takes (replaces an earlier mix). */
  setMix(spec: FaultMixSpec): FaultMixDescription {
    this.mix = new FaultMix(spec);
    return this.mix.describe();
  }

  clearMix(): void {
    this.mix = undefined;
  }

  /** The current mix, or undefined when none is set. */
  currentMix(): FaultMixDescription | undefined {
    return this.mix?.describe();
  }

  /** Faults applied since the start or the last `resetInjected()`, one-off and mix alike. */
  injected(): InjectedFaults {
    const byKind = Object.fromEntries([...this.injectedByKind].sort(([a], [b]) => a.localeCompare(b)));
    return { total: Object.values(byKind).reduce((a, b) => a + b, 0), byKind };
  }

  resetInjected(): void {
    this.injectedByKind.clear();
  }

  /** Faults that still have applications left. */
  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /**
   * Consumes and returns the first one-off fault that matches the call; without one, the mix
   * decides. Either way an applied fault is counted by its kind.
   */
  take(call: CallIdentity): FaultAction | undefined {
    const action = this.takeOneOff(call) ?? this.mix?.decide(call);
    if (action) this.injectedByKind.set(action.kind, (this.injectedByKind.get(action.kind) ?? 0) + 1);
    return action;
  }

  private takeOneOff(call: CallIdentity): FaultAction | undefined {
    for (const fault of this.faults) {
      if (!matches(fault, call)) continue;
      if (fault.skipRemaining > 0) {
        fault.skipRemaining--;
        continue;
      }
      if (fault.remaining !== null) {
        fault.remaining--;
        if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
      }
      return {
        kind: kindOf(fault),
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds,
        latencyMs: fault.latencyMs ?? 0,
        dropConnection: fault.dropConnection,
        dropResponse: fault.dropResponse,
      };
    }
    return undefined;
  }
}

function kindOf(fault: ActiveFault): string {
  if (fault.dropConnection) return 'dropped-connection';
  if (fault.dropResponse) return 'dropped-response';
  if (fault.status !== undefined) return String(fault.status);
  return 'latency';
}

function matches(fault: ActiveFault, call: CallIdentity): boolean {
  return selectorMatches(fault.route, fault.method, call);
}
