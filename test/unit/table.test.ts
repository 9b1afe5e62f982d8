/**
 * One table renderer for the CLI and the demo: the same column widths in both, measured in
 * code points, with the demo's indent and rule as its only difference.
 */
import { describe, expect, it } from 'vitest';
import { table } from '../../cli/output.js';
import { renderTable } from '../../cli/table.js';
import { renderTable as demoTable } from '../../local/demo-report.js';

// '𝄞' is one character on a terminal and two UTF-16 code units in JavaScript.
const headers = ['binder', 'folder', 'file'];
const rows = [
  ['PRJ0001AB', 'Tegninger 𝄞', 'A-101.pdf'],
  ['X', 'Bjørvika', 'b.pdf'],
];

describe('renderTable', () => {
  it('pads to the widest cell in code points, two spaces apart, the last column unpadded', () => {
    expect(renderTable(headers, rows)).toEqual([
      'binder     folder       file',
      'PRJ0001AB  Tegninger 𝄞  A-101.pdf',
      'X          Bjørvika     b.pdf',
    ]);
  });

  it('indents every line and draws a rule as wide as each column when asked', () => {
    expect(renderTable(['a', 'bb'], [['ccc', '']], { indent: '  ', rule: true })).toEqual(['  a    bb', '  ---  --', '  ccc']);
  });
});

describe('the CLI and the demo', () => {
  it('print the same columns, the demo indented and with a rule under the headers', () => {
    const cli = table(headers, rows);
    const demo = demoTable(headers, rows);
    expect(cli).toEqual(renderTable(headers, rows));
    expect(demo).toEqual([`  ${cli[0]}`, '  ---------  -----------  ---------', ...cli.slice(1).map((line) => `  ${line}`)]);
  });
});
