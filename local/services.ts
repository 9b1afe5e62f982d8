/**
 * Everything the pipeline talks to, on one machine and in this process: the iBinder API
 * emulator, the Bynder API emulator (a seeded portal), a local S3-compatible server with the inbox and archive buckets, and a local
 * DynamoDB-compatible server with the ingest and export ledger tables. Each listens on
 * 127.0.0.1 and a free port (or the port asked for); each client is configured explicitly (endpoint, region, dummy
 * credentials), so no request ever reaches AWS. `stop()` closes all four and removes their
 * temporary data.
 */
import { startBynderEmulator } from '../emulator/bynder/index.js';
import type { BynderEmulator, BynderEmulatorOptions } from '../emulator/bynder/types.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator, EmulatorOptions } from '../emulator/types.js';
import { startLocalDynamoDb, type LocalDynamoDb } from './local-dynamodb.js';
import { LOCAL_REGION, startLocalS3, type LocalS3 } from './local-s3.js';

export const LOCAL_RESOURCE_NAMES = {
  inboxBucket: 'ibinder-inbox-local',
  archiveBucket: 'ibinder-archive-local',
  ledgerTable: 'ibinder-ingest-ledger-local',
  exportLedgerTable: 'ibinder-export-ledger-local',
} as const;

export interface LocalServicesOptions {
  /** Passed to the emulator (seed, faults, token lifetime...). Default: the default seed. */
  emulator?: EmulatorOptions;
  /** Passed to the Bynder emulator (seed, faults, rate limit...). Default: the default seed. */
  bynder?: BynderEmulatorOptions;
  inboxBucket?: string;
  archiveBucket?: string;
  ledgerTable?: string;
  exportLedgerTable?: string;
  /** Ports on 127.0.0.1 for the local S3 and DynamoDB servers; 0 or absent picks a free one (the emulator's is `emulator.port`). */
  ports?: { s3?: number; dynamodb?: number };
}

export interface LocalServices {
  region: string;
  emulator: Emulator;
  /** The Bynder portal: `bynder.url` is the portal URL, with its client id and secret. */
  bynder: BynderEmulator;
  s3: LocalS3;
  dynamodb: LocalDynamoDb;
  inboxBucket: string;
  archiveBucket: string;
  ledgerTable: string;
  exportLedgerTable: string;
  /** Stops all services; safe to call twice. */
  stop(): Promise<void>;
}

export async function startLocalServices(options: LocalServicesOptions = {}): Promise<LocalServices> {
  const inboxBucket = options.inboxBucket ?? LOCAL_RESOURCE_NAMES.inboxBucket;
  const archiveBucket = options.archiveBucket ?? LOCAL_RESOURCE_NAMES.archiveBucket;
  const ledgerTable = options.ledgerTable ?? LOCAL_RESOURCE_NAMES.ledgerTable;
  const exportLedgerTable = options.exportLedgerTable ?? LOCAL_RESOURCE_NAMES.exportLedgerTable;

  const started = await Promise.allSettled([
    startEmulator({ host: '127.0.0.1', port: 0, ...options.emulator }),
    startBynderEmulator({ host: '127.0.0.1', port: 0, ...options.bynder }),
    // The inbox is versioned in AWS; the ledger keys objects by their version id.
    startLocalS3({ buckets: [inboxBucket, archiveBucket], versionedBuckets: [inboxBucket], port: options.ports?.s3 ?? 0 }),
    startLocalDynamoDb({
      tables: [ledgerTable, exportLedgerTable],
      tablesWithObjectIndex: [ledgerTable],
      port: options.ports?.dynamodb ?? 0,
    }),
  ] as const);
  const [emulatorResult, bynderResult, s3Result, dynamodbResult] = started;
  if (
    emulatorResult.status === 'rejected' ||
    bynderResult.status === 'rejected' ||
    s3Result.status === 'rejected' ||
    dynamodbResult.status === 'rejected'
  ) {
    await Promise.allSettled([
      emulatorResult.status === 'fulfilled' ? emulatorResult.value.close() : undefined,
      bynderResult.status === 'fulfilled' ? bynderResult.value.close() : undefined,
      s3Result.status === 'fulfilled' ? s3Result.value.stop() : undefined,
      dynamodbResult.status === 'fulfilled' ? dynamodbResult.value.stop() : undefined,
    ]);
    const reasons = started.flatMap((r, i) =>
      r.status === 'rejected'
        ? [`${['iBinder emulator', 'Bynder emulator', 'local S3', 'local DynamoDB'][i]}: ${errorText(r.reason)}`]
        : [],
    );
    throw new Error(`the local services could not start (${reasons.join('; ')})`);
  }
  const emulator = emulatorResult.value;
  const bynder = bynderResult.value;
  const s3 = s3Result.value;
  const dynamodb = dynamodbResult.value;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= Promise.allSettled([emulator.close(), bynder.close(), s3.stop(), dynamodb.stop()]).then((results) => {
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [errorText(r.reason)] : []));
      if (failures.length > 0) throw new Error(`the local services did not stop cleanly: ${failures.join('; ')}`);
    });
    return stopping;
  };

  return { region: LOCAL_REGION, emulator, bynder, s3, dynamodb, inboxBucket, archiveBucket, ledgerTable, exportLedgerTable, stop };
}

function errorText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
