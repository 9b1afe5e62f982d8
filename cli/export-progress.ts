/**
 * The export's progress bar: versions done of planned, bytes, rate and time left, on stderr.
 * Only for a person at a terminal: with --json or without a TTY (a pipe, a CI log) it stays
 * silent, and the summary at the end says everything.
 */
import { SingleBar } from 'cli-progress';
import type { RunExportProgress } from '../functions/export-planner/run-export.js';
import type { CliIo } from './io.js';

export interface ProgressReporter {
  update(progress: RunExportProgress): void;
  stop(): void;
}

export const silentProgress: ProgressReporter = { update: () => undefined, stop: () => undefined };

export function createExportProgress(io: CliIo, options: { json: boolean; now?: () => number }): ProgressReporter {
  if (options.json || !io.stderr.isTTY) return silentProgress;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const bar = new SingleBar({
    // cli-progress positions the cursor with readline, so it needs the terminal's stream itself.
    stream: io.stderr as NodeJS.WritableStream,
    format: 'exporting [{bar}] {value}/{total} versions | {bytesText} | {rateText} | {eta_formatted} left',
    hideCursor: true,
    etaBuffer: 20,
    barsize: 30,
  });
  let started = false;
  return {
    update(progress) {
      const seconds = Math.max((now() - startedAt) / 1000, 0.001);
      const payload = { bytesText: formatBytes(progress.bytes), rateText: `${formatBytes(progress.bytes / seconds)}/s` };
      if (!started) {
        bar.start(progress.total, progress.done, payload);
        started = true;
      } else {
        bar.setTotal(progress.total);
        bar.update(progress.done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
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
