/**
 * The real time, in the SimulatedClock's shape: the SQS simulator runs on it when the local
 * stack serves people and programs in real time (`npm run local`), so that a visibility timeout
 * of a minute lasts a minute. Moving it is not possible; the calls that would are ignored,
 * because real time moves on by itself.
 */
import { SimulatedClock } from './simulated-clock.js';

export class WallClock extends SimulatedClock {
  override now(): number {
    return Date.now();
  }

  override advance(): void {
    // Real time cannot be stepped.
  }

  override advanceTo(): void {
    // Real time cannot be stepped.
  }
}
