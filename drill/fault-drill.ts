/**
 * The fault drill: many small files through the real ingest (`processBatch`) on the local
 * stack while the iBinder emulator faults a share of the API and storage requests (429 with
 * `Retry-After`, 500, 503, dropped connections, dropped responses), a share of the S3 events is
 * delivered twice, and records crash between PUT and commit and between commit and ledger
 * (crash-points.ts). Then it counts, from the emulator's own state, what became of every file:
 * versions created, duplicates, files lost, files dead-lettered, and what it cost in calls.
 *
 * The claim the pipeline makes is "once, even when things fail": the drill is that claim
 * under load, with the failures chosen by a seed so that a failing run can be repeated.
 */
import { createHash } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { processBatch } from '../functions/ingest/batch.js';
import { DEFAULT_SEED_IDS } from '../emulator/seed.js';
import { seededRandom } from '../emulator/seeded-random.js';
import type { InjectedFaults } from '../emulator/fault-controller.js';
import { forwardInboxNotifications } from '../local/inbox-notifications.js';
import { createLambdaContext } from '../local/lambda-context.js';
import { createLocalIngestDependencies, type LocalIngestOptions } from '../local/local-ingest-dependencies.js';
import { localPipelineConfig } from '../local/local-pipeline-config.js';
import { startLocalServices, type LocalServices } from '../local/services.js';
import { SimulatedClock } from '../local/simulated-clock.js';
import { SqsSimulator } from '../local/sqs-simulator.js';
import type { IngestMetrics } from '../shared/observability/metrics.js';
import { CrashPoints, type CrashCounts } from './crash-points.js';
import { countDrillOutcome, type DrillFile, type DrillOutcome } from './drill-outcome.js';
import { runEventSource, type EventSourceReport } from './event-source.js';

export interface FaultDrillOptions {
  /** Files to ingest, each with its own key. */
  files: number;
  /** Share of iBinder API and storage requests faulted, from 0 to 1. */
  faultRate: number;
  /** Seed of every random choice: faults, crashes, duplicates, file sizes. */
  seed: number | string;
  /** Probability of a crash each time a record reaches a crash point. Default 0.05. */
  crashRate?: number;
  /** Share of S3 events delivered a second time. Default 0.1. */
  duplicateRate?: number;
  /** Ingest invocations at once. Default 2. */
  concurrency?: number;
  /** Records per invocation. Default 10. */
  batchSize?: number;
  /** The queue's redrive policy. Default 5 (the prod environment's). */
  maxReceiveCount?: number;
  /** The queue's visibility timeout (simulated time). Default 120 s. */
  visibilityTimeoutSeconds?: number;
  /** `Retry-After` of the injected 429s. Default 1 s, so that the drill finishes. */
  retryAfterSeconds?: number;
  /** Smallest and largest file (bytes). Default 1,024 and 4,096. */
  fileBytes?: { min: number; max: number };
  /** Tuning of the iBinder client; default the production client's. */
  ibinder?: LocalIngestOptions['ibinder'];
  /** Progress lines while the drill runs. */
  onProgress?: (line: string) => void;
  /** The ingest function's logger. Default: silent (a thousand files would print thousands of lines). */
  logger?: Logger;
}

export interface FaultDrillResult extends DrillOutcome {
  settings: Required<Omit<FaultDrillOptions, 'ibinder' | 'onProgress' | 'fileBytes' | 'logger'>> & {
    fileBytes: { min: number; max: number };
  };
  files: number;
  calls: { api: number; storage: number; token: number };
  faults: InjectedFaults;
  /** Faults injected / (API + storage calls). */
  faultedShare: number;
  crashes: CrashCounts;
  duplicateEventsSent: number;
  eventSource: EventSourceReport;
  elapsedMs: number;
}

const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;

