/**
 * The export's dependencies wired to the local services: the emulator as the source, the local
 * archive bucket and export ledger table. `runExport` (functions/export-planner/run-export.ts)
 * takes these to run a whole export in this process.
 */
import { createExportDeps, silentExportLogger, type ExportDeps, type ExportLogger } from '../shared/export/deps.js';
import { exportSettingsFrom, type ExportSettings } from '../shared/export/settings.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { IBinderSource } from '../shared/connectors/ibinder/export-source.js';
import type { IBinderClient } from '../shared/connectors/ibinder/client/types.js';
import { createLocalIBinderClient } from './local-ingest-dependencies.js';
import type { LocalServices } from './services.js';

export interface LocalExportOptions {
  config: PipelineConfig;
  settings?: Partial<ExportSettings>;
  clock?: () => Date;
  logger?: ExportLogger;
  ibinderClient?: IBinderClient;
}

export function createLocalExportDependencies(services: LocalServices, options: LocalExportOptions): ExportDeps {
  const client = options.ibinderClient ?? createLocalIBinderClient(services);
  return createExportDeps({
    settings: exportSettingsFrom(options.config, options.settings),
    source: new IBinderSource(client),
    s3: services.s3.client,
    bucket: services.archiveBucket,
    dynamo: services.dynamodb.documentClient,
    ledgerTableName: services.exportLedgerTable,
    logger: options.logger ?? silentExportLogger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
