/**
 * The fault drill's verdict and its printout: the four targets (versions = files, no duplicate,
 * nothing lost, nothing dead-lettered) with PASS/FAIL, the cost in calls, the faults and crashes
 * that were injected, and the files behind every miss, so that a failure can be followed up.
 */
import type { FaultDrillResult } from './fault-drill.js';

export interface DrillTarget {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

export function drillTargets(result: FaultDrillResult): DrillTarget[] {
  return [
    {
      name: 'versions created',
      target: `= files (${result.files})`,
      measured: String(result.versionsCreated),
      pass: result.versionsCreated === result.files,
    },
    { name: 'duplicate versions', target: '0', measured: String(result.duplicateVersions), pass: result.duplicateVersions === 0 },
    { name: 'lost files', target: '0', measured: String(result.lostFiles.length), pass: result.lostFiles.length === 0 },
    {
      name: 'dead-lettered files',
      target: '0',
      measured: String(result.deadLetteredFiles.length),
      pass: result.deadLetteredFiles.length === 0,
    },
  ];
}

export function drillPassed(result: FaultDrillResult): boolean {
  return drillTargets(result).every((t) => t.pass);
}

/** The report, line by line. */
export function renderDrillReport(result: FaultDrillResult): string[] {
  const s = result.settings;
  const perFile = (n: number): string => (n / result.files).toFixed(2);
  const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;
  const lines: string[] = [];
  lines.push(
    `Fault drill: ${result.files} files (${s.fileBytes.min}-${s.fileBytes.max} bytes), seed ${s.seed}, ${percent(s.faultRate)} of API and storage requests faulted,`,
    `  crash rate ${percent(s.crashRate)} per crash point, ${percent(s.duplicateRate)} of events delivered twice;`,
    `  ${s.concurrency} invocations at once, batches of ${s.batchSize}, visibility timeout ${s.visibilityTimeoutSeconds} s, maxReceiveCount ${s.maxReceiveCount}.`,
    '',
  );
  lines.push(
    ...table(
      ['check', 'target', 'measured', ''],
      drillTargets(result).map((t) => [t.name, t.target, t.measured, t.pass ? 'PASS' : 'FAIL']),
    ),
  );
  lines.push('');
  const faultKinds = Object.entries(result.faults.byKind)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  lines.push(
    ...table(
      ['figure', 'value'],
      [
        ['files', String(result.files)],
        ['files rejected (all files are valid)', String(result.rejectedFiles.length)],
        ['files with more than one version', String(result.duplicatedFiles.length)],
        ['versions whose bytes differ from the file', String(result.contentMismatches.length)],
        ['files the ledger disagrees on', String(result.ledgerDisagreements.length)],
        ['API calls per file', `${perFile(result.calls.api)} (${result.calls.api})`],
        ['storage calls per file', `${perFile(result.calls.storage)} (${result.calls.storage})`],
        ['token calls', String(result.calls.token)],
        ['faults injected', `${result.faults.total} = ${percent(result.faultedShare)} of API and storage calls`],
        ['  by kind', faultKinds === '' ? '-' : faultKinds],
        [
          'crashes',
          `${result.crashes.total} (after PUT ${result.crashes.byPoint['after-put']}, after transfer recorded ${result.crashes.byPoint['after-transfer-recorded']}, after commit ${result.crashes.byPoint['after-commit']})`,
        ],
        ['  calls refused after a crash', String(result.crashes.refusedAfterCrash)],
        ['events delivered twice', String(result.duplicateEventsSent)],
        ['deliveries (SQS receives) per file', `${perFile(result.eventSource.deliveries)} (${result.eventSource.deliveries})`],
        ['invocations', `${result.eventSource.invocations} (${result.eventSource.failedInvocations} failed as a whole)`],
        ['queue drained', result.eventSource.drained ? 'yes' : 'no: messages were left when the drill stopped'],
        ['elapsed', `${(result.elapsedMs / 1000).toFixed(1)} s`],
      ],
    ),
  );
  const lostKeys = new Set(result.lostFiles.map((f) => f.key));
  const misses: [string, string[]][] = [
    ['lost (no version, no rejection)', result.lostFiles.map((f) => `${f.key} (ledger: ${f.ledger})`)],
    [
      'dead-lettered',
      result.deadLetteredFiles.map(
        (key) =>
          `${key} (${lostKeys.has(key) ? 'no version: lost until redriven' : 'its version exists; a redrive finishes the ledger and the inbox'})`,
      ),
    ],
    ['more than one version', result.duplicatedFiles.map((f) => `${f.key} (${f.versions} versions)`)],
    ['rejected', result.rejectedFiles.map((f) => f.key)],
    ['bytes differ', result.contentMismatches],
    ['ledger disagrees', result.ledgerDisagreements.map((f) => `${f.key} (ledger: ${f.ledger}, versions: ${f.versions})`)],
    ['failed invocations', result.eventSource.invocationErrors],
  ];
  for (const [what, keys] of misses) {
    if (keys.length === 0) continue;
    lines.push('', `Files ${what}: ${keys.length}${keys.length > 10 ? ' (first 10)' : ''}`);
    for (const key of keys.slice(0, 10)) lines.push(`  ${key}`);
  }
  lines.push(
    '',
    drillPassed(result)
      ? 'PASS: every file became exactly one version; none lost, none dead-lettered.'
      : `FAIL: ${drillTargets(result)
          .filter((t) => !t.pass)
          .map((t) => `${t.name} ${t.measured} (target ${t.target})`)
          .join('; ')}.`,
  );
  return lines;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
