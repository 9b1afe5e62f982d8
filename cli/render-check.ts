/** The text rendering of an ingest check, shared by `check` and `reingest`. */
import type { IngestCheckResult } from './ingest-check.js';
import { describeTargetSource } from './ingest-check.js';
import { prefixLines } from './output.js';

export function renderCheck(result: IngestCheckResult, subject: string, extra: { knownBinders?: string[] | undefined } = {}): string[] {
  const lines: string[] = [];
  if (result.accepted) {
    lines.push(`ACCEPTED  ${subject} would be ingested`);
  } else {
    lines.push(`REJECTED  ${subject} would be rejected: ${result.problems.length} problem(s)`);
  }
  if (result.target) {
    const t = result.target;
    lines.push(`  binder    ${t.binderId} (from ${describeTargetSource(t.source)})`);
    if (t.folderId !== undefined)
      lines.push(`  folder    ${t.folderPath !== undefined ? `${t.folderPath} (id ${t.folderId})` : t.folderId}`);
    // A target refused by the allowlist before its folder was looked up is shown as it was asked for.
    else if (t.folderPath !== undefined) lines.push(`  folder    ${t.folderPath}`);
  }
  lines.push(`  file name ${result.fileName}${result.version !== undefined ? `, version ${result.version}` : ''}`);
  if (result.accepted && result.metadata.length > 0) {
    lines.push(`  metadata  ${result.metadata.map((m) => `${m.metadataElementId}=${m.value}`).join(', ')}`);
  }
  result.problems.forEach((p, i) => {
    lines.push('');
    lines.push(`  ${i + 1}. ${p.field}: ${p.message}`);
    lines.push(prefixLines(`fix: ${p.fix}`, '     '));
  });
  const traceId = result.ibinder?.traceId;
  if (traceId && !result.problems.some((p) => p.message.includes(traceId))) lines.push('', `  iBinder traceId: ${traceId}`);
  if (extra.knownBinders && extra.knownBinders.length > 0) {
    lines.push('', `  binders this tenant can see: ${extra.knownBinders.join(', ')}`);
  }
  for (const note of result.notes) lines.push('', `  note: ${note}`);
  return lines;
}
