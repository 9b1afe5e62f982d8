/**
 * `npm run emulator`: the emulator as a standalone process for the demo and for poking at by
 * hand. Port from `--port` or IBINDER_EMULATOR_PORT (default 4010). Prints the URLs and the
 * demo credentials in the variable names the vendor's quickstart uses, and stops cleanly on
 * SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
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
    ...(values.quiet ? {} : { log: (line: string) => console.log(`${new Date().toISOString()} ${line}`) }),
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

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator.`);
    emulator.close().then(
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
