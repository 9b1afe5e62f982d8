/**
 * Peak memory of the current process. Two views, because they answer different questions:
 * - `maxRSS` is the kernel's high-water mark of resident memory: what a Lambda's memory limit
 *   sees, start-up and loaded modules included. It cannot be missed by sampling. It is read from
 *   `VmHWM` in /proc/self/status, this process's own memory: getrusage's maxRSS keeps the
 *   parent's high-water mark across fork and exec on Linux, so a measured process forked by a
 *   bench process holding 150 MiB reported at least 150 MiB, whatever it used itself (a floor
 *   that flattened every ratio of two peaks below it). Where /proc is missing (not Linux),
 *   getrusage's figure is the fallback.
 * - `heapUsed + external`, sampled on a timer, is what the code itself holds on to: JS objects
 *   plus Buffers (stream chunks live in `external`/`arrayBuffers`). A copy that buffers a file
 *   shows up here first.
 */
import { readFileSync } from 'node:fs';
import type { MemoryPeak } from './protocol.js';

/** This process's own peak resident memory (bytes): VmHWM where Linux has it, else getrusage's maxRSS. */
export function ownMaxRssBytes(): number {
  let status: string | undefined;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    status = undefined;
  }
  const hwm = status === undefined ? null : /^VmHWM:\s+(\d+) kB$/m.exec(status);
  // Node reports getrusage's maxRSS in kilobytes.
  return hwm?.[1] !== undefined ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

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
        maxRssBytes: ownMaxRssBytes(),
        peakHeapAndExternalBytes: peakHeapAndExternal,
        peakArrayBuffersBytes: peakArrayBuffers,
        samples,
      };
    },
    stop: () => clearInterval(timer),
  };
}
