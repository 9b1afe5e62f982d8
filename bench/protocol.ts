/**
 * What the bench's parent (which hosts the local servers) and a measured process (which runs
 * one case and nothing else) say to each other over the IPC channel. Both directions are
 * validated: a message that does not match is a bug in the bench, and it should fail loudly
 * with the field's name rather than measure the wrong thing.
 */
import { z } from 'zod';

/** Where the local servers listen; the measured process reaches them like a Lambda reaches AWS. */
export const LocalEndpointsSchema = z.object({
  s3: z.url(),
  dynamodb: z.url(),
  region: z.string().min(1),
  /** The local S3 server verifies signatures made with this fixed key pair; not a secret. */
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});
export type LocalEndpoints = z.infer<typeof LocalEndpointsSchema>;

/** The emulator's client id and secret; handed over the IPC channel, never argv or a log. */
export const IBinderCredentialsSchema = z.object({ clientId: z.string().min(1), clientSecret: z.string().min(1) });

/** Ingest: the real `processBatch` with the Lambda's own dependency wiring, on SQS messages. */
export const IngestTaskSchema = z.object({
  kind: z.literal('ingest'),
  endpoints: LocalEndpointsSchema,
  credentials: IBinderCredentialsSchema,
  /** The PipelineConfig as the stack writes it into PIPELINE_CONFIG. */
  pipelineConfig: z.record(z.string(), z.unknown()),
  ledgerTable: z.string().min(1),
  /** The bucket the events name; the ingest acts on no other. */
  inboxBucket: z.string().min(1),
  /** SQS messages whose bodies are S3 event notifications. */
  messages: z.array(z.object({ messageId: z.string().min(1), body: z.string().min(1) })).min(1),
});
export type IngestTask = z.infer<typeof IngestTaskSchema>;

/** The baseline: GetObject from the local S3 server piped into a PUT to a presigned URL. */
export const PlainCopyTaskSchema = z.object({
  kind: z.literal('plain-copy'),
  endpoints: LocalEndpointsSchema,
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().optional(),
  uploadUrl: z.url(),
});
export type PlainCopyTask = z.infer<typeof PlainCopyTaskSchema>;

/** A whole export run (`runExport`) with the export Lambdas' own dependency wiring. */
export const ExportTaskSchema = z.object({
  kind: z.literal('export'),
  endpoints: LocalEndpointsSchema,
  credentials: IBinderCredentialsSchema,
  pipelineConfig: z.record(z.string(), z.unknown()),
  exportLedgerTable: z.string().min(1),
  archiveBucket: z.string().min(1),
  binderIds: z.array(z.string().min(1)).min(1),
});
export type ExportTask = z.infer<typeof ExportTaskSchema>;

/** The transfer baseline against the fast endpoints: a GET piped into a PUT, nothing else. */
export const RawPipeTaskSchema = z.object({
  kind: z.literal('raw-pipe'),
  sourceUrl: z.url(),
  sinkUrl: z.url(),
});
export type RawPipeTask = z.infer<typeof RawPipeTaskSchema>;

/**
 * The export's transfer against the same fast endpoints: the iBinder client's presigned GET
 * (`openDownload`) streamed by `streamToArchive` into a bucket of the in-memory S3, with the
 * export's default part size, parts in flight and checksum.
 */
export const ArchiveTransferTaskSchema = z.object({
  kind: z.literal('archive-transfer'),
  sourceUrl: z.url(),
  s3Endpoint: z.url(),
  bucket: z.string().min(1),
  key: z.string().min(1),
});
export type ArchiveTransferTask = z.infer<typeof ArchiveTransferTaskSchema>;

/**
 * The Bynder client's upload (`startUpload` + `sendUpload`, file-service flow: 5 MiB chunks,
 * each with its SHA-256, and the whole file's) of `size` synthetic bytes (seed `seed`,
 * synthetic-bytes.ts) to the fast in-memory Bynder endpoint (bynder-memory-endpoint.ts).
 */
export const BynderUploadTaskSchema = z.object({
  kind: z.literal('bynder-upload'),
  portalUrl: z.url(),
  seed: z.number().int(),
  size: z.number().int().nonnegative(),
  fileName: z.string().min(1),
});
export type BynderUploadTask = z.infer<typeof BynderUploadTaskSchema>;

/**
 * The Bynder upload's baseline: the same synthetic bytes to the same endpoint in the same
 * exchanges (prepare, one POST per 5 MiB chunk, finalise), piped straight into each request:
 * no hashing, no chunk buffer, no client.
 */
export const ChunkedPostCopyTaskSchema = z.object({
  kind: z.literal('chunked-post-copy'),
  portalUrl: z.url(),
  seed: z.number().int(),
  size: z.number().int().nonnegative(),
  chunkSizeBytes: z.number().int().positive(),
});
export type ChunkedPostCopyTask = z.infer<typeof ChunkedPostCopyTaskSchema>;

