/**
 * Switchable faults: make the next N matching calls answer 429/500/503, arrive late, or lose
 * their connection, so that retry, backoff and Retry-After handling can be tested against a
 * real socket instead of a mock. Faults are consumed in the order they were added; a call
 * takes at most one fault.
 */
import { z } from 'zod';
import type { RouteKind } from './routes.js';

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
  /** Destroy the socket without answering. */
  dropConnection?: boolean;
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
}

export interface CallIdentity {
  method: string;
  /** Route template relative to `/api` for API routes. */
  template: string;
  kind: RouteKind | 'unmatched';
}

/** What the server does with a call that took a fault. */
export interface FaultAction {
  status: number | undefined;
  retryAfterSeconds: number | undefined;
  latencyMs: number;
  dropConnection: boolean;
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
  })
  .strict()
  .refine((f) => f.status !== undefined || f.latencyMs !== undefined || f.dropConnection === true, {
    message: 'A fault needs at least one of status, latencyMs or dropConnection',
  });
export const FaultRequestSchema = z.union([FaultSpecSchema, z.array(FaultSpecSchema)]);

export function faultSpecFromJson(input: z.infer<typeof FaultSpecSchema>): FaultSpec {
  const { times, ...rest } = input;
  return { ...rest, ...(times === undefined ? {} : { times: times === 'always' ? Infinity : times }) };
}

export class FaultController {
  private faults: ActiveFault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): ActiveFault {
    const times = spec.times ?? 1;
    if (!(times > 0)) throw new RangeError(`Fault times must be positive, got ${times}`);
    if (spec.status === undefined && spec.latencyMs === undefined && !spec.dropConnection) {
      throw new RangeError('A fault needs at least one of status, latencyMs or dropConnection');
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
    };
    this.faults.push(fault);
    return { ...fault };
  }

  clear(): void {
    this.faults = [];
  }

  /** Faults that still have applications left. */
  list(): ActiveFault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  /** Consumes and returns the first fault that matches the call, if any. */
  take(call: CallIdentity): FaultAction | undefined {
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
        status: fault.status,
        retryAfterSeconds: fault.retryAfterSeconds,
        latencyMs: fault.latencyMs ?? 0,
        dropConnection: fault.dropConnection,
      };
    }
    return undefined;
  }
}

function matches(fault: ActiveFault, call: CallIdentity): boolean {
  if (fault.method !== undefined && fault.method !== call.method) return false;
  const route = fault.route.trim();
  if (route === '*') return true;
  if (route === 'api' || route === 'token' || route === 'storage') return call.kind === route;
  const spaced = route.indexOf(' ');
  if (spaced > 0) {
    if (route.slice(0, spaced).toUpperCase() !== call.method) return false;
    return normalise(route.slice(spaced + 1)) === call.template;
  }
  return normalise(route) === call.template;
}

function normalise(template: string): string {
  const t = template.trim();
  return t === '/api' ? '/' : t.startsWith('/api/') ? t.slice(4) : t;
}
