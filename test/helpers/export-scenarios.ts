/**
 * Scenario helpers for the export integration tests on the local stack:
 * - project binders added to the emulator in the seed's own format (`addProjectBinder`);
 * - reads of what an export left behind: archive objects and sidecars, run manifests, export
 *   ledger items (`ArchiveReader`, `exportLedgerItem`);
 * - what the emulator was asked, as a delta by route since a snapshot (`CallDelta`);
 * - how many times each archive key was written (`ArchiveWrites`): the archive bucket is
 *   versioned in AWS, so every write is an object version, while the local S3 keeps only the
 *   latest bytes;
 * - the Lambda side of the export as it runs in AWS: the planner and worker handlers' bodies
 *   over injected dependencies (`plannerLambda`, `workerLambda`), an export queue whose
 *   SendMessageBatch calls land in an SqsSimulator (`routeSqsToSimulators`), and clients that
 *   die mid-invocation like a crashed function (`CrashingClients`).
 * They arrange and observe; they never stand in for the code under test.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { applySeed } from '../../emulator/seed.js';
import type { EmulatorState } from '../../emulator/state.js';
import type { Emulator, SeedDocument } from '../../emulator/types.js';
import { parsePlannerEvent } from '../../functions/export-planner/event.js';
import { planExport, type PlanResult } from '../../functions/export-planner/plan.js';
import { processExportJobs } from '../../functions/export-worker/process-jobs.js';
import { createDocumentClient } from '../../shared/aws/clients.js';
import type { ExportDeps, PlannerDeps } from '../../shared/export/deps.js';
import { ExportSidecarSchema, type ExportSidecar } from '../../shared/export/sidecar.js';
import { createLocalS3Client } from '../../local/local-s3.js';
import type { LocalServices } from '../../local/services.js';
import type { SqsLambdaHandler, SqsSimulator } from '../../local/sqs-simulator.js';

/** The emulator's route templates the export's assertions count. */
export const EXPORT_ROUTE = {
  token: 'POST /connect/token',
  binders: 'GET /binders',
  metadata: 'GET /binders/{id}/metadataelements',
  search: 'POST /documents',
  versions: 'GET /documents/{documentId}/versions',
  raw: 'GET /documents/{documentId}/versions/{versionId}/raw',
  downloadLink: 'GET /documents/{documentId}/versions/{versionId}/downloadlink',
  storageGet: 'GET /storage/download/{versionId}',
} as const;

/** Short backoff for the iBinder client, so retries in a test take milliseconds. */
export const FAST_IBINDER_RETRIES = {
  baseDelayMs: 5,
  maxDelayMs: 50,
  rateLimitFloorMs: 5,
  requestTimeoutMs: 10_000,
  maxRetryTimeMs: 5_000,
} as const;

export const noRetryDelay = (): Promise<void> => Promise.resolve();

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Emulator data

export interface ProjectDocument {
  documentId: string;
  fileName: string;
  folderId: string;
  /** Oldest first, as the API lists them. */
  versionIds: string[];
}

export interface ProjectBinder {
  binderId: string;
  documents: ProjectDocument[];
}

/**
 * Adds a binder with the seed's metadata schema (a required `discipline` list, a free-text
 * `documentNumber`, an optional `status` list) and one folder holding `documents`. A version
 * without metadata gets `discipline: ARC`, the one required element.
 */
export function addProjectBinder(state: EmulatorState, binderId: string, documents: SeedDocument[]): ProjectBinder {
  applySeed(state, {
    binders: [
      {
        id: binderId,
        name: `Export test ${binderId}`,
        metadataElements: [
          {
            id: 'discipline',
            label: 'Discipline',
            dataType: 'List',
            required: true,
            allowedValues: [
              { id: 'ARC', label: 'Architecture' },
              { id: 'STR', label: 'Structural' },
            ],
          },
          { id: 'documentNumber', label: 'Document number', dataType: 'Text' },
          {
            id: 'status',
            label: 'Status',
            dataType: 'List',
            allowedValues: [
              { id: 'FOR_REVIEW', label: 'For review' },
              { id: 'APPROVED', label: 'Approved' },
            ],
          },
        ],
        folders: [
          {
            name: 'Drawings',
            documents: documents.map((d) => ({ ...d, versions: d.versions.map((v) => ({ metadata: { discipline: 'ARC' }, ...v })) })),
          },
        ],
      },
    ],
  });
  return describeBinder(state, binderId);
}

