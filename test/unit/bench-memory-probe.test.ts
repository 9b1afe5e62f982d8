/**
 * The bench's peak memory is the measured process's own: a process started by a parent that
 * holds a lot of memory must not report the parent's high-water mark (getrusage's maxRSS does,
 * on Linux, across fork and exec), or every ratio of two peaks is flattened by that floor.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ownMaxRssBytes } from '../../bench/memory-probe.js';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const PROBE = fileURLToPath(new URL('../../bench/memory-probe.ts', import.meta.url));

/** Peaks a fresh process reports after allocating `mib` MiB: its own and getrusage's. */
async function childPeaks(mib: number): Promise<{ own: number; rusage: number }> {
  const script =
    `const { ownMaxRssBytes } = await import(${JSON.stringify(PROBE)});` +
    `const held = Buffer.alloc(${mib} * 1048576, 1);` +
    'process.stdout.write(JSON.stringify({ own: ownMaxRssBytes(), rusage: process.resourceUsage().maxRSS * 1024, held: held[0] }));';
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
  return JSON.parse(stdout) as { own: number; rusage: number };
}

describe("the measured process's peak memory", () => {
  it("counts the process's own memory, not the high-water mark of the process that started it", async () => {
    const parentHeld = Buffer.alloc(600 * MIB, 1);
    expect(process.memoryUsage().rss).toBeGreaterThan(600 * MIB);
    const small = await childPeaks(10);
    const large = await childPeaks(200);
    expect(parentHeld[0]).toBe(1);
    // getrusage inherits the parent's 600+ MiB; the own figure does not.
    expect(small.rusage).toBeGreaterThan(600 * MIB);
    expect(small.own).toBeLessThan(300 * MIB);
    // ... and it follows what the process itself holds.
    expect(large.own - small.own).toBeGreaterThan(150 * MIB);
  });

  it('reads a peak at least as large as the current resident memory', () => {
    expect(ownMaxRssBytes()).toBeGreaterThanOrEqual(process.memoryUsage().rss - 8 * MIB);
  });
});
