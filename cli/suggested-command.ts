/**
 * The command lines the CLI suggests ("follow it with: ...", "resume it with: ..."). They are
 * meant to be pasted, so each word is shell-quoted (keys have spaces) and the global options
 * the operator gave come first, so that the suggestion runs against the same environment,
 * stack, endpoints and resource names as the command that printed it.
 */
import type { GlobalOptions } from './options.js';
import { globalOptionFlags } from './options.js';
import { shellCommand } from './shell-quote.js';

/** The name the CLI is installed under (package.json `bin`). */
export const PROGRAM_NAME = 'ibinder-pipeline';

/** `ibinder-pipeline <global flags> <words...>`, quoted for a POSIX shell. */
export function suggestedCommand(options: GlobalOptions, words: readonly string[]): string {
  return shellCommand([PROGRAM_NAME, ...globalOptionFlags(options), ...words]);
}