export async function runFaultDrill(options: FaultDrillOptions): Promise<FaultDrillResult> {
  const settings: FaultDrillResult['settings'] = {
    files: options.files,
    faultRate: options.faultRate,
    seed: options.seed,
    crashRate: options.crashRate ?? 0.05,
    duplicateRate: options.duplicateRate ?? 0.1,
    concurrency: options.concurrency ?? 2,
    batchSize: options.batchSize ?? 10,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 120,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    fileBytes: options.fileBytes ?? { min: 1024, max: 4096 },
  };
  validate(settings);
  const progress = options.onProgress ?? (() => undefined);
  const startedAt = performance.now();
  const services = await startLocalServices();
  try {
    const clock = new SimulatedClock();
    const queue = new SqsSimulator({
      clock,
      queueName: 'ibinder-ingest-drill',
      visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
      maxReceiveCount: settings.maxReceiveCount,
      region: services.region,
    });
    const notifications = forwardInboxNotifications(services.s3, queue, { bucket: services.inboxBucket, region: services.region });
    const folder = services.emulator.state.addFolder({ binderId: HARBOUR.binderId, name: `Fault drill ${settings.seed}` });
    const config = localPipelineConfig(services, { disposition: 'delete' });
    const deps = createLocalIngestDependencies(services, {
      config,
      now: () => new Date(clock.now()),
      logger: options.logger ?? new Logger({ serviceName: 'ingest-drill', logLevel: 'SILENT' }),
      metrics: silentMetrics(),
      ...(options.ibinder ? { ibinder: options.ibinder } : {}),
    });
    const crashes = new CrashPoints({ rate: settings.crashRate, seed: `${settings.seed}|crash` });
    const drillDeps = crashes.wrap(deps);

    progress(`Dropping ${settings.files} files into s3://${services.inboxBucket}/inbox/drill/ ...`);
    const { files, duplicateMessages } = await dropFiles(services, queue, notifications, folder.id, settings);

    services.emulator.calls.reset();
    services.emulator.faults.resetInjected();
    services.emulator.faults.setMix({
      rate: settings.faultRate,
      seed: `${settings.seed}|faults`,
      retryAfterSeconds: settings.retryAfterSeconds,
    });
    progress(`Ingesting with ${Math.round(settings.faultRate * 100)} % of iBinder API and storage requests faulted ...`);
    let invocationsSeen = 0;
    const eventSource = await runEventSource(
      queue,
      async (event, context) => {
        const response = await processBatch(event, context, drillDeps);
        invocationsSeen += 1;
        if (invocationsSeen % 50 === 0)
          progress(`  ${invocationsSeen} invocations, queue ${JSON.stringify(queue.depth())}, dead letters ${queue.deadLetters.length}`);
        return response;
      },
      {
        concurrency: settings.concurrency,
        batchSize: settings.batchSize,
        // Every message received maxReceiveCount times in batches of one, and then some.
        maxInvocations: (settings.files + duplicateMessages.size) * (settings.maxReceiveCount + 1),
        createContext: () => createLambdaContext({ functionName: 'ingest-drill', timeoutMs: 600_000 }),
      },
    );
    services.emulator.faults.clearMix();

    const calls = {
      api: services.emulator.calls.total('api'),
      storage: services.emulator.calls.total('storage'),
      token: services.emulator.calls.total('token'),
    };
    const faults = services.emulator.faults.injected();
    const keyOfMessage = new Map<string, string>(notifications.sent.map((n) => [n.messageId, n.key]));
    for (const [messageId, key] of duplicateMessages) keyOfMessage.set(messageId, key);
    const outcome = await countDrillOutcome({
      state: services.emulator.state,
      ledger: deps.ledger,
      bucket: services.inboxBucket,
      folderId: folder.id,
      files,
      deadLetters: queue.deadLetters,
      keyOfMessage,
    });
    notifications.stop();
    return {
      settings,
      files: files.length,
      ...outcome,
      calls,
      faults,
      faultedShare: calls.api + calls.storage === 0 ? 0 : faults.total / (calls.api + calls.storage),
      crashes: crashes.counts(),
      duplicateEventsSent: duplicateMessages.size,
      eventSource,
      elapsedMs: performance.now() - startedAt,
    };
  } finally {
    await services.stop();
  }
}

