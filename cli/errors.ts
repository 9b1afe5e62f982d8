/**
 * Errors the CLI shows to the person at the terminal. Each carries the exit code the shell
 * sees and a hint that names what to do, so that `runCli` can print it without a stack trace.
 *
 * Exit codes (the same for every command):
 *   0  done; `check`: the file would be accepted
 *   1  the operation ran and failed; `check`: the file would be rejected
 *   2  usage or configuration error (arguments, environment, credentials, resource names)
 *   3  a service could not be reached or answered with an error (AWS, iBinder)
 */

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  service: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What a person can act on: `message` says what is wrong, `hint` what to do about it. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A wrong argument, option or configuration: nothing was done. Exit code 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, hint, options);
  }
}

/** A service (AWS, iBinder) failed while the command ran. Exit code 3. */
export class ServiceError extends CliError {
  override readonly name = 'ServiceError';
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.service, hint, options);
  }
}
