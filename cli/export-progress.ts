/**
 * The export's progress bar: versions done of planned, bytes, rate and time left, on stderr.
 * Only for a person at a terminal: with --json or without a TTY (a pipe, a CI log) it stays
 * silent, and the summary at the end says everything.
 *
 * The bar is the Output's live line, so warnings are written above it instead of into it.
 * Time left is computed here from the versions done so far: cli-progress's own estimate
 * shows "INF" until enough updates arrived, which is most of a slow run. `stop` is final and
 * idempotent (the Ctrl-C handler and the command's `finally` may both call it): it shows the
 * cursor again, and updates that arrive after it draw nothing, so nothing overwrites the
 * summary.
 */
import { SingleBar } from 'cli-progress';
import type { CliIo } from './io.js';
import type { Output } from './output.js';

/** What the bar shows: jobs finished of planned, and bytes archived so far. */
export interface ExportProgress {
  done: number;
  total: number;
  bytes: number;
}

export interface ProgressReporter {
  update(progress: ExportProgress): void;
  stop(): void;
}

export const silentProgress: ProgressReporter = { update: () => undefined, stop: () => undefined };

/** Shown while no estimate is possible yet (nothing done, or nothing planned). */
export const ETA_UNKNOWN = 'estimating';

/** Clears the terminal line the cursor is on and returns to its start. */
const CLEAR_LINE = '\r\x1b[2K';

export function createExportProgress(
  io: CliIo,
  output: Pick<Output, 'attachLiveLine'>,
  options: { json: boolean; now?: () => number },
): ProgressReporter {
  if (options.json || !io.stderr.isTTY) return silentProgress;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const stream = io.stderr as NodeJS.WritableStream;
  const bar = new SingleBar({
    // cli-progress positions the cursor with readline, so it needs the terminal's stream itself.
    stream,
    format: 'exporting [{bar}] {value}/{total} versions | {bytesText} | {rateText} | {etaText}',
    hideCursor: true,
    barsize: 30,
    // The Ctrl-C handler of the export command stops the bar itself, then says how to resume.
    gracefulExit: false,
  });
  let state: 'new' | 'running' | 'stopped' = 'new';
  let detach: () => void = () => undefined;
  return {
    update(progress) {
      if (state === 'stopped') return;
      const elapsedMs = Math.max(now() - startedAt, 1);
      const payload = {
        bytesText: formatBytes(progress.bytes),
        rateText: `${formatBytes((progress.bytes * 1000) / elapsedMs)}/s`,
        etaText: estimateTimeLeft(progress, elapsedMs),
      };
      if (state === 'new') {
        bar.start(progress.total, progress.done, payload);
        detach = output.attachLiveLine({ clear: () => stream.write(CLEAR_LINE), redraw: () => bar.render() });
        state = 'running';
      } else {
        bar.setTotal(progress.total);
        bar.update(progress.done, payload);
      }
    },
    stop() {
      if (state === 'running') {
        detach();
        bar.stop();
      }
      state = 'stopped';
    },
  };
}

/** "1 min 20 s left", or ETA_UNKNOWN while nothing is done or planned. */
export function estimateTimeLeft(progress: Pick<ExportProgress, 'done' | 'total'>, elapsedMs: number): string {
  if (progress.done <= 0 || progress.total <= 0) return ETA_UNKNOWN;
  const remaining = Math.max(progress.total - progress.done, 0);
  return `${formatDuration((elapsedMs / progress.done) * remaining)} left`;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
