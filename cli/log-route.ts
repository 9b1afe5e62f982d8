/**
 * Where the pipeline code's log lines go while a command runs. The shared code (the iBinder
 * client's retries, the export's warnings) logs through the Powertools Logger, which writes
 * one JSON object per line for CloudWatch: right for a Lambda, wrong on an operator's screen,
 * where it mixed into the progress bar and, being written to stdout, broke `--json`.
 *
 * The launcher sets POWERTOOLS_DEV before the logger is created, which makes Powertools write
 * through the global `console` (its documented switch, the same one the tests use to capture
 * lines). While a command runs, `routeLogLines` puts itself in the console's place and turns
 * each line into:
 * - by default: warnings and errors as one short human line on stderr (`warning: <message>
 *   (key=value, ...)`); info and debug lines are dropped, since the command's own output
 *   says what happened;
 * - with `--debug` (`-v`): every line as written, compact JSON, on stderr.
 * Nothing goes to stdout, which holds only the command's result. Lines are written above the
 * progress bar (Output.stderrLine). The Lambda functions' log format is untouched: they never
 * run this.
 */
import { format } from 'node:util';
import type { Output } from './output.js';

/** Keys every Powertools line carries; they say nothing the operator needs in a one-line warning. */
const STANDARD_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'correlation_id',
]);

/** Longest rendering of one attribute value in a human line. */
const MAX_VALUE_LENGTH = 80;
/** Longest human line: past it the details are cut (`--debug` shows them all). */
export const MAX_HUMAN_LINE_LENGTH = 240;

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
type ConsoleMethod = (typeof CONSOLE_METHODS)[number];

export interface LogRouteOptions {
  /** Show every line as written (JSON) instead of warnings as human lines. */
  debug: boolean;
}

/** A parsed Powertools line: level and message, plus whatever attributes it carried. */
export type LogRecord = Record<string, unknown> & { level: string; message: string };

/** The Powertools record in a console call's text, or undefined when it is not one. */
export function parseLogRecord(text: string): LogRecord | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const record = value as Record<string, unknown>;
    return typeof record.level === 'string' && typeof record.message === 'string' ? (record as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** `warning: <message> (key=value, ...)`: one line, whatever the record holds. */
export function humanLogLine(record: LogRecord): string {
  const level = record.level.toUpperCase();
  const prefix = level === 'WARN' ? 'warning' : level === 'ERROR' || level === 'CRITICAL' ? 'error' : level.toLowerCase();
  const details = Object.entries(record)
    .filter(([key, value]) => !STANDARD_KEYS.has(key) && value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${key}=${renderValue(value)}`);
  const line = oneLine(`${prefix}: ${record.message}${details.length > 0 ? ` (${details.join(', ')})` : ''}`);
  return line.length > MAX_HUMAN_LINE_LENGTH ? `${line.slice(0, MAX_HUMAN_LINE_LENGTH - 2)}…)` : line;
}

function renderValue(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'message' in value && typeof (value as { message: unknown }).message === 'string') {
    // Powertools renders an Error as {name, location, message, stack}: the name and message say enough.
    const error = value as { name?: unknown; message: string };
    return truncate(`${typeof error.name === 'string' ? `${error.name}: ` : ''}${error.message}`);
  }
  return truncate(typeof value === 'string' ? value : JSON.stringify(value));
}

function truncate(text: string): string {
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** What one console call becomes on the operator's screen, or undefined when it is left out. */
export function routeConsoleCall(method: ConsoleMethod, text: string, options: LogRouteOptions): string | undefined {
  const record = parseLogRecord(text);
  if (record) {
    if (options.debug) return JSON.stringify(record);
    const level = record.level.toUpperCase();
    return level === 'WARN' || level === 'ERROR' || level === 'CRITICAL' ? humanLogLine(record) : undefined;
  }
  // Not a log record: an EMF metrics blob (left out) or some library's own console output.
  if (text.trim() === '' || text.includes('"_aws"')) return options.debug ? oneLine(text) : undefined;
  if (options.debug) return text;
  return method === 'warn' || method === 'error' ? `warning: ${oneLine(text.trim())}` : undefined;
}

/**
 * Routes every console call to `output` (stderr, above the progress bar) until the returned
 * function is called, which puts the console back as it was.
 */
export function routeLogLines(output: Pick<Output, 'stderrLine'>, options: LogRouteOptions): () => void {
  const saved = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of CONSOLE_METHODS) {
    saved.set(method, console[method]);
    console[method] = (...args: unknown[]): void => {
      const line = routeConsoleCall(method, format(...args), options);
      if (line !== undefined) output.stderrLine(line);
    };
  }
  return () => {
    for (const [method, original] of saved) console[method] = original;
  };
}
