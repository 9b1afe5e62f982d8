/**
 * The export's dependencies wired to the local services: the emulator as the source, the local
 * archive bucket and export ledger table. `runExport` (functions/export-planner/run-export.ts)
 * takes these to run a whole export in this process. When the config has a `bynder` block
 * (or a Bynder client is given), the Bynder side of the export reads the Bynder emulator.
 */
import { createExportDeps, silentExportLogger, type ExportDeps, type ExportLogger } from '../shared/export/deps.js';
import { exportSettingsFrom, type ExportSettings } from '../shared/export/settings.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { IBinderSource } from '../shared/connectors/ibinder/export-source.js';
import type { IBinderClient } from '../shared/connectors/ibinder/client/types.js';
import type { BynderClient } from '../shared/connectors/bynder/index.js';
import { createBynderExportContext } from '../shared/connectors/bynder/index.js';
import type { BynderConfig } from '../shared/connectors/bynder/index.js';
import { createLocalBynderClient, createLocalIBinderClient } from './local-ingest-dependencies.js';
import type { LocalServices } from './services.js';

export interface LocalExportOptions {
  config: PipelineConfig;
  settings?: Partial<ExportSettings>;
  clock?: () => Date;
  logger?: ExportLogger;
  ibinderClient?: IBinderClient;
  /** The Bynder client (default: the HTTP client against the Bynder emulator, when the config has `bynder`). */
  bynderClient?: BynderClient;
  /** The change feed's page size and overlap (tests use small pages). */
  bynderFeed?: { pageSize?: number; overlapSeconds?: number };
}

export function createLocalExportDependencies(services: LocalServices, options: LocalExportOptions): ExportDeps {
  const client = options.ibinderClient ?? createLocalIBinderClient(services);
  const bynderConfig: BynderConfig | undefined = options.config.bynder;
  const bynderClient = bynderConfig !== undefined ? (options.bynderClient ?? createLocalBynderClient(services, bynderConfig)) : undefined;
  return createExportDeps({
    settings: exportSettingsFrom(options.config, options.settings),
    source: new IBinderSource(client),
    ...(bynderConfig !== undefined && bynderClient !== undefined
      ? {
          bynder: createBynderExportContext({
            client: bynderClient,
            config: bynderConfig,
            pageSize: options.bynderFeed?.pageSize,
            overlapSeconds: options.bynderFeed?.overlapSeconds,
            ...(options.clock ? { now: () => (options.clock as () => Date)().getTime() } : {}),
          }),
        }
      : {}),
    s3: services.s3.client,
    bucket: services.archiveBucket,
    dynamo: services.dynamodb.documentClient,
    ledgerTableName: services.exportLedgerTable,
    logger: options.logger ?? silentExportLogger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
