/**
 * A probabilistic fault mix: every matching call is faulted with probability `rate`, and a
 * faulted call takes one kind drawn by weight: 429 with `Retry-After`, 500, 503, a dropped
 * connection (the socket is destroyed before anything is read or done), or a dropped response
 * (the request is handled in full, e.g. an upload committed, and then the socket is destroyed
 * instead of answering). One-off faults (`FaultController.add`) test one retry path; the mix is
 * what a fault drill runs a thousand files through, to show that no mix of failures loses a
 * file or makes one twice.
 *
 * The share is exact rather than left to chance: matching calls are taken in windows of 100,
 * and in each window exactly `round(rate * 100)` of them, at positions drawn at random, are
 * faulted. So a drill that asks for 20 % gets 20 % of every hundred calls (the rate is applied
 * in whole percent), not 17 % on an unlucky seed. Draws come from a seeded generator, so the
 * sequence of decisions is reproducible from the seed; which request gets which decision also
 * depends on the order requests arrive in, which concurrent clients do not fix.
 */
import { z } from 'zod';
import type { FaultAction } from './fault-controller.js';
import { selectorMatches, type CallIdentity } from './fault-route.js';
import { seededRandom, type RandomSource } from './seeded-random.js';

/** Matching calls per window; each window faults exactly `round(rate * WINDOW)` of them. */
export const FAULT_MIX_WINDOW = 100;

export const FAULT_MIX_KINDS = ['429', '500', '503', 'dropped-connection', 'dropped-response'] as const;
export type FaultMixKind = (typeof FAULT_MIX_KINDS)[number];

export interface FaultMixSpec {
  /** Share of matching calls to fault, from 0 to 1; applied exactly per 100 calls, in whole percent. */
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
  private readonly faultsPerWindow: number;
  /** Which positions of the current window are faulted; refilled when it is used up. */
  private window: boolean[] = [];

  constructor(spec: FaultMixSpec) {
    if (!(spec.rate >= 0 && spec.rate <= 1)) throw new RangeError(`A fault mix rate is a share from 0 to 1, got ${spec.rate}`);
    const kinds = Object.fromEntries(FAULT_MIX_KINDS.map((k) => [k, spec.kinds ? (spec.kinds[k] ?? 0) : 1])) as Record<
      FaultMixKind,
      number
    >;
    const totalWeight = Object.values(kinds).reduce((a, b) => a + b, 0);
    for (const [kind, weight] of Object.entries(kinds)) {
      if (!(weight >= 0) || !Number.isFinite(weight))
        throw new RangeError(`The weight of fault kind ${kind} must be a finite number of at least 0, got ${weight}`);
    }
    if (spec.rate > 0 && totalWeight <= 0)
      throw new RangeError('A fault mix with a rate above 0 needs at least one kind with a weight above 0');
    const seed = spec.seed ?? 1;
    this.random = seededRandom(seed);
    this.description = {
      rate: spec.rate,
      seed,
      routes: [...(spec.routes ?? ['api', 'storage'])],
      kinds,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
    };
    this.faultsPerWindow = Math.round(spec.rate * FAULT_MIX_WINDOW);
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
    if (!this.nextPositionFaulted()) return undefined;
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

  /** A fresh window is a random permutation of `faultsPerWindow` faulted positions. */
  private nextPositionFaulted(): boolean {
    if (this.window.length === 0) {
      const positions = Array.from({ length: FAULT_MIX_WINDOW }, (_, i) => i < this.faultsPerWindow);
      for (let i = positions.length - 1; i > 0; i -= 1) {
        const j = Math.floor(this.random() * (i + 1));
        [positions[i], positions[j]] = [positions[j] as boolean, positions[i] as boolean];
      }
      this.window = positions;
    }
    return this.window.pop() ?? false;
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
