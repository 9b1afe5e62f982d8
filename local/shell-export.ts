/**
 * `export NAME=value` lines that a person pastes into a POSIX shell (bash, zsh, sh) as they are
 * printed: values are single-quoted whenever they hold anything a shell would read specially,
 * and a note goes after a `#`, where the shell ignores it. The local stack and the emulator
 * print their variables this way, so pasting them never breaks on a parenthesis or a space.
 */

/** Characters that are safe unquoted in every POSIX shell word. */
const PLAIN_WORD = /^[A-Za-z0-9_./:@%+=,-]+$/;
/** A shell variable name. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The value as one shell word: plain when safe, else single-quoted (a `'` becomes `'\''`). */
export function shellQuote(value: string): string {
  if (PLAIN_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `export NAME=value`, with an optional note after `#` (a note with a newline is refused). */
export function shellExportLine(name: string, value: string, note?: string): string {
  if (!VARIABLE_NAME.test(name))
    throw new Error(`"${name}" is not a shell variable name: use letters, digits and _, not starting with a digit`);
  if (note !== undefined && /[\r\n]/.test(note))
    throw new Error(`the note of ${name} spans lines; a shell would run its second line as a command`);
  return `export ${name}=${shellQuote(value)}${note ? `   # ${note}` : ''}`;
}

/** One `export` line per variable, in the order given. */
export function shellExportLines(variables: ReadonlyArray<{ name: string; value: string; note?: string }>): string[] {
  return variables.map((v) => shellExportLine(v.name, v.value, v.note));
}
