/**
 * The local stack as a long-running service (`npm run local`): the iBinder emulator, the Bynder
 * emulator (files tagged `bynder:` go to its portal, as in an environment with a `bynder` block), the local
 * S3 (inbox and archive buckets), the local DynamoDB (both ledgers) and the SQS simulator served
 * over HTTP, with the pipeline wired as the CDK stack wires it in AWS:
 *
 *   inbox/ ObjectCreated -> ingest queue -> ingest (the real processBatch) -> ingest DLQ
 *   export queue -> export worker (the real processExportJobs) -> export DLQ
 *
 * all in real time (a visibility timeout lasts as long as it says). Anything that speaks S3,
 * DynamoDB or SQS — the AWS CLI, the SDK, the operator CLI — reaches it through the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables; `shellExports()` prints them with the iBinder
 * variables, and `cliAlias()` a shell alias that hands the operator CLI the resource names.
 */
import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { processBatch } from '../functions/ingest/batch.js';
import { processExportJobs } from '../functions/export-worker/process-jobs.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { DEMO_ROUTING_RULES } from './demo-samples.js';
import { emulatorShellExports } from './emulator-exports.js';
import { forwardInboxNotifications, type InboxNotifications } from './inbox-notifications.js';
import { startLiveEventSource, type LiveEventSource, type LiveInvocation } from './live-event-source.js';
import { createLocalExportDependencies } from './local-export-dependencies.js';
import { createLocalIngestDependencies } from './local-ingest-dependencies.js';
import { DEFAULT_LIVE_PORTS, type LivePorts, withBynderPort } from './live-ports.js';
import { localBynderConfig } from './local-bynder-config.js';
import { localPipelineConfig } from './local-pipeline-config.js';
import { LOCAL_S3_CREDENTIALS } from './local-s3.js';
import { startLocalServices, type LocalServices } from './services.js';
import { shellExportLines, shellQuote } from './shell-export.js';
import { SqsSimulator } from './sqs-simulator.js';
import { startSqsHttpEndpoint, type SqsHttpEndpoint } from './sqs-http-endpoint.js';
import { WallClock } from './wall-clock.js';

export const LIVE_QUEUE_NAMES = {
  ingest: 'ibinder-ingest-local',
  ingestDlq: 'ibinder-ingest-dlq-local',
  export: 'ibinder-export-local',
  exportDlq: 'ibinder-export-dlq-local',
} as const;

/**
 * Real-time queue settings: a failing file reaches the dead-letter queue within minutes, so
 * that a person can try `redrive`; the claim lease stays shorter than the visibility timeout
 * (as the stack keeps it), so a redriven message finds the claim expired.
 */
const VISIBILITY_TIMEOUT_SECONDS = 60;
const MAX_RECEIVE_COUNT = 3;
const CLAIM_LEASE_SECONDS = 50;
/** Longer than one visibility timeout: a file tagged a moment after its upload gets a retry first. */
const UNTAGGED_GRACE_SECONDS = 90;

export interface LiveStackOptions {
  /** Ports on 127.0.0.1; 0 picks a free one. Default DEFAULT_LIVE_PORTS. */
  ports?: Partial<LivePorts>;
  /** One line per ingest or export invocation and per dead-lettered message. */
  log?: (line: string) => void;
}

export interface LiveStack {
  services: LocalServices;
  sqs: SqsHttpEndpoint;
  config: PipelineConfig;
  queues: Record<keyof typeof LIVE_QUEUE_NAMES, SqsSimulator>;
  queueUrls: Record<keyof typeof LIVE_QUEUE_NAMES, string>;
  notifications: InboxNotifications;
  /** `export NAME=value` lines that point AWS tools and the operator CLI here. */
  shellExports(): string[];
  /** The operator CLI's resource flags for this stack (bucket, tables, queue URLs). */
  cliResourceFlags(): string[];
  /** `alias ibinder-pipeline-local='npx ibinder-pipeline <resource flags>'`. */
  cliAlias(): string;
  /** Stops the event sources, then every server; safe to call twice. */
  stop(): Promise<void>;
}

