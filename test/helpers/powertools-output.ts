/**
 * What the functions print, captured in a test: the Powertools Logger's JSON lines and the
 * Powertools Metrics' EMF blobs, produced by the real libraries.
 *
 * Both libraries write to the global `console` when POWERTOOLS_DEV is set (and to a private
 * Console on stdout otherwise); that is the documented switch, so the capture needs no
 * monkey-patching of library internals. POWERTOOLS_DEV must be set before a Logger or
 * Metrics instance is created: for module-level instances (shared/observability/logger.ts),
 * set it in `vi.hoisted`, which runs before the test file's imports. Metrics publish nothing
 * in dev mode unless POWERTOOLS_METRICS_DISABLED is "false". Dev mode indents the JSON; each
 * captured entry is one console call, whatever its line breaks.
 */
import { format } from 'node:util';
import { vi } from 'vitest';

/** The variables that make Powertools print through the global console, metrics included. */
export const POWERTOOLS_CAPTURE_ENV = { POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' } as const;

export interface ConsoleCapture {
  /** One entry per console call, in order. */
  readonly entries: string[];
  /** Entries that are JSON objects, parsed. */
  json(): Record<string, unknown>[];
  restore(): void;
}

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Captures every console call (instead of printing it) until `restore`. */
export function captureConsole(): ConsoleCapture {
  const entries: string[] = [];
  const spies = METHODS.map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      entries.push(format(...args));
    }),
  );
  return {
    entries,
    json: () =>
      entries.flatMap((entry) => {
        try {
          const parsed: unknown = JSON.parse(entry);
          return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
}

/** One value of one metric under one dimension set, as CloudWatch would store it from EMF. */
export interface EmfDatapoint {
  namespace: string;
  metricName: string;
  unit: string | undefined;
  dimensions: Record<string, string>;
  value: number;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit?: string }[];
}

/**
 * The datapoints of every EMF blob among `objects` (one per value, per metric, per dimension
 * set), read the way CloudWatch reads the embedded metric format.
 */
export function emfDatapoints(objects: readonly Record<string, unknown>[]): EmfDatapoint[] {
  const points: EmfDatapoint[] = [];
  for (const object of objects) {
    const aws = object._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((name) => [name, String(object[name])]));
        for (const metric of directive.Metrics) {
          const raw = object[metric.Name];
          for (const value of Array.isArray(raw) ? raw : [raw]) {
            points.push({ namespace: directive.Namespace, metricName: metric.Name, unit: metric.Unit, dimensions, value: Number(value) });
          }
        }
      }
    }
  }
  return points;
}

/** Sum of the values of a metric under exactly these dimensions. */
export function sumOf(points: readonly EmfDatapoint[], metricName: string, dimensions: Record<string, string>): number {
  const wanted = JSON.stringify(Object.entries(dimensions).sort());
  return points
    .filter((p) => p.metricName === metricName && JSON.stringify(Object.entries(p.dimensions).sort()) === wanted)
    .reduce((sum, p) => sum + p.value, 0);
}
