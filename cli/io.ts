/**
 * The CLI's window on the world: where it writes, which variables it reads, and whether a
 * person is at the keyboard. `runCli` takes it as an argument, so tests run every command
 * in-process with captured output and their own variables instead of spawning a process.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';

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
  /**
   * Registers what to do when the person presses Ctrl-C (SIGINT): put the terminal back and
   * say how to go on. After the handler has run, the process ends with exit code 130, as
   * shells expect of an interrupted command. Returns the function that unregisters it.
   * Absent where there is no process to interrupt (tests pass their own).
   */
  onInterrupt?: ((handler: InterruptHandler) => () => void) | undefined;
}

/** Runs once on Ctrl-C; may be async (e.g. hand back a lease), but gets at most INTERRUPT_GRACE_MS. */
export type InterruptHandler = () => void | Promise<void>;

/** Exit code of a command ended by SIGINT (128 + signal 2), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** How long an interrupt handler may take before the process ends anyway (ms). */
export const INTERRUPT_GRACE_MS = 3_000;

/** The real process's streams and variables. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    stdin: process.stdin,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      let interrupted = false;
      const listener = (): void => {
        // A second Ctrl-C while the handler runs ends the process at once.
        if (interrupted) process.exit(INTERRUPTED_EXIT_CODE);
        interrupted = true;
        const grace = setTimeout(() => process.exit(INTERRUPTED_EXIT_CODE), INTERRUPT_GRACE_MS);
        void Promise.resolve()
          .then(handler)
          .catch(() => undefined)
          .finally(() => {
            clearTimeout(grace);
            process.exit(INTERRUPTED_EXIT_CODE);
          });
      };
      process.on('SIGINT', listener);
      return () => {
        process.off('SIGINT', listener);
      };
    },
  };
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

/** A CliIo whose output is kept in memory: for callers that run the CLI in-process (tests, the demo). */
export interface BufferedIo extends CliIo {
  stdout: CliOutputStream & { chunks: string[] };
  stderr: CliOutputStream & { chunks: string[] };
  stdoutText(): string;
  stderrText(): string;
  /** Presses Ctrl-C: runs the registered interrupt handlers; false when none is registered. */
  interrupt(): Promise<boolean>;
}

export interface BufferedIoOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** What stdin holds (e.g. "y\n" to answer a confirmation). Default: nothing. */
  input?: string;
  /** Pretend a person is at a terminal (stdin and stderr). Default false. */
  tty?: boolean;
}

export function bufferedIo(options: BufferedIoOptions = {}): BufferedIo {
  const stream = (): CliOutputStream & { chunks: string[] } => {
    const chunks: string[] = [];
    return { chunks, isTTY: options.tty ?? false, write: (text: string) => chunks.push(text) };
  };
  const stdout = stream();
  const stderr = stream();
  const stdin = Readable.from(options.input !== undefined ? [options.input] : []) as Readable & { isTTY?: boolean };
  stdin.isTTY = options.tty ?? false;
  const interruptHandlers = new Set<InterruptHandler>();
  return {
    stdout,
    stderr,
    stdin,
    env: options.env ?? {},
    cwd: options.cwd,
    stdoutText: () => stdout.chunks.join(''),
    stderrText: () => stderr.chunks.join(''),
    onInterrupt: (handler) => {
      interruptHandlers.add(handler);
      return () => interruptHandlers.delete(handler);
    },
    interrupt: async () => {
      const handlers = [...interruptHandlers];
      for (const handler of handlers) await handler();
      return handlers.length > 0;
    },
  };
}
