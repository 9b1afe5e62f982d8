/**
 * `npm run local`: the local stack (live-stack.ts) as a service on fixed ports, until Ctrl-C.
 * Prints `export` lines that paste into a shell as they are, and an alias that gives the
 * operator CLI this stack's resource names, so that `aws s3 cp ... s3://ibinder-inbox-local/inbox/...`
 * is ingested and every CLI command (`redrive` included) works against it.
 */
import './live-environment.js';
import { parseArgs } from 'node:util';
import { DEFAULT_SEED_IDS } from '../emulator/seed.js';
import { startLiveStack, type LiveStack } from './live-stack.js';
import { DEFAULT_LIVE_PORTS, LIVE_PORT_VARIABLES, LivePortError, livePortsFrom } from './live-ports.js';

const USAGE = `Usage: npm run local -- [options]
  --emulator-port <n>   iBinder API emulator (default ${DEFAULT_LIVE_PORTS.emulator}, or ${LIVE_PORT_VARIABLES.emulator})
  --bynder-port <n>     Bynder API emulator (default ${DEFAULT_LIVE_PORTS.bynder}, or ${LIVE_PORT_VARIABLES.bynder}; any free one when the iBinder emulator's is 0)
  --s3-port <n>         local S3 (default ${DEFAULT_LIVE_PORTS.s3}, or ${LIVE_PORT_VARIABLES.s3})
  --dynamodb-port <n>   local DynamoDB (default ${DEFAULT_LIVE_PORTS.dynamodb}, or ${LIVE_PORT_VARIABLES.dynamodb})
  --sqs-port <n>        local SQS endpoint (default ${DEFAULT_LIVE_PORTS.sqs}, or ${LIVE_PORT_VARIABLES.sqs})
                        0 picks a free port
  --verbose             also print the functions' JSON logs
  --help`;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function printWelcome(stack: LiveStack): void {
  const { services } = stack;
  const harbour = DEFAULT_SEED_IDS.harbourOffice;
  say('The local stack is running (nothing here talks to AWS):');
  say(`  iBinder emulator  ${services.emulator.url}  (tenant ${services.emulator.tenantId})`);
  say(`  Bynder emulator   ${services.bynder.url}  (files tagged bynder: go to its portal)`);
  say(
    `  S3                ${services.s3.endpoint}  buckets ${services.inboxBucket} (versioned; inbox/ is ingested), ${services.archiveBucket}`,
  );
  say(`  DynamoDB          ${services.dynamodb.endpoint}  tables ${services.ledgerTable}, ${services.exportLedgerTable}`);
  say(
    `  SQS               ${stack.sqs.endpoint}  queues ${Object.values(stack.queueUrls)
      .map((u) => u.split('/').pop())
      .join(', ')}`,
  );
  say();
  say('Paste these into another shell:');
  say();
  for (const line of stack.shellExports()) say(line);
  say(stack.cliAlias());
  say();
  say('Then, for example:');
  say(`  aws s3 cp ./scan.pdf s3://${services.inboxBucket}/inbox/scanner-3/scan.pdf        # routed by the prefix rule, no tags needed`);
  say(`  aws s3api put-object --bucket ${services.inboxBucket} --key "inbox/erp/A-105 Roof plan.pdf" --body ./drawing.pdf \\`);
  say(`      --tagging "ibinder:binder=${harbour.binderId}&ibinder:folder-path=01 Architecture/Drawings&ibinder:meta:discipline=ARC"`);
  say(`  ibinder-pipeline-local status "${services.inboxBucket}/inbox/erp/A-105 Roof plan.pdf"`);
  say(`  aws s3api put-object --bucket ${services.inboxBucket} --key inbox/marketing/terrace.jpg --body ./terrace.jpg \\`);
  say('      --tagging "bynder:brand=Harbour Living&bynder:meta:region=Nordics&bynder:meta:colours=Red%2BBlue"');
  say('  ibinder-pipeline-local brands                                                 # or metaproperties, check ... --tag bynder:...');
  say(`  ibinder-pipeline-local export --binder ${harbour.binderId}`);
  say('  ibinder-pipeline-local redrive');
  say();
  say('Stop with Ctrl-C.');
  say();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'emulator-port': { type: 'string' },
      'bynder-port': { type: 'string' },
      's3-port': { type: 'string' },
      'dynamodb-port': { type: 'string' },
      'sqs-port': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    say(USAGE);
    return;
  }
  const ports = livePortsFrom(
    {
      emulator: values['emulator-port'],
      bynder: values['bynder-port'],
      s3: values['s3-port'],
      dynamodb: values['dynamodb-port'],
      sqs: values['sqs-port'],
    },
    process.env,
  );
  const stack = await startLiveStack({ ports, log: (line) => say(`${new Date().toISOString()} ${line}`) });
  printWelcome(stack);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping the local stack.`);
    stack.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`Could not stop cleanly: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof LivePortError) {
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const message = err instanceof Error ? err.message : String(err);
  const hint = /EADDRINUSE|address already in use/i.test(message)
    ? `\nA port is taken (another npm run local or npm run emulator?): stop it, or choose other ports with --emulator-port, --bynder-port, --s3-port, --dynamodb-port, --sqs-port (0 = any free port).`
    : '';
  process.stderr.write(`The local stack could not start: ${message}${hint}\n`);
  process.exit(1);
});