/** The binder's documents and version ids as the emulator holds them now. */
export function describeBinder(state: EmulatorState, binderId: string): ProjectBinder {
  return {
    binderId,
    documents: state.documentsInBinder(binderId).map((d) => ({
      documentId: d.id,
      fileName: d.fileName,
      folderId: d.folderId,
      versionIds: state.listVersions(d.id).map((v) => v.id),
    })),
  };
}

/** `count` small documents with one version each, named `<prefix>-<n>.pdf`. */
export function simpleDocuments(prefix: string, count: number): SeedDocument[] {
  return Array.from({ length: count }, (_, i) => ({
    fileName: `${prefix}-${i + 1}.pdf`,
    versions: [{ content: `%PDF-1.4\n${prefix} document ${i + 1}, first version\n%%EOF\n` }],
  }));
}

// ---------------------------------------------------------------------------------------------
// Emulator calls

/** Calls per route made since it was created (token calls left out: caching them is not the point). */
export class CallDelta {
  private readonly before: Record<string, number>;

  constructor(private readonly emulator: Pick<Emulator, 'calls'>) {
    this.before = emulator.calls.byRoute();
  }

  byRoute(): Record<string, number> {
    const delta: Record<string, number> = {};
    for (const [route, count] of Object.entries(this.emulator.calls.byRoute())) {
      const added = count - (this.before[route] ?? 0);
      if (added > 0 && route !== EXPORT_ROUTE.token) delta[route] = added;
    }
    return delta;
  }

