/**
 * `runCli(argv, io)`: the whole CLI as a function. The `bin` launcher calls it with the
 * process's streams; tests and the demo call it in-process with their own, which is why
 * nothing here touches process.env, process.exit or the real terminal. The one process-wide
 * thing it does is route the pipeline code's log lines while a command runs (log-route.ts):
 * the shared logger is one per process.
 */
import { CommanderError, type Command } from 'commander';
import type { ActionFactory } from './command.js';
import type { CliDependencies } from './context.js';
import { EXIT, type ExitCode } from './errors.js';
import type { CliIo } from './io.js';
import { routeLogLines } from './log-route.js';
import { globalOptionsOf } from './options.js';
import { Output } from './output.js';
import { buildProgram } from './program.js';

/** Runs one command line (without the node and script names); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo, deps: CliDependencies = {}): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  let json = argv.includes('--json');

  const action: ActionFactory =
    (handler) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const options = globalOptionsOf(command);
      json = options.json;
      // Loaded here, not at the top: `--help` and `--version` need neither the AWS SDK nor the logger.
      const [{ CliContext }, { logger }] = await Promise.all([import('./context.js'), import('../shared/observability/logger.js')]);
      const ctx = await CliContext.create(options, io, deps);
      // The pipeline code's log lines: short human lines on stderr, or (--debug) the raw lines.
      const restoreConsole = routeLogLines(ctx.output, { debug: options.debug });
      const previousLevel = logger.getLevelName();
      if (options.debug) logger.setLogLevel('DEBUG');
      try {
        exitCode = await handler(ctx, command);
      } finally {
        if (options.debug) logger.setLogLevel(previousLevel);
        restoreConsole();
      }
    };

  const program = buildProgram(io, action);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the help, the version or the usage error already.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { toCliError } = await import('./to-cli-error.js');
    const cliError = toCliError(err);
    new Output(io, json).error(cliError);
    return cliError.exitCode;
  }
  return exitCode;
}

export type { CliDependencies } from './context.js';
export type { CliIo } from './io.js';
export { EXIT, type ExitCode } from './errors.js';
