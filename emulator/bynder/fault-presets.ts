/**
 * The named faults Bynder clients must survive, shared by the programmatic handle
 * (`emulator.faults.failChunkUploads(2)`) and the control API (`{"preset":"chunk-500"}`).
 */
import type { BynderContext } from './context.js';

export const FAULT_PRESETS = [
  'chunk-500',
  'finalise-500',
  'lose-save-response',
  'drop-connection',
  'expire-tokens',
  'expire-download-links',
  'rate-limit-now',
] as const;
export type FaultPreset = (typeof FAULT_PRESETS)[number];

export function applyFaultPreset(ctx: BynderContext, preset: FaultPreset, times = 1, route?: string): void {
  switch (preset) {
    case 'chunk-500':
      ctx.pendingFaults.add('chunk500', times);
      return;
    case 'finalise-500':
      ctx.pendingFaults.add('finalise500', times);
      return;
    case 'lose-save-response':
      ctx.pendingFaults.add('lostSaveResponse', times);
      return;
    case 'drop-connection':
      ctx.faults.add({ route: route ?? '*', dropConnection: true, times });
      return;
    case 'expire-tokens':
      ctx.tokens.expireAll();
      return;
    case 'expire-download-links':
      ctx.linkGeneration.value++;
      return;
    case 'rate-limit-now':
      ctx.rateLimiter.blockNow();
      return;
  }
}
