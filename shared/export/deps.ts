/**
 * Everything the export's business logic needs, passed in rather than imported, so the
 * Lambda handlers, the in-process run (demo, bench) and the tests wire the same code to
 * different clients: AWS or local servers, the iBinder HTTP client or a fake.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BynderExportContext } from '../connectors/bynder/export/context.js';
import { ExportLedger } from '../ledger/export-ledger.js';
import type { ExportSource } from '../export-source/types.js';
import type { ExportJobQueue } from './job-queue.js';
import { ManifestStore } from './manifest-store.js';
import { MetadataSchemaCache } from './metadata-labels.js';
import { noExportMetrics, type ExportMetrics } from './metrics.js';
import { newRunId } from './run-id.js';
import { ExportRunStore } from './run-store.js';
import type { ExportSettings } from './settings.js';

/** The logging the export uses; the shared Powertools logger satisfies it. */
export interface ExportLogger {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/** The shape of Powertools' Logger methods this module needs. */
interface AttributeLogger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** Adapts a Powertools logger (attributes are a rest parameter there, never `undefined`). */
export function exportLoggerFrom(logger: AttributeLogger): ExportLogger {
  const forward =
    (level: keyof AttributeLogger) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      if (attributes) logger[level](message, attributes);
      else logger[level](message);
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}

export const silentExportLogger: ExportLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface ExportDeps {
  settings: ExportSettings;
  /** iBinder: its runs and its jobs. */
  source: ExportSource;
  /** Bynder, when the environment configures it: its runs (change feed) and its jobs. */
  bynder?: BynderExportContext | undefined;
  ledger: ExportLedger;
  runs: ExportRunStore;
  manifests: ManifestStore;
  /** The archive bucket's client and name; the worker writes files and sidecars there. */
  s3: S3Client;
  bucket: string;
  schemas: MetadataSchemaCache;
  clock: () => Date;
  logger: ExportLogger;
  metrics: ExportMetrics;
  newRunId: (startedAt: Date) => string;
  /** A fresh id per claim or planning lease. */
  newOwnerId: () => string;
}

/** The planner's dependencies: the export's plus the queue it fills. */
export interface PlannerDeps extends ExportDeps {
  queue: ExportJobQueue;
}

export interface CreateExportDepsOptions {
  settings: ExportSettings;
  source: ExportSource;
  bynder?: BynderExportContext | undefined;
  s3: S3Client;
  bucket: string;
  dynamo: DynamoDBDocumentClient;
  ledgerTableName: string;
  clock?: () => Date;
  logger?: ExportLogger;
  metrics?: ExportMetrics;
  newRunId?: (startedAt: Date) => string;
  newOwnerId?: () => string;
  /** Days run state is kept in the ledger table. Default 90. */
  runStateTtlDays?: number;
}

export function createExportDeps(options: CreateExportDepsOptions): ExportDeps {
  const clock = options.clock ?? (() => new Date());
  return {
    settings: options.settings,
    source: options.source,
    ...(options.bynder !== undefined ? { bynder: options.bynder } : {}),
    ledger: new ExportLedger(options.dynamo, options.ledgerTableName),
    runs: new ExportRunStore(options.dynamo, options.ledgerTableName, {
      ...(options.runStateTtlDays !== undefined ? { ttlDays: options.runStateTtlDays } : {}),
    }),
    manifests: new ManifestStore(options.s3, options.bucket),
    s3: options.s3,
    bucket: options.bucket,
    schemas: new MetadataSchemaCache(
      (binderId) => options.source.describeMetadata(binderId),
      undefined,
      () => clock().getTime(),
    ),
    clock,
    logger: options.logger ?? silentExportLogger,
    metrics: options.metrics ?? noExportMetrics,
    newRunId: options.newRunId ?? ((startedAt) => newRunId(startedAt)),
    newOwnerId: options.newOwnerId ?? randomUUID,
  };
}