export async function startLiveStack(options: LiveStackOptions = {}): Promise<LiveStack> {
  const ports: LivePorts = withBynderPort({ ...DEFAULT_LIVE_PORTS, ...options.ports }, options.ports?.bynder);
  const log = options.log ?? (() => undefined);
  const services = await startLocalServices({
    emulator: { port: ports.emulator },
    bynder: { port: ports.bynder },
    ports: { s3: ports.s3, dynamodb: ports.dynamodb },
  });

  const clock = new WallClock();
  const queue = (queueName: string, maxReceiveCount: number): SqsSimulator =>
    new SqsSimulator({ clock, queueName, region: services.region, visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS, maxReceiveCount });
  const queues = {
    ingest: queue(LIVE_QUEUE_NAMES.ingest, MAX_RECEIVE_COUNT),
    // A dead-letter queue keeps what it holds until someone moves or deletes it.
    ingestDlq: queue(LIVE_QUEUE_NAMES.ingestDlq, 1000),
    export: queue(LIVE_QUEUE_NAMES.export, MAX_RECEIVE_COUNT),
    exportDlq: queue(LIVE_QUEUE_NAMES.exportDlq, 1000),
  };

  let sqs: SqsHttpEndpoint;
  try {
    sqs = await startSqsHttpEndpoint({ queues: Object.values(queues), port: ports.sqs });
  } catch (err) {
    await services.stop();
    throw err;
  }
  const queueUrls = {
    ingest: sqs.queueUrl(LIVE_QUEUE_NAMES.ingest),
    ingestDlq: sqs.queueUrl(LIVE_QUEUE_NAMES.ingestDlq),
    export: sqs.queueUrl(LIVE_QUEUE_NAMES.export),
    exportDlq: sqs.queueUrl(LIVE_QUEUE_NAMES.exportDlq),
  };

  const config = localPipelineConfig(services, {
    routingRules: DEMO_ROUTING_RULES,
    untaggedGraceSeconds: UNTAGGED_GRACE_SECONDS,
    claimLeaseSeconds: CLAIM_LEASE_SECONDS,
    bynder: localBynderConfig(services),
  });
  const ingestDeps = createLocalIngestDependencies(services, { config });
  const exportDeps = createLocalExportDependencies(services, { config });
  const notifications = forwardInboxNotifications(services.s3, queues.ingest, { bucket: services.inboxBucket, region: services.region });

  const report = (invocation: LiveInvocation): void => {
    const failed = invocation.failedMessageIds.length;
    log(
      `${invocation.functionName}: ${invocation.messageIds.length} message(s), ` +
        (failed === 0
          ? 'all acknowledged'
          : `${failed} back to the queue for a retry${invocation.batchError ? ` (${invocation.batchError})` : ''}`),
    );
  };
  const sources: LiveEventSource[] = [
    startLiveEventSource({
      queue: queues.ingest,
      deadLetterQueue: queues.ingestDlq,
      functionName: 'ingest-local',
      handler: (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processBatch(event, context, ingestDeps),
      onInvocation: report,
      onDeadLetter: (id, receives) =>
        log(
          `ingest: message ${id} moved to ${LIVE_QUEUE_NAMES.ingestDlq} after ${receives} receives (npx ibinder-pipeline redrive moves it back)`,
        ),
    }),
    startLiveEventSource({
      queue: queues.export,
      deadLetterQueue: queues.exportDlq,
      functionName: 'export-worker-local',
      handler: async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
        const results = await processExportJobs(
          event.Records.map((r) => ({ messageId: r.messageId, body: r.body, receiveCount: Number(r.attributes.ApproximateReceiveCount) })),
          exportDeps,
          { remainingTimeMs: () => context.getRemainingTimeInMillis() },
        );
        return { batchItemFailures: results.filter((r) => r.status === 'retry').map((r) => ({ itemIdentifier: r.messageId })) };
      },
      onInvocation: report,
      onDeadLetter: (id, receives) =>
        log(
          `export: job ${id} moved to ${LIVE_QUEUE_NAMES.exportDlq} after ${receives} receives (npx ibinder-pipeline redrive --export moves it back)`,
        ),
    }),
  ];

  const cliResourceFlags = (): string[] => [
    '--inbox-bucket',
    services.inboxBucket,
    '--archive-bucket',
    services.archiveBucket,
    '--ledger-table',
    services.ledgerTable,
    '--export-ledger-table',
    services.exportLedgerTable,
    '--queue-url',
    queueUrls.ingest,
    '--dlq-url',
    queueUrls.ingestDlq,
    '--export-queue-url',
    queueUrls.export,
    '--export-dlq-url',
    queueUrls.exportDlq,
  ];

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      notifications.stop();
      await Promise.allSettled(sources.map((s) => s.stop()));
      const results = await Promise.allSettled([sqs.stop(), services.stop()]);
      const failures = results.flatMap((r) =>
        r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
      );
      if (failures.length > 0) throw new Error(`the local stack did not stop cleanly: ${failures.join('; ')}`);
    })();
    return stopping;
  };

  return {
    services,
    sqs,
    config,
    queues,
    queueUrls,
    notifications,
    shellExports: () => [
      ...shellExportLines([
        { name: 'AWS_REGION', value: services.region },
        // The AWS CLI v1 reads only this one.
        { name: 'AWS_DEFAULT_REGION', value: services.region },
        { name: 'AWS_ACCESS_KEY_ID', value: LOCAL_S3_CREDENTIALS.accessKeyId },
        // The local S3's fixed key pair: it signs requests to this machine and opens nothing else.
        {
          name: 'AWS_SECRET_ACCESS_KEY',
          value: LOCAL_S3_CREDENTIALS.secretAccessKey,
          note: "the local S3 server's fixed key pair, local only",
        },
        { name: 'AWS_ENDPOINT_URL_S3', value: services.s3.endpoint },
        { name: 'AWS_ENDPOINT_URL_DYNAMODB', value: services.dynamodb.endpoint },
        { name: 'AWS_ENDPOINT_URL_SQS', value: sqs.endpoint },
      ]),
      ...emulatorShellExports(services.emulator),
      ...shellExportLines([
        { name: 'BYNDER_PORTAL_URL', value: services.bynder.url },
        { name: 'BYNDER_CLIENT_ID', value: services.bynder.clientId },
        // The emulator's fixed demo credentials, like iBinder's above.
        { name: 'BYNDER_CLIENT_SECRET', value: services.bynder.clientSecret, note: 'demo credentials of the Bynder emulator only' },
      ]),
    ],
    cliResourceFlags,
    cliAlias: () =>
      `alias ibinder-pipeline-local=${shellQuote(['npx', 'ibinder-pipeline', ...cliResourceFlags().map(shellQuote)].join(' '))}`,
    stop,
  };
}
