/**
 * How the demo shows what became of each file: one block per file, so that full document and
 * version ids and the rejection report's sentences fit any terminal, then the queue's and the
 * emulator's counts. Pure functions from results to lines; demo.ts prints them.
 */
import { renderTable as renderProjectTable } from '../cli/table.js';
import type { Problem } from '../shared/ledger/types.js';

export interface AcceptedFile {
  status: 'accepted';
  connector: 'ibinder';
  binder: string;
  folderPath: string;
  documentId: string;
  versionId: string;
  versionLabel: string | undefined;
  /** The bytes iBinder holds are the bytes dropped in the inbox. */
  sha256Matches: boolean;
}

/** A file saved in Bynder: a new asset, or a new version of one. */
export interface BynderAcceptedFile {
  status: 'accepted';
  connector: 'bynder';
  brand: string;
  assetId: string;
  assetName: string;
  newVersion: boolean;
  /** The asset's version number the file became, and its media item id. */
  version: number;
  mediaItemId: string;
  /** `name=option+option` as the asset holds them (a new version keeps the asset's). */
  metaproperties: string[];
  tags: string[];
  sha256Matches: boolean;
}

export interface RejectedFile {
  status: 'rejected';
  reportUri: string;
  problems: Problem[];
  howToRetry: string | undefined;
}

export interface PendingFile {
  status: 'pending';
  detail: string;
}

export type FileResult = AcceptedFile | BynderAcceptedFile | RejectedFile | PendingFile;

export interface FileReport {
  connector: 'ibinder' | 'bynder';
  key: string;
  label: string;
  shows: string;
  expected: 'accepted' | 'rejected';
  /** A rejected file's fix: the tag change the operator makes. */
  fix?: { key: string; value: string } | undefined;
  deliveries: number;
  notes: string[];
  result: FileResult;
}

const INDENT = '      ';

export function renderFileReports(reports: readonly FileReport[]): string[] {
  const lines: string[] = [];
  reports.forEach((report, i) => {
    const mark = report.result.status === report.expected ? '✓' : '✗';
    lines.push(`  ${mark} ${i + 1}. ${report.key}`);
    lines.push(`${INDENT}${report.label}: ${report.shows}`);
    const result = report.result;
    switch (result.status) {
      case 'accepted':
        if (result.connector === 'bynder') {
          lines.push(`${INDENT}ACCEPTED  Bynder brand ${result.brand}`);
          lines.push(
            `${INDENT}          ${result.newVersion ? 'new version of' : 'new asset'} ${result.assetId} "${result.assetName}"  version ${result.version}  sha256 ${result.sha256Matches ? 'identical' : 'DIFFERENT'}`,
          );
          if (result.metaproperties.length > 0) lines.push(`${INDENT}          metaproperties ${result.metaproperties.join(', ')}`);
          if (result.tags.length > 0) lines.push(`${INDENT}          tags ${result.tags.join(', ')}`);
          break;
        }
        lines.push(`${INDENT}ACCEPTED  ${result.binder} / ${result.folderPath}`);
        lines.push(`${INDENT}          document ${result.documentId}`);
        lines.push(
          `${INDENT}          version  ${result.versionId}${result.versionLabel !== undefined ? `  label "${result.versionLabel}"` : ''}  sha256 ${result.sha256Matches ? 'identical' : 'DIFFERENT'}`,
        );
        break;
      case 'rejected':
        lines.push(`${INDENT}REJECTED  report ${result.reportUri}`);
        for (const problem of result.problems) {
          lines.push(`${INDENT}          ${problem.field}: ${problem.message}`);
          lines.push(`${INDENT}            fix: ${problem.fix}`);
        }
        if (result.howToRetry) lines.push(`${INDENT}          then: ${result.howToRetry}`);
        break;
      case 'pending':
        lines.push(`${INDENT}NOT FINISHED  ${result.detail}`);
        break;
    }
    lines.push(`${INDENT}deliveries: ${report.deliveries}${report.notes.length > 0 ? `  (${report.notes.join('; ')})` : ''}`);
    lines.push('');
  });
  return lines;
}

/** A table of the demo's report: indented like the file blocks, a rule under the headers (see cli/table.ts). */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return renderProjectTable(headers, rows, { indent: '  ', rule: true });
}
