import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../cli/shell-quote.js';

/** What a POSIX shell makes of a command line: its words, one per line (printf '%s\n'). */
function wordsAsShellSeesThem(commandLine: string): string[] {
  const out = execFileSync('sh', ['-c', `printf '%s\\n' ${commandLine}`], { encoding: 'utf8' });
  return out.split('\n').slice(0, -1);
}

describe('shellQuote', () => {
  it('leaves words without special characters bare', () => {
    expect(shellQuote('ibinder-pipeline')).toBe('ibinder-pipeline');
    expect(shellQuote('my-inbox/inbox/erp/A-101.pdf')).toBe('my-inbox/inbox/erp/A-101.pdf');
    expect(shellQuote('ibinder:meta:discipline=ARC')).toBe('ibinder:meta:discipline=ARC');
  });

  it('quotes keys with spaces, so the key stays one word', () => {
    expect(shellQuote('my-inbox/inbox/erp/A-101 Ground floor plan.pdf')).toBe("'my-inbox/inbox/erp/A-101 Ground floor plan.pdf'");
  });

  it('quotes the empty word, which a shell would otherwise drop', () => {
    expect(shellQuote('')).toBe("''");
  });

  it('survives a real shell for every awkward character', () => {
    const words = [
      'plain',
      'inbox/a b.pdf',
      "O'Brien's plan.pdf",
      'cost $HOME & `date` "x" \\ ; | * ? ~ # ! ( ) { } [ ] < >',
      'tab\there',
      'new\nline',
      'ünïcødé ✓',
      '',
    ];
    expect(wordsAsShellSeesThem(shellCommand(words))).toEqual(words.flatMap((w) => w.split('\n')));
  });
});
