/**
 * `npm run emulator`: the emulator as a standalone process for the demo and for poking at by
 * hand. Port from `--port` or IBINDER_EMULATOR_PORT (default 4010). Prints the URLs and the
 * demo credentials in the variable names the vendor's quickstart uses, and stops cleanly on
 * SIGINT/SIGTERM. `--bynder` starts the Bynder emulator beside it (`--bynder-port` or
 * BYNDER_EMULATOR_PORT, default 4020); `--bynder-only` starts the Bynder emulator alone.
 */
import { parseArgs } from 'node:util';
import { seedBulkAssets, startBynderEmulator, type BynderEmulator } from './bynder/index.js';
import { DEFAULT_SEED_IDS, seedBulkDocuments, startEmulator } from './index.js';
import { emulatorShellExports } from '../local/emulator-exports.js';

const USAGE = `Usage: npm run emulator -- [options]
  --port <n>                    listening port (default IBINDER_EMULATOR_PORT or 4010; 0 = any free port)
  --host <addr>                 listening address (default 127.0.0.1)
  --seed default|empty          seed data (default: default)
  --binders-response array|items  shape of GET /binders (default array)
  --download-link-paths raw,downloadlink  which download-link paths exist (default both)
  --require-tenant-on-presign   refuse the presign call without x-ibinder-tenantid
  --token-ttl <s>               access-token lifetime (default 3600)
  --presign-ttl <s>             presigned upload URL lifetime (default 900)
  --download-ttl <s>            download link lifetime (default 300)
  --bulk <n>                    add n synthetic documents to the first seeded binder
  --blob-dir <dir>              where uploaded bytes are kept (default: temporary, removed on exit)
  --quiet                       do not log requests
  --bynder                      also start the Bynder emulator
  --bynder-only                 start only the Bynder emulator
  --bynder-port <n>             its port (default BYNDER_EMULATOR_PORT or 4020; 0 = any free port)
  --bynder-bulk <n>             add n synthetic assets to its first brand
  --bynder-rate-limit <n>       requests per 300 s before its 429 block (default 4500)
  --help`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got '${raw}'.\n\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      seed: { type: 'string' },
      'binders-response': { type: 'string' },
      'download-link-paths': { type: 'string' },
      'require-tenant-on-presign': { type: 'boolean' },
      'token-ttl': { type: 'string' },
      'presign-ttl': { type: 'string' },
      'download-ttl': { type: 'string' },
      bulk: { type: 'string' },
      'blob-dir': { type: 'string' },
      quiet: { type: 'boolean' },
      bynder: { type: 'boolean' },
      'bynder-only': { type: 'boolean' },
      'bynder-port': { type: 'string' },
      'bynder-bulk': { type: 'string' },
      'bynder-rate-limit': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const seed = values.seed ?? 'default';
  const bindersResponse = values['binders-response'] ?? 'array';
  const linkPaths = (values['download-link-paths'] ?? 'raw,downloadlink').split(',').map((s) => s.trim());
  if (
    (seed !== 'default' && seed !== 'empty') ||
    (bindersResponse !== 'array' && bindersResponse !== 'items') ||
    linkPaths.some((p) => p !== 'raw' && p !== 'downloadlink')
  ) {
    console.error(`Invalid option value.\n\n${USAGE}`);
    process.exit(2);
  }

  const log = values.quiet ? undefined : (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  const bynder = values.bynder || values['bynder-only'] ? await startBynderFromArgs(values, log) : undefined;
  if (values['bynder-only']) {
    keepRunning([bynder as BynderEmulator]);
    return;
  }

  const emulator = await startEmulator({
    port: positiveInt('--port', values.port ?? process.env.IBINDER_EMULATOR_PORT, 4010),
    host: values.host ?? '127.0.0.1',
    seed,
    bindersResponse,
    downloadLinkPaths: linkPaths as ('raw' | 'downloadlink')[],
    requireTenantOnPresign: values['require-tenant-on-presign'] ?? false,
    tokenTtlSeconds: positiveInt('--token-ttl', values['token-ttl'], 3600),
    presignTtlSeconds: positiveInt('--presign-ttl', values['presign-ttl'], 900),
    downloadLinkTtlSeconds: positiveInt('--download-ttl', values['download-ttl'], 300),
    ...(values['blob-dir'] ? { blobDir: values['blob-dir'] } : {}),
    ...(log ? { log } : {}),
  });

  const bulk = positiveInt('--bulk', values.bulk, 0);
  if (bulk > 0) {
    const binderId = emulator.state.listBinders()[0]?.id;
    if (!binderId) {
      console.error('--bulk needs a seeded binder; use --seed default.');
      process.exit(2);
    }
    const result = seedBulkDocuments(emulator.state, { binderId, count: bulk, versionsPerDocument: 2, bytesPerVersion: 64 * 1024 });
    console.log(`Added ${result.documentIds.length} synthetic documents (${result.versionCount} versions) to binder ${binderId}.`);
  }

  const binders = emulator.state.listBinders();
  console.log(`iBinder API emulator listening on ${emulator.url}
Paste these into a shell to point the operator CLI (npx ibinder-pipeline) at it:

${emulatorShellExports(emulator).join('\n')}

Binders: ${binders.length === 0 ? '(none)' : binders.map((b) => `${b.id} ${b.name}`).join('; ')}${
    seed === 'default'
      ? `\nExample folder: ${DEFAULT_SEED_IDS.harbourOffice.binderId} / 01 Architecture/Drawings = ${DEFAULT_SEED_IDS.harbourOffice.folders.architectureDrawings}`
      : ''
  }
Controls: curl ${emulator.url}/__emulator/   (calls, faults, revoke-tokens, state)
Stop with Ctrl-C.`);
  keepRunning(bynder ? [emulator, bynder] : [emulator]);
}