async function dropFiles(
  services: LocalServices,
  queue: SqsSimulator,
  notifications: ReturnType<typeof forwardInboxNotifications>,
  folderId: string,
  settings: FaultDrillResult['settings'],
): Promise<{ files: DrillFile[] /** Second deliveries: message id -> the key it names. */; duplicateMessages: Map<string, string> }> {
  const random = seededRandom(`${settings.seed}|files`);
  const width = String(settings.files).length;
  const plans = Array.from({ length: settings.files }, (_, i) => ({
    key: `inbox/drill/file-${String(i + 1).padStart(width, '0')}.pdf`,
    size: settings.fileBytes.min + Math.floor(random() * (settings.fileBytes.max - settings.fileBytes.min + 1)),
    contentSeed: Math.floor(random() * 2 ** 32),
    duplicate: random() < settings.duplicateRate,
    // Half the duplicates arrive at once (two invocations may hold them together), half later.
    duplicateDelaySeconds: random() < 0.5 ? 0 : 1 + Math.floor(random() * 600),
  }));
  const tags = new URLSearchParams({
    'ibinder:binder': HARBOUR.binderId,
    'ibinder:folder': folderId,
    'ibinder:meta:discipline': 'ARC',
  }).toString();
  const limit = pLimit(8);
  const duplicateMessages = new Map<string, string>();
  const files = await Promise.all(
    plans.map((plan) =>
      limit(async (): Promise<DrillFile> => {
        const body = fileBytes(plan.size, plan.contentSeed);
        const out = await services.s3.client.send(
          new PutObjectCommand({ Bucket: services.inboxBucket, Key: plan.key, Body: body, Tagging: tags }),
        );
        if (plan.duplicate) {
          const original = notifications.lastFor(plan.key);
          if (!original)
            throw new Error(`no S3 event notification was sent for ${plan.key}; the local S3 server did not report the PutObject`);
          duplicateMessages.set(queue.send(original.body, { delaySeconds: plan.duplicateDelaySeconds }).messageId, plan.key);
        }
        return { key: plan.key, versionId: out.VersionId, sha256: createHash('sha256').update(body).digest('hex') };
      }),
    ),
  );
  return { files, duplicateMessages };
}

/** Deterministic bytes that start like a PDF, so the content type and name look like a real drop. */
function fileBytes(size: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1) out[i] = Math.floor(random() * 256);
  Buffer.from('%PDF-1.7\n').copy(out, 0);
  return out;
}

function silentMetrics(): IngestMetrics {
  return { fileIngested: () => undefined, fileRejected: () => undefined, recordRetried: () => undefined };
}

function validate(settings: FaultDrillResult['settings']): void {
  const problems: string[] = [];
  if (!Number.isInteger(settings.files) || settings.files < 1)
    problems.push(`files must be a whole number of at least 1, got ${settings.files}`);
  for (const [name, value] of [
    ['fault rate', settings.faultRate],
    ['crash rate', settings.crashRate],
    ['duplicate rate', settings.duplicateRate],
  ] as const) {
    if (!(value >= 0 && value <= 1)) problems.push(`${name} must be a share from 0 to 1, got ${value}`);
  }
  if (!Number.isInteger(settings.concurrency) || settings.concurrency < 1)
    problems.push(`concurrency must be a whole number of at least 1, got ${settings.concurrency}`);
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 1 || settings.batchSize > 10)
    problems.push(`batch size must be from 1 to 10, got ${settings.batchSize}`);
  if (!Number.isInteger(settings.maxReceiveCount) || settings.maxReceiveCount < 1)
    problems.push(`max receive count must be a whole number of at least 1, got ${settings.maxReceiveCount}`);
  if (!(settings.fileBytes.min >= 1 && settings.fileBytes.max >= settings.fileBytes.min)) {
    problems.push(`file sizes must satisfy 1 <= min <= max, got ${settings.fileBytes.min}..${settings.fileBytes.max}`);
  }
  if (problems.length > 0) throw new RangeError(`The fault drill cannot run: ${problems.join('; ')}`);
}
