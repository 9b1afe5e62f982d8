/**
 * `npm run drill`: the fault drill on the local stack (see fault-drill.ts). Prints the targets
 * with PASS/FAIL and the figures behind them; exit code 0 on PASS, 1 on FAIL, 2 on a usage error.
 */
import { verbose } from './drill-environment.js';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { renderDrillReport, drillPassed } from './drill-report.js';
import { runFaultDrill, type FaultDrillOptions } from './fault-drill.js';

const USAGE = `Usage: npm run drill -- [options]
  --files <n>              files to ingest (default 1000)
  --fault-rate <share>     share of iBinder API and storage requests faulted (default 0.2)
  --seed <s>               seed of faults, crashes, duplicates and file sizes (default 1)
  --crash-rate <share>     probability of a crash at each crash point (default 0.05)
  --duplicate-rate <share> share of S3 events delivered twice (default 0.1)
  --concurrency <n>        ingest invocations at once (default 2)
  --max-receive-count <n>  the queue's redrive policy (default 5)
  --verbose                print the functions' logs
  --help`;

function numberOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    process.stderr.write(`${name} must be a number, got '${raw}'.\n\n${USAGE}\n`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      'fault-rate': { type: 'string' },
      seed: { type: 'string' },
      'crash-rate': { type: 'string' },
      'duplicate-rate': { type: 'string' },
      concurrency: { type: 'string' },
      'max-receive-count': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options: FaultDrillOptions = {
    files: numberOption('--files', values.files, 1000),
    faultRate: numberOption('--fault-rate', values['fault-rate'], 0.2),
    seed: values.seed ?? '1',
    crashRate: numberOption('--crash-rate', values['crash-rate'], 0.05),
    duplicateRate: numberOption('--duplicate-rate', values['duplicate-rate'], 0.1),
    concurrency: numberOption('--concurrency', values.concurrency, 2),
    maxReceiveCount: numberOption('--max-receive-count', values['max-receive-count'], 5),
    onProgress: (line) => process.stdout.write(`${line}\n`),
    ...(verbose ? { logger: new Logger({ serviceName: 'ingest-drill', logLevel: 'INFO' }) } : {}),
  };
  let result;
  try {
    result = await runFaultDrill(options);
  } catch (err) {
    if (err instanceof RangeError) {
      process.stderr.write(`${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  process.stdout.write(`\n${renderDrillReport(result).join('\n')}\n`);
  if (!drillPassed(result) && !verbose) process.stdout.write("Run with --verbose to see the functions' logs.\n");
  return drillPassed(result) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`The fault drill could not run: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
