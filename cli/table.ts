/**
 * The one text table of the project, for the CLI's results and the local demo's report: columns
 * padded to their widest cell, measured in code points (what a terminal shows for the Latin
 * text of binder, folder and file names, including characters outside the BMP, which JavaScript's
 * `length` counts twice), cells two spaces apart, the last column not padded.
 */

export interface TableStyle {
  /** Put in front of every line. @default '' */
  indent?: string;
  /** A line of dashes under the headers, as wide as each column. @default false */
  rule?: boolean;
}

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], style: TableStyle = {}): string[] {
  const indent = style.indent ?? '';
  const widths = headers.map((header, column) => Math.max(displayWidth(header), ...rows.map((row) => displayWidth(row[column] ?? ''))));
  const line = (cells: readonly string[]): string =>
    `${indent}${cells.map((cell, column) => (column === cells.length - 1 ? cell : pad(cell, widths[column] ?? 0))).join('  ')}`.trimEnd();
  return [line(headers), ...(style.rule ? [line(widths.map((width) => '-'.repeat(width)))] : []), ...rows.map(line)];
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

function displayWidth(text: string): number {
  return [...text].length;
}
