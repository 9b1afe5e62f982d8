/**
 * The CLI's window on the world: where it writes, which variables it reads, and whether a
 * person is at the keyboard. `runCli` takes it as an argument, so tests run every command
 * in-process with captured output and their own variables instead of spawning a process.
 */
import { createInterface } from 'node:readline';

/** Enough of a writable stream for text output (process.stdout or a test buffer). */
export interface CliOutputStream {
  write(text: string): unknown;
  /** True when a terminal is attached: colours, progress bars and prompts depend on it. */
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/** Enough of a readable stream to ask one yes/no question. */
export interface CliInputStream extends NodeJS.ReadableStream {
  isTTY?: boolean | undefined;
}

export interface CliIo {
  stdout: CliOutputStream;
  stderr: CliOutputStream;
  /** The variables the CLI reads (IBINDER_*, AWS_*), instead of process.env. */
  env: NodeJS.ProcessEnv;
  stdin: CliInputStream;
  /** Where relative paths (local files, cdk.json) are resolved from. Default process.cwd(). */
  cwd?: string | undefined;
}

/** The real process's streams and variables. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin, cwd: process.cwd() };
}

/**
 * Asks a yes/no question on stderr (stdout stays clean for results) and reads one line.
 * Only "y" or "yes" (any case) is a yes; an empty line or end of input is a no.
 */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(`${question} [y/N] `);
  const lines = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(''));
    });
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    lines.close();
  }
}
