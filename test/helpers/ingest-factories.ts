/**
 * Factories for ingest tests: S3 notifications wrapped in SQS messages, a pipeline config, an
 * in-memory ledger with the DynamoDB ledger's semantics, recording metrics, a Lambda clock, and
 * inbox objects served by an aws-sdk-client-mock S3 client.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { AwsStub } from 'aws-sdk-client-mock';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-s3';
import { PipelineConfigSchema, type PipelineConfig, type PipelineConfigInput } from '../../shared/config/runtime.js';
import {
  createIBinderConnector,
  type Destination,
  IBinderDestination,
  type IBinderConnector,
} from '../../shared/connectors/ibinder/index.js';
import type { ConnectorDestination, IngestConnector } from '../../shared/connectors/types.js';
import type { MetadataElement } from '../../shared/connectors/ibinder/client/schemas.js';
import {
  committedVersionOf,
  keyOrderKey,
  sameCommittedVersion,
  LedgerConflictError,
  ledgerKey,
  objectVersionIdOf,
  type KeyCommitLease,
  type KeyCommitLeaseResult,
  type KeyCommitInOrderResult,
  type ClaimLease,
  type ClaimResult,
  type CommitRecord,
  type IngestLedgerStore,
  type KeyOrderRequest,
  type LedgerEntry,
  type TransferRecorded,
  type TransferredClaimResult,
  type TransferredUpload,
  type ObjectRef,
  type Problem,
  type ProblemCode,
} from '../../shared/ledger/types.js';
import type { IngestMetrics } from '../../shared/observability/metrics.js';
import { compareSequencers } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import type { FakeIBinderClient, FakeBinderSpec } from './fake-ibinder.js';

export const BUCKET = 'inbox-bucket';
export const BINDER_ID = 'BndrAAAA1';
export const OTHER_BINDER_ID = 'BndrBBBB2';

/** A schema with a required element with allowed values, and a free-text one. */
export const SCHEMA: MetadataElement[] = [
  {
    id: 'discipline',
    label: 'Discipline',
    dataType: 'list',
    required: true,
    allowedValues: [
      { id: 'd-arch', label: 'Architecture' },
      { id: 'd-struct', label: 'Structural' },
    ],
  },
  {
    id: 'status',
    label: 'Status',
    dataType: 'list',
    required: false,
    allowedValues: [
      { id: 's-draft', label: 'Draft' },
      { id: 's-final', label: 'Final' },
    ],
  },
  { id: 'note', label: 'Note', dataType: 'text', required: false, allowedValues: [] },
];

export const BINDERS: FakeBinderSpec[] = [
  {
    id: BINDER_ID,
    name: 'Project A',
    schema: SCHEMA,
    folders: [
      {
        id: 'f-drawings',
        name: 'Drawings',
        children: [
          { id: 'f-struct', name: 'Structural' },
          { id: 'f-arch', name: 'Architecture' },
        ],
      },
      { id: 'f-reports', name: 'Reports' },
    ],
  },
  { id: OTHER_BINDER_ID, name: 'Project B', schema: [], folders: [{ id: 'f-b-top', name: 'Inbox' }] },
];

export function makeConfig(overrides: Partial<PipelineConfigInput> = {}): PipelineConfig {
  return PipelineConfigSchema.parse({
    environment: 'test',
    tenantId: 'tenant-1',
    apiBaseUrl: 'https://api.ibinder.test/api',
    tokenUrl: 'https://signin.ibinder.test/connect/token',
    credentialsSecretName: 'ibinder/test',
    untaggedGraceSeconds: 300,
    recordConcurrency: 4,
    minRemainingTimeMs: 10_000,
    ...overrides,
  });
}

export interface S3RecordSpec {
  bucket?: string;
  /** The key as it appears in the notification (URL-encoded, `+` for spaces). */
  rawKey: string;
  size?: number;
  versionId?: string;
  eventName?: string;
}