/** The Bynder emulator from the `--bynder-*` options; prints its URLs and demo credentials. */
async function startBynderFromArgs(
  values: {
    'bynder-port'?: string | undefined;
    'bynder-bulk'?: string | undefined;
    'bynder-rate-limit'?: string | undefined;
    host?: string | undefined;
  },
  log: ((line: string) => void) | undefined,
): Promise<BynderEmulator> {
  const rateLimit = positiveInt('--bynder-rate-limit', values['bynder-rate-limit'], 4500);
  const bynder = await startBynderEmulator({
    port: positiveInt('--bynder-port', values['bynder-port'] ?? process.env.BYNDER_EMULATOR_PORT, 4020),
    host: values.host ?? '127.0.0.1',
    rateLimit: { limit: Math.max(1, rateLimit) },
    ...(log ? { log: (line: string) => log(`[bynder] ${line}`) } : {}),
  });
  const bulk = positiveInt('--bynder-bulk', values['bynder-bulk'], 0);
  if (bulk > 0) console.log(`Added ${seedBulkAssets(bynder.state, { count: bulk }).length} synthetic assets to the Bynder emulator.`);
  console.log(`Bynder API emulator listening on ${bynder.url}
Paste these into a shell to point a Bynder client at it:

export BYNDER_PORTAL_URL=${bynder.url}
export BYNDER_TOKEN_URL=${bynder.tokenUrl}
export BYNDER_CLIENT_ID=${bynder.clientId}
export BYNDER_CLIENT_SECRET=${bynder.clientSecret}  # demo credentials, not a secret

Controls: curl ${bynder.url}/__emulator/   (calls, faults, expire-tokens, expire-download-links, rate-limit, state)`);
  return bynder;
}

/** Keeps the process up until SIGINT/SIGTERM, then closes every emulator. */
function keepRunning(emulators: { close(): Promise<void> }[]): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator.`);
    Promise.all(emulators.map((e) => e.close())).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`Could not stop cleanly: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  const message =
    (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? `${(err as Error).message}: choose another --port or set IBINDER_EMULATOR_PORT.`
      : (err as Error).message;
  console.error(`The emulator could not start: ${message}`);
  process.exit(1);
});
