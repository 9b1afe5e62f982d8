import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { emulatorShellExports } from '../../local/emulator-exports.js';
import { shellExportLine, shellExportLines, shellQuote } from '../../local/shell-export.js';

/** Runs the lines in a real POSIX shell and returns what the named variables hold afterwards. */
function evaluateInShell(lines: readonly string[], names: readonly string[]): string[] {
  const script = `${lines.join('\n')}\n${names.map((n) => `printf '%s\\0' "$${n}"`).join('\n')}\n`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  return out.split('\0').slice(0, names.length);
}

describe('shell export lines', () => {
  it('leaves a plain URL unquoted and quotes what a shell would read specially', () => {
    expect(shellQuote('http://127.0.0.1:4010/api')).toBe('http://127.0.0.1:4010/api');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });

  it('pastes into sh as printed: values with parentheses, spaces, quotes, $ and a note come back exactly', () => {
    const variables = [
      { name: 'PLAIN', value: 'http://127.0.0.1:4566' },
      { name: 'PAREN', value: 'secret)(x', note: 'demo credentials (local only)' },
      { name: 'SPACED', value: "it's a $HOME `x` test" },
      { name: 'EMPTY', value: '' },
    ];
    const lines = shellExportLines(variables);
    expect(lines.every((l) => l.startsWith('export '))).toBe(true);
    expect(
      evaluateInShell(
        lines,
        variables.map((v) => v.name),
      ),
    ).toEqual(variables.map((v) => v.value));
  });

  it('refuses a name a shell cannot assign and a note that would become a second command', () => {
    expect(() => shellExportLine('1BAD', 'x')).toThrow(/not a shell variable name/);
    expect(() => shellExportLine('OK', 'x', 'first\nrm -rf x')).toThrow(/spans lines/);
  });

  it("the emulator's lines are export lines a shell accepts, secret included", () => {
    const emulator = {
      apiBaseUrl: 'http://127.0.0.1:4010/api',
      tokenUrl: 'http://127.0.0.1:4010/connect/token',
      tenantId: 'c0ffee00-0000-4000-8000-000000000001',
      clientId: 'demo-client',
      clientSecret: 'demo-secret',
    };
    const lines = emulatorShellExports(emulator);
    expect(lines).toHaveLength(5);
    expect(
      evaluateInShell(lines, ['IBINDER_API_URL', 'IBINDER_TOKEN_URL', 'IBINDER_ORG_ID', 'IBINDER_CLIENT_ID', 'IBINDER_CLIENT_SECRET']),
    ).toEqual([emulator.apiBaseUrl, emulator.tokenUrl, emulator.tenantId, emulator.clientId, emulator.clientSecret]);
  });
});