/**
 * A Bynder version's export transfer: `openBynderVersion` (a download location from the fast
 * Bynder endpoint, then the storage GET through the Bynder client) streamed by
 * `streamToArchive` into the in-memory S3, with the export's default parts and checksum.
 */
export const BynderArchiveTransferTaskSchema = z.object({
  kind: z.literal('bynder-archive-transfer'),
  portalUrl: z.url(),
  assetId: z.string().min(1),
  mediaItemId: z.string().min(1),
  s3Endpoint: z.url(),
  bucket: z.string().min(1),
  key: z.string().min(1),
});
export type BynderArchiveTransferTask = z.infer<typeof BynderArchiveTransferTaskSchema>;

export const MeasuredTaskSchema = z.discriminatedUnion('kind', [
  IngestTaskSchema,
  PlainCopyTaskSchema,
  ExportTaskSchema,
  RawPipeTaskSchema,
  ArchiveTransferTaskSchema,
  BynderUploadTaskSchema,
  ChunkedPostCopyTaskSchema,
  BynderArchiveTransferTaskSchema,
]);
export type MeasuredTask = z.infer<typeof MeasuredTaskSchema>;

export const MemoryPeakSchema = z.object({
  /** The kernel's high-water mark of this process's own resident memory, in bytes (VmHWM; memory-probe.ts). */
  maxRssBytes: z.number().nonnegative(),
  /** Highest sampled `heapUsed + external` (external includes `arrayBuffers`, i.e. Buffers). */
  peakHeapAndExternalBytes: z.number().nonnegative(),
  /** Highest sampled `arrayBuffers` alone: bytes held in Buffers (stream chunks). */
  peakArrayBuffersBytes: z.number().nonnegative(),
  samples: z.number().int().nonnegative(),
});
export type MemoryPeak = z.infer<typeof MemoryPeakSchema>;

const IngestOutcomeSchema = z.object({
  kind: z.literal('ingest'),
  batchItemFailures: z.number().int().nonnegative(),
  ingested: z.number().int().nonnegative(),
  rejected: z.array(z.string()),
  retried: z.number().int().nonnegative(),
});

const PlainCopyOutcomeSchema = z.object({
  kind: z.literal('plain-copy'),
  status: z.number().int(),
  bytes: z.number().int().nonnegative(),
});

const ExportOutcomeSchema = z.object({
  kind: z.literal('export'),
  runId: z.string(),
  documentsSeen: z.number().int().nonnegative(),
  skippedUnchanged: z.number().int().nonnegative(),
  versionsEnqueued: z.number().int().nonnegative(),
  versionsExported: z.number().int().nonnegative(),
  alreadyExported: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  failed: z.array(z.string()),
  manifestKey: z.string(),
});

const RawPipeOutcomeSchema = z.object({
  kind: z.literal('raw-pipe'),
  status: z.number().int(),
  bytes: z.number().int().nonnegative(),
});

const ArchiveTransferOutcomeSchema = z.object({
  kind: z.literal('archive-transfer'),
  size: z.number().int().nonnegative(),
  sha256Hex: z.string(),
});

const BynderUploadOutcomeSchema = z.object({
  kind: z.literal('bynder-upload'),
  /** The file id `prepare` handed out (what a save would take as its import id). */
  fileId: z.string(),
  bytes: z.number().int().nonnegative(),
});

const ChunkedPostCopyOutcomeSchema = z.object({
  kind: z.literal('chunked-post-copy'),
  fileId: z.string(),
  bytes: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
});

const BynderArchiveTransferOutcomeSchema = z.object({
  kind: z.literal('bynder-archive-transfer'),
  size: z.number().int().nonnegative(),
  sha256Hex: z.string(),
  locationsFetched: z.number().int().positive(),
});

export const TaskOutcomeSchema = z.discriminatedUnion('kind', [
  IngestOutcomeSchema,
  PlainCopyOutcomeSchema,
  ExportOutcomeSchema,
  RawPipeOutcomeSchema,
  ArchiveTransferOutcomeSchema,
  BynderUploadOutcomeSchema,
  ChunkedPostCopyOutcomeSchema,
  BynderArchiveTransferOutcomeSchema,
]);
export type TaskOutcome = z.infer<typeof TaskOutcomeSchema>;

export const MeasuredResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    /** Wall time of the measured work only (not process start-up or module loading). */
    durationMs: z.number().nonnegative(),
    /** CPU time (user + system) of this process during the measured work. */
    cpuMs: z.number().nonnegative(),
    memory: MemoryPeakSchema,
    outcome: TaskOutcomeSchema,
  }),
  z.object({ ok: z.literal(false), error: z.string(), memory: MemoryPeakSchema.optional() }),
]);
export type MeasuredResult = z.infer<typeof MeasuredResultSchema>;

/** Child -> parent. `ready` first (modules loaded), then exactly one `result`. */
export const ChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('result'), result: MeasuredResultSchema }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;

/** Parent -> child. */
export const ParentMessageSchema = z.object({ type: z.literal('run'), task: MeasuredTaskSchema });
export type ParentMessage = z.infer<typeof ParentMessageSchema>;
