/**
 * A probabilistic fault mix: every matching call is faulted with probability `rate`, and a
 * faulted call takes one kind drawn by weight: 429 with `Retry-After`, 500, 503, a dropped
 * connection (the socket is destroyed before anything is read or done), or a dropped response
 * (the request is handled in full, e.g. an upload committed, and then the socket is destroyed
 * instead of answering). One-off faults (`FaultController.add`) test one retry path; the mix is
 * what a fault drill runs a thousand files through, to show that no mix of failures loses a
 * file or makes one twice.
 *
 * Draws come from a seeded generator, so the sequence of decisions is reproducible from the
 * seed; which request gets which decision also depends on the order requests arrive in, which
 * concurrent clients do not fix.
 */
import { z } from 'zod';
import type { FaultAction } from './fault-controller.js';
import { selectorMatches, type CallIdentity } from './fault-route.js';
import { seededRandom, type RandomSource } from './seeded-random.js';

export const FAULT_MIX_KINDS = ['429', '500', '503', 'dropped-connection', 'dropped-response'] as const;
export type FaultMixKind = (typeof FAULT_MIX_KINDS)[number];

export interface FaultMixSpec {
  /** Share of matching calls to fault, from 0 to 1. */
  rate: number;
  /** Seed of the draws; the same seed gives the same sequence. Default 1. */
  seed?: number | string;
  /** Which calls (selectors as for one-off faults). Default `['api', 'storage']`: not the token endpoint. */
  routes?: string[];
  /** Relative weight of each kind. Default: every kind weight 1. A kind left out has weight 0. */
  kinds?: Partial<Record<FaultMixKind, number>>;
  /** `Retry-After` of the 429s, in seconds. Default 1 (short, so that a drill finishes). */
  retryAfterSeconds?: number;
}

/** What `FaultMix.describe()` and `GET /__emulator/faults` show. */
export interface FaultMixDescription {
  rate: number;
  seed: number | string;
  routes: string[];
  kinds: Record<FaultMixKind, number>;
  retryAfterSeconds: number;
}

/** The body accepted by `POST /__emulator/fault-mix`. */
export const FaultMixSpecSchema = z
  .object({
    rate: z.number().min(0).max(1),
    seed: z.union([z.number().int(), z.string().min(1)]).optional(),
    routes: z.array(z.string().min(1)).min(1).optional(),
    kinds: z.partialRecord(z.enum(FAULT_MIX_KINDS), z.number().nonnegative()).optional(),
    retryAfterSeconds: z.number().int().nonnegative().max(3600).optional(),
  })
  .strict();

export class FaultMix {
  private readonly random: RandomSource;
  private readonly description: FaultMixDescription;
  private readonly weighted: { kind: FaultMixKind; upTo: number }[];

  constructor(spec: FaultMixSpec) {
    if (!(spec.rate >= 0 && spec.rate <= 1)) throw new RangeError(`A fault mix rate is a share from 0 to 1, got ${spec.rate}`);
    const kinds = Object.fromEntries(FAULT_MIX_KINDS.map((k) => [k, spec.kinds ? (spec.kinds[k] ?? 0) : 1])) as Record<FaultMixKind, number>;
    const totalWeight = Object.values(kinds).reduce((a, b) => a + b, 0);
    for (const [kind, weight] of Object.entries(kinds)) {
      if (!(weight >= 0) || !Number.isFinite(weight)) throw new RangeError(`The weight of fault kind ${kind} must be a finite number of at least 0, got ${weight}`);
    }
    if (spec.rate > 0 && totalWeight <= 0) throw new RangeError('A fault mix with a rate above 0 needs at least one kind with a weight above 0');
    const seed = spec.seed ?? 1;
    this.random = seededRandom(seed);
    this.description = {
      rate: spec.rate,
      seed,
      routes: [...(spec.routes ?? ['api', 'storage'])],
      kinds,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
    };
    let cumulative = 0;
    this.weighted = FAULT_MIX_KINDS.filter((k) => kinds[k] > 0).map((kind) => {
      cumulative += kinds[kind] / totalWeight;
      return { kind, upTo: cumulative };
    });
  }

  describe(): FaultMixDescription {
    return { ...this.description, routes: [...this.description.routes], kinds: { ...this.description.kinds } };
  }

  /** Draws for one call: the fault to apply, or undefined to let it through. */
  decide(call: CallIdentity): FaultAction | undefined {
    if (!this.description.routes.some((selector) => selectorMatches(selector, undefined, call))) return undefined;
    if (this.random() >= this.description.rate) return undefined;
    const draw = this.random();
    const kind = (this.weighted.find((w) => draw < w.upTo) ?? this.weighted[this.weighted.length - 1])?.kind;
    switch (kind) {
      case '429':
        return action('429', { status: 429, retryAfterSeconds: this.description.retryAfterSeconds });
      case '500':
        return action('500', { status: 500 });
      case '503':
        return action('503', { status: 503 });
      case 'dropped-connection':
        return action('dropped-connection', { dropConnection: true });
      case 'dropped-response':
        return action('dropped-response', { dropResponse: true });
      case undefined:
        return undefined;
    }
  }
}

function action(kind: FaultMixKind, fields: Partial<Omit<FaultAction, 'kind'>>): FaultAction {
  return {
    kind,
    status: fields.status,
    retryAfterSeconds: fields.retryAfterSeconds,
    latencyMs: 0,
    dropConnection: fields.dropConnection ?? false,
    dropResponse: fields.dropResponse ?? false,
  };
}