export function s3NotificationBody(records: S3RecordSpec[]): string {
  return JSON.stringify({
    Records: records.map((r) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'eu-north-1',
      eventTime: '2025-01-15T08:30:00.000Z',
      eventName: r.eventName ?? 'ObjectCreated:Put',
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'inbox',
        bucket: { name: r.bucket ?? BUCKET, arn: `arn:aws:s3:::${r.bucket ?? BUCKET}` },
        object: { key: r.rawKey, size: r.size ?? 10, eTag: 'etag', versionId: r.versionId, sequencer: '00' },
      },
    })),
  });
}

export function testEventBody(bucket = BUCKET): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: '2025-01-15T08:30:00.000Z',
    Bucket: bucket,
    RequestId: 'r',
    HostId: 'h',
  });
}

export function sqsMessage(body: string, messageId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 's3',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-north-1:123456789012:ingest',
    awsRegion: 'eu-north-1',
  };
}

export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** A Lambda context whose remaining time is read from a function (tests move it). */
export function lambdaClock(remaining: () => number = () => 900_000): { getRemainingTimeInMillis(): number } {
  return { getRemainingTimeInMillis: remaining };
}

export class RecordingMetrics implements IngestMetrics {
  readonly ingested: { bytes: number; uploadDurationMs: number }[] = [];
  readonly rejected: ProblemCode[] = [];
  retried = 0;
  superseded = 0;
  fileSuperseded(): void {
    this.superseded += 1;
  }
  fileIngested(bytes: number, uploadDurationMs: number): void {
    this.ingested.push({ bytes, uploadDurationMs });
  }
  fileRejected(reason: ProblemCode): void {
    this.rejected.push(reason);
  }
  recordRetried(): void {
    this.retried += 1;
  }
  readonly throttled: string[] = [];
  recordThrottled(connector: string): void {
    this.throttled.push(connector);
  }
}

export function silentLogger(): Logger {
  return new Logger({ serviceName: 'ingest-test', logLevel: 'SILENT' });
}

/**
 * The ledger's semantics in memory (conditions as IngestLedger writes them), for tests of the
 * flow; IngestLedger itself is tested against mocked DynamoDB calls.
 */
export class InMemoryIngestLedger implements IngestLedgerStore {
  readonly entries = new Map<string, LedgerEntry>();
  /** Every state change, in order: `claimed`, `upload`, `transferred`, `committed`, `rejected`. */
  readonly history: { pk: string; change: string; owner: string }[] = [];

