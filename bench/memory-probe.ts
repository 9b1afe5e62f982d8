/**
 * Peak memory of the current process. Two views, because they answer different questions:
 * - `maxRSS` (getrusage) is the kernel's high-water mark of resident memory: what a Lambda's
 *   memory limit sees, start-up and loaded modules included. It cannot be missed by sampling.
 * - `heapUsed + external`, sampled on a timer, is what the code itself holds on to: JS objects
 *   plus Buffers (stream chunks live in `external`/`arrayBuffers`). A copy that buffers a file
 *   shows up here first.
 */
import type { MemoryPeak } from './protocol.js';

export interface MemoryProbe {
  /** Takes one more sample and returns the peaks so far. */
  peak(): MemoryPeak;
  stop(): void;
}

export function startMemoryProbe(intervalMs = 20): MemoryProbe {
  let peakHeapAndExternal = 0;
  let peakArrayBuffers = 0;
  let samples = 0;
  const sample = (): void => {
    const usage = process.memoryUsage();
    samples += 1;
    peakHeapAndExternal = Math.max(peakHeapAndExternal, usage.heapUsed + usage.external);
    peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    peak: () => {
      sample();
      return {
        // Node reports maxRSS in kilobytes.
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        peakHeapAndExternalBytes: peakHeapAndExternal,
        peakArrayBuffersBytes: peakArrayBuffers,
        samples,
      };
    },
    stop: () => clearInterval(timer),
  };
}
