/**
 * A clock that only moves when told to. The SQS simulator and the demo share one, so that a
 * visibility timeout of three minutes or an untagged-object grace period of five passes in an
 * instant, and tests assert on exact times instead of sleeping.
 */
export class SimulatedClock {
  private current: number;

  /** Starts at `startMs` (default: the real time now, so timestamps in reports look real). */
  constructor(startMs: number = Date.now()) {
    this.current = startMs;
  }

  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number {
    return this.current;
  }

  /** Moves the clock forward; a negative step is a bug in the caller. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError(`SimulatedClock.advance: step must be a finite, non-negative number of ms, got ${ms}`);
    this.current += ms;
  }

  /** Moves the clock to `ms` if that is later than now; never goes back. */
  advanceTo(ms: number): void {
    if (ms > this.current) this.current = ms;
  }
}

/** The function shape business logic takes as its clock. */
export type Now = () => number;