  constructor(
    private readonly leaseMs = 900_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(ref: ObjectRef): Promise<LedgerEntry | undefined> {
    const e = this.entries.get(ledgerKey(ref));
    return e ? structuredClone(e) : undefined;
  }

  async claim(ref: ObjectRef, owner: string): Promise<ClaimResult> {
    const pk = ledgerKey(ref);
    const now = this.now();
    const current = this.entries.get(pk);
    if (current?.state === 'committed') return { outcome: 'committed', entry: structuredClone(current) };
    if (current?.state === 'rejected') return { outcome: 'rejected', entry: structuredClone(current) };
    if (current?.state === 'superseded') return { outcome: 'superseded', entry: structuredClone(current) };
    if (current?.state === 'claimed' && current.leaseExpiresAt >= now && current.owner !== owner) {
      return { outcome: 'busy', entry: structuredClone(current) };
    }
    const token = randomUUID();
    const entry: LedgerEntry = {
      ...this.base(ref, now),
      state: 'claimed',
      owner,
      claimToken: token,
      leaseExpiresAt: now + this.leaseMs,
      attempts: (current?.state === 'claimed' ? current.attempts : 0) + 1,
      claimedAt: current?.state === 'claimed' ? current.claimedAt : new Date(now).toISOString(),
      uploadId: current?.state === 'claimed' ? current.uploadId : undefined,
      transferred: current?.state === 'claimed' ? current.transferred : false,
      commitPlan: current?.state === 'claimed' ? current.commitPlan : undefined,
      connector: current?.state === 'claimed' ? current.connector : undefined,
      commitStarted: current?.state === 'claimed' ? current.commitStarted : undefined,
    };
    this.entries.set(pk, entry);
    this.history.push({ pk, change: 'claimed', owner });
    return { outcome: 'claimed', entry: structuredClone(entry), lease: { owner, token } };
  }

  async markTransferred(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload): Promise<void> {
    const e = this.ownClaim(ref, lease);
    e.uploadId = upload.uploadId;
    e.transferred = true;
    e.commitPlan = structuredClone(upload.plan);
    e.connector = upload.plan.connector;
    e.commitStarted = undefined;
    this.history.push({ pk: ledgerKey(ref), change: 'transferred', owner: lease.owner });
  }

  /** As one transaction: the claim is checked first and nothing is written without it. */
  async recordTransfer(ref: ObjectRef, lease: ClaimLease, upload: TransferredUpload, order: KeyOrderRequest): Promise<TransferRecorded> {
    this.ownClaim(ref, lease);
    await this.markTransferred(ref, lease, upload);
    return { keyOrder: await this.acquireKeyCommitInOrder(ref.bucket, ref.key, order.owner, order.sequencer) };
  }

  async claimTransferred(
    ref: ObjectRef,
    owner: string,
    upload: TransferredUpload,
    order?: KeyOrderRequest,
  ): Promise<TransferredClaimResult> {
    const pk = ledgerKey(ref);
    const current = this.entries.get(pk);
    if (current !== undefined) return { outcome: 'known', entry: structuredClone(current) };
    const now = this.now();
    const token = randomUUID();
    const entry: LedgerEntry = {
      ...this.base(ref, now),
      state: 'claimed',
      owner,
      claimToken: token,
      leaseExpiresAt: now + this.leaseMs,
      attempts: 1,
      claimedAt: new Date(now).toISOString(),
      uploadId: upload.uploadId,
      transferred: true,
      commitPlan: structuredClone(upload.plan),
      connector: upload.plan.connector,
      commitStarted: undefined,
    };
    this.entries.set(pk, entry);
    this.history.push({ pk, change: 'claimed transferred', owner });
    const keyOrder =
      order === undefined ? undefined : await this.acquireKeyCommitInOrder(ref.bucket, ref.key, order.owner, order.sequencer);
    return { outcome: 'claimed', entry: structuredClone(entry), lease: { owner, token }, ...(keyOrder !== undefined ? { keyOrder } : {}) };
  }

  async markCommitStarted(ref: ObjectRef, lease: ClaimLease, uploadId: string, context?: Record<string, string>): Promise<void> {
    const e = this.ownClaim(ref, lease);
    if (e.uploadId !== uploadId || !e.transferred) throw new LedgerConflictError('upload id differs or not transferred', ref, e);
    e.commitStarted = { uploadId, at: new Date(this.now()).toISOString(), context };
    this.history.push({ pk: ledgerKey(ref), change: 'commit started', owner: lease.owner });
  }

  async markCommitted(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord): Promise<void> {
    const pk = ledgerKey(ref);
    const current = this.entries.get(pk);
    if (current?.state === 'committed') {
      if (sameCommittedVersion(committedVersionOf(current), commit.version)) return;
      throw new LedgerConflictError('already committed as another version', ref, structuredClone(current));
    }
    this.ownClaim(ref, lease);
    const now = this.now();
    this.entries.set(pk, {
      ...this.base(ref, now),
      state: 'committed',
      committedAt: new Date(now).toISOString(),
      connector: commit.version.connector,
      versionIds: { ...commit.version.ids },
      versionLabel: commit.version.versionLabel,
      target: commit.target,
      uploadId: commit.uploadId,
    });
    this.history.push({ pk, change: 'committed', owner: lease.owner });
  }

  async markCommittedReleasingKeyCommit(ref: ObjectRef, lease: ClaimLease, commit: CommitRecord, keyLease: KeyCommitLease): Promise<void> {
    const [committed] = await Promise.allSettled([this.markCommitted(ref, lease, commit), this.releaseKeyCommit(keyLease)]);
    if (committed.status === 'rejected') throw committed.reason;
  }

  async markRejected(ref: ObjectRef, lease: ClaimLease, reasons: Problem[], rejectedKey?: string): Promise<void> {
    const pk = ledgerKey(ref);
    const current = this.entries.get(pk);
    const now = this.now();
    if (current?.state === 'committed') throw new LedgerConflictError('already committed', ref, current);
    if (current?.state !== 'rejected') this.ownClaim(ref, lease);
    this.entries.set(pk, { ...this.base(ref, now), state: 'rejected', rejectedAt: new Date(now).toISOString(), reasons, rejectedKey });
    this.history.push({ pk, change: 'rejected', owner: lease.owner });
  }

  async markSuperseded(ref: ObjectRef, lease: ClaimLease, order: { sequencer: string; newerSequencer: string }): Promise<void> {
    const pk = ledgerKey(ref);
    const current = this.entries.get(pk);
    if (current?.state === 'superseded') return;
    this.ownClaim(ref, lease);
    const now = this.now();
    this.entries.set(pk, { ...this.base(ref, now), state: 'superseded', supersededAt: new Date(now).toISOString(), ...order });
    this.history.push({ pk, change: 'superseded', owner: lease.owner });
  }

  /** Per key (keyOrderKey): the newest committed sequencer and the commit lease, as IngestLedger keeps them. */
  readonly keyOrder = new Map<
    string,
    { committedSequencer?: string | undefined; lease?: { owner: string; token: string; expiresAt: number } | undefined }
  >();

  async committedSequencer(bucket: string, key: string): Promise<string | undefined> {
    return this.keyOrder.get(keyOrderKey(bucket, key))?.committedSequencer;
  }

  async acquireKeyCommit(bucket: string, key: string, owner: string): Promise<KeyCommitLeaseResult> {
    const pk = keyOrderKey(bucket, key);
    const now = this.now();
    const item = this.keyOrder.get(pk) ?? {};
    if (item.lease && item.lease.expiresAt >= now && item.lease.owner !== owner) {
      return { outcome: 'busy', owner: item.lease.owner, leaseExpiresAt: item.lease.expiresAt };
    }
    const token = randomUUID();
    this.keyOrder.set(pk, { ...item, lease: { owner, token, expiresAt: now + this.leaseMs } });
    this.history.push({ pk, change: 'key lease', owner });
    return { outcome: 'acquired', lease: { bucket, key, owner, token }, committedSequencer: item.committedSequencer };
  }

  async acquireKeyCommitInOrder(bucket: string, key: string, owner: string, sequencer: string): Promise<KeyCommitInOrderResult> {
    const pk = keyOrderKey(bucket, key);
    const now = this.now();
    const item = this.keyOrder.get(pk) ?? {};
    if (item.lease && item.lease.expiresAt >= now && item.lease.owner !== owner) {
      return { outcome: 'busy', owner: item.lease.owner, leaseExpiresAt: item.lease.expiresAt };
    }
    const previous = item.committedSequencer;
    if (previous !== undefined && compareSequencers(previous, sequencer) > 0) return { outcome: 'superseded', newerSequencer: previous };
    const token = randomUUID();
    this.keyOrder.set(pk, { committedSequencer: sequencer, lease: { owner, token, expiresAt: now + this.leaseMs } });
    this.history.push({ pk, change: 'key lease', owner });
    this.history.push({ pk, change: `sequencer ${sequencer}`, owner });
    return { outcome: 'acquired', lease: { bucket, key, owner, token }, previousSequencer: previous };
  }

  async raiseCommittedSequencer(lease: KeyCommitLease, sequencer: string): Promise<void> {
    const pk = keyOrderKey(lease.bucket, lease.key);
    const item = this.keyOrder.get(pk);
    if (item?.lease?.token !== lease.token)
      throw new LedgerConflictError('key commit lease lost', { bucket: lease.bucket, key: lease.key });
    item.committedSequencer = sequencer;
    this.history.push({ pk, change: `sequencer ${sequencer}`, owner: lease.owner });
  }

  async restoreCommittedSequencer(lease: KeyCommitLease, sequencer: string, previous: string | undefined): Promise<void> {
    const item = this.keyOrder.get(keyOrderKey(lease.bucket, lease.key));
    if (item?.lease?.token !== lease.token || item.committedSequencer !== sequencer) return;
    item.committedSequencer = previous;
  }

  async releaseKeyCommit(lease: KeyCommitLease): Promise<void> {
    const item = this.keyOrder.get(keyOrderKey(lease.bucket, lease.key));
    if (item?.lease?.token === lease.token) item.lease = undefined;
  }

  /** Test hook: put an entry in place (e.g. a claim left behind by a crashed consumer). */
  seed(ref: ObjectRef, entry: Partial<LedgerEntry> & Pick<LedgerEntry, 'state'>): void {
    const now = this.now();
    this.entries.set(ledgerKey(ref), { ...this.base(ref, now), ...entry } as LedgerEntry);
  }

  changes(ref: ObjectRef): string[] {
    const pk = ledgerKey(ref);
    return this.history.filter((h) => h.pk === pk).map((h) => h.change);
  }

  /** As IngestLedger's conditions: the lease's owner and its token. */
  private ownClaim(ref: ObjectRef, lease: ClaimLease): Extract<LedgerEntry, { state: 'claimed' }> {
    const e = this.entries.get(ledgerKey(ref));
    const ours = e?.state === 'claimed' && e.owner === lease.owner && e.claimToken === lease.token;
    if (!ours) throw new LedgerConflictError('not our claim', ref, e ? structuredClone(e) : undefined);
    return e;
  }

  private base(ref: ObjectRef, now: number) {
    return {
      pk: ledgerKey(ref),
      bucket: ref.bucket,
      objectKey: ref.key,
      objectVersionId: objectVersionIdOf(ref),
      updatedAt: new Date(now).toISOString(),
      expiresAt: Math.floor(now / 1000) + 90 * 86_400,
    };
  }
}

export type S3Mock = AwsStub<ServiceInputTypes, ServiceOutputTypes, S3Client['config']>;

export interface InboxObjectSpec {
  bucket?: string;
  key: string;
  versionId?: string;
  content?: Buffer | string;
  tags?: S3Tag[];
  lastModified?: Date;
  contentType?: string;
}

/**
 * Serves one object version from the mocked S3 client (Head, tags, body) and accepts the
 * writes of the flow (copy, put, delete, tagging). The body is a fresh stream per GetObject.
 */
export function serveInboxObject(s3: S3Mock, spec: InboxObjectSpec): void {
  const bucket = spec.bucket ?? BUCKET;
  const content = Buffer.isBuffer(spec.content) ? spec.content : Buffer.from(spec.content ?? 'hello, iBinder');
  const match = { Bucket: bucket, Key: spec.key, ...(spec.versionId !== undefined ? { VersionId: spec.versionId } : {}) };
  s3.on(HeadObjectCommand, match).resolves({
    ContentLength: content.length,
    LastModified: spec.lastModified ?? new Date('2025-01-15T08:00:00Z'),
    ContentType: spec.contentType ?? 'application/pdf',
    VersionId: spec.versionId,
    Metadata: {},
  });
  s3.on(GetObjectTaggingCommand, match).resolves({ TagSet: spec.tags ?? [] });
  s3.on(GetObjectCommand, match).callsFake((input: { Range?: string }) => {
    // A range (`bytes=start-end`, inclusive) answers its part, as S3 does.
    const range = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '');
    const bytes = range ? content.subarray(Number(range[1]), Number(range[2]) + 1) : content;
    return {
      // Several chunks, so that a test can tell a stream from a single buffer.
      Body: Readable.from(chunksOf(bytes, 4)) as never,
      ContentLength: bytes.length,
      LastModified: spec.lastModified ?? new Date('2025-01-15T08:00:00Z'),
      ContentType: spec.contentType ?? 'application/pdf',
      VersionId: spec.versionId,
      Metadata: {},
    };
  });
  s3.on(CopyObjectCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  s3.on(DeleteObjectCommand).resolves({});
  s3.on(PutObjectTaggingCommand).resolves({});
}

/** S3's 404 for HeadObject of a version that is gone. */
export function notFound(): S3ServiceException {
  return new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'Not Found' });
}