  count(route: string): number {
    return this.byRoute()[route] ?? 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Archive bucket and export ledger

export interface ManifestContents {
  run: Record<string, unknown>;
  binders: Record<string, unknown>[];
  versions: Record<string, unknown>[];
  lineCount: number;
}

export class ArchiveReader {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  /** Every key under `prefix`, sorted. */
  async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  /** The object's bytes; undefined when there is no such key. */
  async bytes(key: string): Promise<Buffer | undefined> {
    try {
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async sidecar(archiveKey: string): Promise<ExportSidecar> {
    const bytes = await this.bytes(`${archiveKey}.metadata.json`);
    if (!bytes) throw new Error(`no sidecar beside ${archiveKey} in ${this.bucket}`);
    return ExportSidecarSchema.parse(JSON.parse(bytes.toString('utf8')));
  }

  /** A run manifest, split by line type; each line must be one JSON object. */
  async manifest(key: string): Promise<ManifestContents> {
    const bytes = await this.bytes(key);
    if (!bytes) throw new Error(`no manifest ${key} in ${this.bucket}`);
    const lines = bytes
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const [run, ...rest] = lines;
    if (run?.type !== 'run') throw new Error(`manifest ${key} does not start with its run line`);
    return {
      run,
      binders: rest.filter((l) => l.type === 'binder'),
      versions: rest.filter((l) => l.type === 'version'),
      lineCount: lines.length,
    };
  }
}

/** The archive key layout the README documents: `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>`. */
export function expectedArchiveKey(
  tenantId: string,
  binderId: string,
  document: Pick<ProjectDocument, 'documentId' | 'fileName'>,
  versionId: string,
): string {
  return `${tenantId}/${binderId}/${document.documentId}/${versionId}/${document.fileName}`;
}

/** The export ledger's item for a version, read straight from the table (undefined: none). */
export async function exportLedgerItem(services: LocalServices, versionId: string): Promise<Record<string, unknown> | undefined> {
  const got = await services.dynamodb.documentClient.send(
    new GetCommand({ TableName: services.exportLedgerTable, Key: { pk: `version#${versionId}` }, ConsistentRead: true }),
  );
  return got.Item;
}

/**
 * Counts writes (PutObject, CompleteMultipartUpload, CopyObject) per key of the archive bucket,
 * from the local S3 server's own change events: each would be one object version in AWS.
 */
export class ArchiveWrites {
  private readonly counts = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(services: LocalServices) {
    this.unsubscribe = services.s3.onObjectChange((change) => {
      if (change.bucket !== services.archiveBucket || !change.eventName.startsWith('ObjectCreated:')) return;
      this.counts.set(change.key, (this.counts.get(change.key) ?? 0) + 1);
    });
  }

  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Keys under `prefix` written at least once, sorted. */
  keys(prefix = ''): string[] {
    return [...this.counts.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Keys written more than once. */
  duplicates(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([key]) => key);
  }

  stop(): void {
    this.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------------
// Wrappers

/** `target` with some members replaced; everything else is the target's own (methods bound to it). */
export function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) return (overrides as Record<PropertyKey, unknown>)[property];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/**
 * A DynamoDB document client and an S3 client for one worker that dies mid-invocation: the
 * first command `crashAt` matches throws, and from then on every command of either client
 * throws too (a dead function writes nothing more, releases no claim), until `revive()` (the
 * next invocation, in a fresh process).
 */
export class CrashingClients {
  readonly documentClient: DynamoDBDocumentClient;
  readonly s3: S3Client;
  crashes = 0;
  private dead = false;
  private armed = true;

  constructor(
    dynamodb: DynamoDBClient,
    s3Endpoint: string,
    private readonly crashAt: (command: { input: unknown }) => boolean,
  ) {
    this.documentClient = createDocumentClient(dynamodb);
    this.s3 = createLocalS3Client(s3Endpoint);
    this.intercept(this.documentClient);
    this.intercept(this.s3);
  }

  revive(): void {
    this.dead = false;
  }

  private intercept(client: { send: (...args: never[]) => Promise<unknown> }): void {
    const send = client.send.bind(client) as (command: { input: unknown }, ...rest: unknown[]) => Promise<unknown>;
    const replacement = (command: { input: unknown }, ...rest: unknown[]): Promise<unknown> => {
      if (this.dead) return Promise.reject(new Error('simulated crash: this worker invocation is dead'));
      if (this.armed && this.crashAt(command)) {
        this.armed = false;
        this.dead = true;
        this.crashes++;
        return Promise.reject(new Error('simulated crash: the worker died right before this call'));
      }
      return send(command, ...rest);
    };
    (client as { send: unknown }).send = replacement;
  }
}

// ---------------------------------------------------------------------------------------------
// The Lambda side

export type PlannerLambda = (event: unknown, context: Context) => Promise<PlanResult>;

/** The planner handler's body (functions/export-planner/handler.ts) over these dependencies. */
export function plannerLambda(deps: PlannerDeps): PlannerLambda {
  return (event, context) => planExport(parsePlannerEvent(event), deps, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
}

/** The worker handler's body (functions/export-worker/handler.ts) over these dependencies. */
export function workerLambda(deps: ExportDeps): SqsLambdaHandler {
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    const results = await processExportJobs(
      event.Records.map((record) => ({
        messageId: record.messageId,
        body: record.body,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
      })),
      deps,
      { remainingTimeMs: () => context.getRemainingTimeInMillis() },
    );
    return { batchItemFailures: results.filter((r) => r.status === 'retry').map((r) => ({ itemIdentifier: r.messageId })) };
  };
}

/**
 * Every SQSClient's SendMessageBatch goes to the simulator whose URL it names (the export
 * queue); any other SQS command, or an unknown queue URL, fails as it would in AWS.
 * `restore()` gives SQSClient back its real `send`.
 */
export function routeSqsToSimulators(queues: readonly SqsSimulator[]): { restore(): void } {
  const sqs = mockClient(SQSClient);
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
    const queue = queues.find((q) => q.url === input.QueueUrl);
    if (!queue) throw Object.assign(new Error(`The specified queue does not exist: ${input.QueueUrl}`), { name: 'QueueDoesNotExist' });
    const entries = input.Entries ?? [];
    if (entries.length === 0 || entries.length > 10) {
      throw Object.assign(new Error(`SendMessageBatch takes 1 to 10 entries, got ${entries.length}`), {
        name: 'TooManyEntriesInBatchRequest',
      });
    }
    return {
      Successful: entries.map((entry) => {
        const body = entry.MessageBody ?? '';
        const { messageId } = queue.send(body, entry.DelaySeconds !== undefined ? { delaySeconds: entry.DelaySeconds } : {});
        return { Id: entry.Id, MessageId: messageId, MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
      }),
      Failed: [],
    };
  });
  return { restore: () => sqs.restore() };
}
