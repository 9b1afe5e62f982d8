/** The text rendering of an ingest check, shared by `check` and `reingest`: iBinder's and Bynder's. */
import type { TargetSource } from '../shared/connectors/types.js';
import type { Problem } from '../shared/ledger/types.js';
import type { BynderCheckResult } from '../shared/connectors/bynder/index.js';
import type { IngestCheckResult } from './ingest-check.js';
import { describeTargetSource } from './ingest-check.js';
import type { ObjectCheckResult } from './object-check.js';
import { prefixLines } from './output.js';

/** How many options a line of allowed options shows before "and N more" (--json lists every one). */
const OPTIONS_SHOWN = 20;

/** Either connector's check, as text. */
export function renderObjectCheck(
  result: ObjectCheckResult,
  subject: string,
  extra: { knownBinders?: string[] | undefined } = {},
): string[] {
  return result.connector === 'bynder' ? renderBynderCheck(result, subject) : renderCheck(result, subject, extra);
}

export function renderBynderCheck(result: BynderCheckResult, subject: string): string[] {
  const lines: string[] = [];
  if (result.accepted) lines.push(`ACCEPTED  ${subject} would be ingested into Bynder`);
  else lines.push(`REJECTED  ${subject} would be rejected by the Bynder connector: ${result.problems.length} problem(s)`);
  if (result.brand) {
    const b = result.brand;
    const named = b.name !== undefined && b.name !== b.id ? `${b.name} (id ${b.id})` : b.id;
    lines.push(`  brand     ${named}${b.source ? ` (from ${describeBynderSource(b.source, result.newVersionOf !== undefined)})` : ''}`);
  }
  if (result.newVersionOf) {
    const a = result.newVersionOf;
    lines.push(`  asset     new version of asset ${a.id}${a.name !== undefined ? ` "${a.name}"` : ''}`);
  } else if (result.asset) {
    lines.push(`  asset     new asset "${result.asset.name}"`);
    if (result.asset.description !== undefined) lines.push(`  description ${result.asset.description}`);
    if (result.asset.tags.length > 0) lines.push(`  tags      ${result.asset.tags.join(', ')}`);
  }
  lines.push(`  file name ${result.fileName}`);
  if (result.accepted && result.metaproperties.length > 0) {
    lines.push('  metaproperties');
    for (const m of result.metaproperties) {
      const value =
        m.text !== undefined ? JSON.stringify(m.text) : m.options.map((name, i) => `${name} (${m.optionIds[i] ?? '?'})`).join(' + ');
      lines.push(`    ${m.name} (${m.id}) = ${value}`);
    }
  }
  renderProblems(lines, result.problems);
  for (const allowed of result.allowedOptions) {
    const names = allowed.options.map((o) => o.name);
    const shown = names.slice(0, OPTIONS_SHOWN);
    lines.push(
      '',
      `  allowed options of ${allowed.metaproperty.name} (${allowed.selection}${allowed.required ? ', required' : ''}): ` +
        `${shown.join(', ')}${names.length > shown.length ? `, and ${names.length - shown.length} more (see metaproperties --json)` : ''}`,
    );
  }
  for (const note of result.notes) lines.push('', `  note: ${note}`);
  return lines;
}

/** Where a person changes a Bynder target: the tag or the environment's setting. */
function describeBynderSource(source: TargetSource, newVersion: boolean): string {
  if (source.kind === 'tags') return newVersion ? "the object's bynder:asset tag" : "the object's bynder:brand tag";
  if (source.kind === 'rule') return `Bynder routing rule for prefix "${source.prefix}"`;
  return "the environment's bynder.defaultBrand";
}

function renderProblems(lines: string[], problems: readonly Problem[]): void {
  problems.forEach((p, i) => {
    lines.push('');
    lines.push(`  ${i + 1}. ${p.field}: ${p.message}`);
    lines.push(prefixLines(`fix: ${p.fix}`, '     '));
  });
}

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
  renderProblems(lines, result.problems);
  const traceId = result.ibinder?.traceId;
  if (traceId && !result.problems.some((p) => p.message.includes(traceId))) lines.push('', `  iBinder traceId: ${traceId}`);
  if (extra.knownBinders && extra.knownBinders.length > 0) {
    lines.push('', `  binders this tenant can see: ${extra.knownBinders.join(', ')}`);
  }
  for (const note of result.notes) lines.push('', `  note: ${note}`);
  return lines;
}
