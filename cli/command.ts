/**
 * The shape every command module follows: it adds itself to the program with an action built
 * by `ActionFactory`, which parses the global options, builds the CliContext (loading the
 * environment first) and records the exit code the handler returns.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';
import type { ExitCode } from './errors.js';

export type CommandHandler = (ctx: CliContext, command: Command) => Promise<ExitCode>;

/** Wraps a handler as a commander action (commander passes the Command as the last argument). */
export type ActionFactory = (handler: CommandHandler) => (...args: unknown[]) => Promise<void>;

/** One command module: adds its command to the program. */
export type CommandRegistration = (program: Command, action: ActionFactory) => void;

/** The positional argument at `index`, as commander parsed it. */
export function argumentOf(command: Command, index: number): string {
  const value: unknown = command.processedArgs[index];
  return typeof value === 'string' ? value : '';
}