export function s3Throttled(): S3ServiceException {
  return new S3ServiceException({
    name: 'SlowDown',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
    message: 'Please reduce your request rate.',
  });
}

function chunksOf(content: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < content.length; i += size) out.push(content.subarray(i, i + size));
  return out;
}

export interface TestDeps extends IngestDependencies {
  ledger: InMemoryIngestLedger;
  metrics: RecordingMetrics;
  /** The iBinder-shaped destination behind the iBinder connector (see withDestination). */
  ibinderDestination: Destination;
  /**
   * The same destination; setting it rebuilds the iBinder connector over the new one (caches
   * kept), so that a test wraps the real destination to crash or refuse. Not copied by a spread.
   */
  destination: Destination;
}

/** Dependencies over a mocked S3 client, a fake iBinder and an in-memory ledger; `clock` moves time. */
export function makeDeps(options: {
  client: FakeIBinderClient;
  config?: PipelineConfig;
  now?: () => Date;
  ledger?: InMemoryIngestLedger;
}): TestDeps {
  const now = options.now ?? (() => new Date('2025-01-15T09:00:00Z'));
  const config = options.config ?? makeConfig();
  const deps = {
    config,
    inboxBucket: BUCKET,
    s3: new S3Client({ region: 'eu-north-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }),
    ledger: options.ledger ?? new InMemoryIngestLedger(900_000, () => now().getTime()),
    connectors: [createIBinderConnector({ config, client: options.client, now: () => now().getTime() })],
    metrics: new RecordingMetrics(),
    logger: silentLogger(),
    now,
  } as unknown as TestDeps;
  const initial = new IBinderDestination(options.client);
  Object.defineProperty(deps, 'ibinderDestination', {
    get: () => initial,
    set: (destination: Destination) => {
      deps.destination = destination;
    },
    enumerable: false,
    configurable: true,
  });
  let current: Destination = initial;
  Object.defineProperty(deps, 'destination', {
    get: () => current,
    set: (destination: Destination) => {
      current = destination;
      deps.connectors = withDestination(deps, destination).connectors;
    },
    enumerable: false,
    configurable: true,
  });
  deps.destination = initial;
  return deps;
}

/** The iBinder connector of test dependencies (the first one). */
export function ibinderConnectorOf(deps: IngestDependencies): IBinderConnector {
  const connector = deps.connectors.find((c) => c.name === 'ibinder');
  if (connector === undefined) throw new Error('the test dependencies have no iBinder connector');
  return connector as IBinderConnector;
}

/**
 * The same dependencies with the iBinder connector's destination replaced by `wrap(real)`: for
 * crashes and refusals the fake cannot make, at the neutral interface the flow calls.
 */
export function withIBinderDestination<D extends IngestDependencies>(
  deps: D,
  wrap: (real: ConnectorDestination) => ConnectorDestination,
): D {
  const connectors = deps.connectors.map((c): IngestConnector => (c.name === 'ibinder' ? { ...c, destination: wrap(c.destination) } : c));
  return { ...deps, connectors };
}

/**
 * The same dependencies with the iBinder connector built over another iBinder-shaped destination
 * (a wrapper of `deps.ibinderDestination` that crashes or refuses), keeping its caches.
 */
export function withDestination<D extends IngestDependencies>(deps: D, destination: Destination): D {
  const current = ibinderConnectorOf(deps);
  const connector = createIBinderConnector({
    config: deps.config,
    client: current.client,
    folders: current.folders,
    schemas: current.schemas,
    destination,
  });
  return { ...deps, connectors: deps.connectors.map((c) => (c.name === 'ibinder' ? connector : c)) };
}
