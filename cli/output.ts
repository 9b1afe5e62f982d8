/**
 * Human-readable output by default, one JSON document with `--json`. A command builds its
 * result once and hands both renderings to `result`, so the two modes cannot drift apart.
 * Results go to stdout; errors, notes, prompts and progress go to stderr, so that
 * `ibinder-pipeline ... --json | jq` always receives exactly one JSON document.
 */
import type { CliError } from './errors.js';
import type { CliIo } from './io.js';
import { renderTable } from './table.js';

/**
 * A line that redraws itself in place on stderr (the export's progress bar). While one is
 * drawn, every other stderr line is written above it: the live line is cleared, the line is
 * written, and the live line is drawn again, so that warnings neither mix into the bar nor
 * are overwritten by it.
 */
export interface LiveLine {
  clear(): void;
  redraw(): void;
}

export class Output {
  private liveLine: LiveLine | undefined;

  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** Registers the live line; the returned function unregisters it. */
  attachLiveLine(line: LiveLine): () => void {
    this.liveLine = line;
    return () => {
      if (this.liveLine === line) this.liveLine = undefined;
    };
  }

  /** One line on stderr (in both modes), above the live line if one is drawn. */
  stderrLine(text: string): void {
    const live = this.liveLine;
    live?.clear();
    this.io.stderr.write(`${text}\n`);
    live?.redraw();
  }

  /** Prints the result: `value` as JSON with --json, else the lines `human` returns. */
  result(value: unknown, human: () => string | readonly string[]): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = typeof text === 'string' ? [text] : text;
    if (lines.length > 0) this.io.stdout.write(`${lines.join('\n')}\n`);
  }

  /** A remark for the person at the terminal (stderr; left out with --json, where the result says it). */
  note(text: string): void {
    if (!this.json) this.stderrLine(text);
  }

  /** Prints an error with its hint: as text, or as `{"error": {...}}` with --json (stderr in both). */
  error(err: CliError): void {
    if (this.json) {
      const body = { error: { type: err.name, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: err.exitCode } };
      this.io.stderr.write(`${JSON.stringify(body)}\n`);
      return;
    }
    this.io.stderr.write(`error: ${err.message}\n`);
    if (err.hint) this.io.stderr.write(`${prefixLines(`hint: ${err.hint}`, '  ')}\n`);
  }
}

/** A result table as the CLI prints it: no indent, no rule under the headers (see table.ts). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return renderTable(headers, rows);
}

/** Puts `prefix` in front of every line of `text`. */
export function prefixLines(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
