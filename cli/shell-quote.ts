/**
 * POSIX shell quoting for the commands the CLI prints as hints ("follow it with: ..."), so that
 * a person can paste them as they are: S3 keys have spaces, and tag values may hold `'`, `$` or
 * `&`. A word made only of characters no POSIX shell treats specially is left bare, for
 * readability; anything else is put in single quotes, inside which nothing is special, and a
 * `'` in the word becomes `'\''` (close, escaped quote, reopen).
 */

/** Characters that never need quoting in sh, bash, zsh or dash (`=` only matters before a command name). */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word, quoted for a POSIX shell if it needs it. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command line of words, each quoted as needed. */
export function shellCommand(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
