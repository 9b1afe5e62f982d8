/**
 * The demo's run, separate from `npm run demo`'s entry (demo.ts) so that a test can run it and
 * hold its summary against the ledger and the emulators: the iBinder emulator, the Bynder
 * emulator, a local S3 server and a local DynamoDB server; sample files dropped into the inbox
 * (most for iBinder, some tagged `bynder:` for the Bynder portal beside it); their S3 event
 * notifications through the real ingest code (`processBatch`) with SQS semantics — visibility
 * timeout, retries, a dead-letter list; what became of each file; an operator fixing each
 * system's rejected file with the CLI; then a nightly export of iBinder in-process and the
 * archive listing.
 *
 * The summary counts what happened, not what was planned: a file accepted after the operator's
 * reingest is counted and labelled as ingested like the others.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processBatch } from '../functions/ingest/batch.js';
import { rejectedKeyFor, reportKeyFor, type RejectionReport } from '../functions/ingest/rejection.js';
import { runExport, type RunExportSummary } from '../functions/export-planner/run-export.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { IngestLedger } from '../shared/ledger/ingest-ledger.js';
import type { Emulator } from '../emulator/types.js';
import type { BynderEmulator } from '../emulator/bynder/types.js';
import { MARKER_TAG_PREFIX } from '../shared/connectors/bynder/index.js';
import { DEMO_ROUTING_RULES, demoSamples, tagSet, taggingHeader, type DemoSample } from './demo-samples.js';
import { renderFileReports, renderTable, type FileReport, type FileResult } from './demo-report.js';
import { localBynderConfig } from './local-bynder-config.js';
import { forwardInboxNotifications, type InboxNotifications } from './inbox-notifications.js';
import { demoBynderExport } from './demo-bynder-export.js';
import { createLocalExportDependencies } from './local-export-dependencies.js';
import { createLocalIngestDependencies } from './local-ingest-dependencies.js';
import { localPipelineConfig } from './local-pipeline-config.js';
import { startLocalServices, type LocalServices } from './services.js';
import { SimulatedClock } from './simulated-clock.js';
import { SqsSimulator, type DrainReport } from './sqs-simulator.js';
import { runLocalCli, type CliStep } from './demo-cli.js';

/** Six times a 20 s function timeout, as the stack sizes it (shortened: the clock is simulated anyway). */
const VISIBILITY_TIMEOUT_SECONDS = 120;
const MAX_RECEIVE_COUNT = 5;
/** Longer than one visibility timeout, so the late-tagged file is retried before it is rejected. */
const UNTAGGED_GRACE_SECONDS = 600;

interface DroppedSample {
  sample: DemoSample;
  versionId: string | undefined;
  sha256: string;
}

/** The export listing's origin labels. */
const INGESTED_JUST_NOW = 'ingested just now';
const SEED = 'seed';

class DemoFailure extends Error {
  override readonly name = 'DemoFailure';
}

/** Where the demo's lines go (the terminal, or a test's buffer). */
export type Say = (line?: string) => void;

export interface DemoOptions {
  say: Say;
  /** Run on these services and leave them running (a test inspects them afterwards). Default: start and stop its own. */
  services?: LocalServices;
}

/** One system's outcomes. */
export interface ConnectorOutcome {
  /** Files that landed: on their first drop, or after the operator's fix. */
  accepted: number;
  acceptedOnFirstDrop: number;
  reingested: number;
  /** Files rejected with a report (including those later reingested). */
  rejected: number;
}

/** What the demo reports at its end, counted from what happened. */
export interface DemoSummary {
  /** Every file ended as expected. */
  ok: boolean;
  problems: string[];
  /** Files that became a document version: accepted on their first drop, plus those reingested after a fix. */
  accepted: number;
  acceptedOnFirstDrop: number;
  /** Rejected files the operator fixed and reingested, and that were then accepted. */
  reingested: number;
  /** Files rejected with a report (including those later reingested). */
  rejected: number;
  /** The same counts per system; Bynder's accepted files split into new assets and new versions. */
  byConnector: { ibinder: ConnectorOutcome; bynder: ConnectorOutcome & { newAssets: number; newVersions: number } };
  /** Archived versions by origin, as the export listing labels them. */
  archived: { ingestedJustNow: number; seed: number };
  versionsExported: number;
  seconds: number;
}

function headingOf(say: Say): (text: string) => void {
  return (text) => {
    say();
    say(text);
    say('='.repeat([...text].length));
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { say } = options;
  const heading = headingOf(say);
  const startedAt = performance.now();
  heading('iBinder ingest pipeline: local demo');
  say('Starting the iBinder emulator, the Bynder emulator, a local S3 server (s3rver) and a local DynamoDB server (dynalite)...');
  const services = options.services ?? (await startLocalServices());
  try {
    say(`  iBinder emulator  ${services.emulator.url}  (tenant ${services.emulator.tenantId})`);
    say(`  Bynder emulator   ${services.bynder.url}  (a seeded portal: 3 brands, 4 metaproperties)`);
    say(`  S3                ${services.s3.endpoint}  buckets ${services.inboxBucket} (versioned), ${services.archiveBucket}`);
    say(`  DynamoDB          ${services.dynamodb.endpoint}  tables ${services.ledgerTable}, ${services.exportLedgerTable}`);
    say('  Nothing here talks to AWS: every client has a local endpoint and dummy credentials.');

    const clock = new SimulatedClock();
    const queue = new SqsSimulator({
      clock,
      queueName: 'ibinder-ingest-local',
      visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    const notifications = forwardInboxNotifications(services.s3, queue, {
      bucket: services.inboxBucket,
      sendTestEvent: true,
      region: services.region,
    });
    const config = localPipelineConfig(services, {
      routingRules: DEMO_ROUTING_RULES,
      untaggedGraceSeconds: UNTAGGED_GRACE_SECONDS,
      disposition: 'delete',
      // Files tagged bynder: go to the Bynder portal; the rest to iBinder, as before.
      bynder: localBynderConfig(services),
    });
    const deps = createLocalIngestDependencies(services, { config, now: () => new Date(clock.now()) });

    heading(`1. Producers drop files into s3://${services.inboxBucket}/inbox/`);
    const dropped = await dropSamples(services, demoSamples());
    for (const d of dropped) {
      const tagCount = d.sample.tags ? Object.keys(d.sample.tags).length : 0;
      const how = d.sample.tags
        ? `${tagCount} ${tagCount === 1 ? 'tag' : 'tags'}`
        : d.sample.tagsAfterFirstDelivery
          ? 'no tags yet'
          : 'no tags';
      say(`  ${d.sample.key}  (${d.sample.content.length} bytes, ${how}${d.sample.connector === 'bynder' ? ', for Bynder' : ''})`);
    }
    say(
      `  S3 sent ${notifications.sent.length} notifications to the ingest queue (one of them the s3:TestEvent S3 sends when a notification is configured).`,
    );

    heading('2. The ingest function consumes the queue');
    const lateTagged = new Set<string>();
    const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const response = await processBatch(event, context, deps);
      await tagLateSamples(services, dropped, notifications, event, lateTagged);
      return response;
    };
    const firstDrain = await queue.drainWithLambda(handler, { batchSize: 10, maxRounds: 20 });
    printDrain(say, firstDrain, clock, notifications);

    const redelivered = new Map<string, string>();
    for (const d of dropped.filter((x) => x.sample.duplicateDelivery)) {
      const original = notifications.lastFor(d.sample.key);
      if (!original) throw new DemoFailure(`no notification was sent for ${d.sample.key}`);
      redelivered.set(queue.send(original.body).messageId, d.sample.key);
    }
    if (redelivered.size > 0) {
      const keys = [...redelivered.values()];
      say();
      say(
        `  The ${keys.length === 1 ? 'event' : 'events'} of ${keys.join(' and ')} ${keys.length === 1 ? 'is' : 'are'} delivered a second time (S3 and SQS deliver at least once):`,
      );
    }
    const secondDrain = await queue.drainWithLambda(handler, { batchSize: 10, maxRounds: 10 });
    printDrain(say, secondDrain, clock, notifications, redelivered);

    heading('3. What became of each file');
    const bynderAssetsBefore = new Set(services.bynder.state.allAssets().map((a) => a.id));
    const reports = await reportFiles(services, config, dropped, notifications, redelivered, [firstDrain, secondDrain]);
    for (const line of renderFileReports(reports)) say(line);
    say(`Dead-letter queue: ${queue.deadLetters.length === 0 ? 'empty' : `${queue.deadLetters.length} message(s)`}`);
    for (const dead of queue.deadLetters) say(`  ${dead.messageId} after ${dead.receiveCount} receives: ${dead.body.slice(0, 160)}`);
    say(`Queue left: ${JSON.stringify(queue.depth())}`);
    say(
      `iBinder API calls for the ingest: ${services.emulator.calls.total('api')} API, ${services.emulator.calls.total('token')} token, ${services.emulator.calls.total('storage')} presigned storage`,
    );
    say(`Bynder API calls for the ingest: ${services.bynder.calls.total('api')} API, ${services.bynder.calls.total('token')} token`);

    const tour = { say, services, queue, handler, clock, notifications, config };
    heading('4. An operator fixes the rejected iBinder file with the CLI (npx ibinder-pipeline ...)');
    const reingested = await operatorTour(tour, rejectedOf(reports, 'ibinder'), (binderId) => [
      ['binders'],
      ...(binderId ? [['schema', binderId]] : []),
    ]);
    heading("5. And the rejected Bynder file: the portal's brands and metaproperties, the check, the fix");
    const bynderReingested = await operatorTour(tour, rejectedOf(reports, 'bynder'), () => [['brands'], ['metaproperties']]);

    heading('6. The nightly export of iBinder, run now in-process');
    const apiCallsBefore = services.emulator.calls.total('api');
    const exportDeps = createLocalExportDependencies(services, { config });
    const summary = await runExport(exportDeps, { retryDelay: () => Promise.resolve() });
    const ingestedVersions = new Set(
      reports.flatMap((r) => (r.result.status === 'accepted' && r.result.connector === 'ibinder' ? [r.result.versionId] : [])),
    );
    // The reingested file landed too: it is labelled, checked and counted like the others.
    if (reingested?.versionId) ingestedVersions.add(reingested.versionId);
    const archived = await printExport(say, services, summary, ingestedVersions, services.emulator.calls.total('api') - apiCallsBefore);

    // The Bynder portal's export: a separate step (local/demo-bynder-export.ts).
    const bynderExport = await demoBynderExport(say, heading, services, config);

    const problems = checkOutcome(reports, queue, summary, ingestedVersions, await archivedVersionIds(services));
    problems.push(...bynderExport.problems);
    if (!reingested) problems.push('the rejected iBinder file was not accepted after the operator fixed its tags and reingested it');
    if (!bynderReingested) problems.push('the rejected Bynder file was not accepted after the operator fixed its tags and reingested it');
    problems.push(...checkBynderOutcome(services.bynder, bynderAssetsBefore, reports));
    const ibinderOutcome = outcomeOf(reports, 'ibinder', reingested ? 1 : 0);
    const bynderAccepted = reports.flatMap((r) => (r.result.status === 'accepted' && r.result.connector === 'bynder' ? [r.result] : []));
    const bynderOutcome = {
      ...outcomeOf(reports, 'bynder', bynderReingested ? 1 : 0),
      // The reingested file is a new asset too: its tags name a brand, not an asset.
      newAssets: bynderAccepted.filter((r) => !r.newVersion).length + (bynderReingested ? 1 : 0),
      newVersions: bynderAccepted.filter((r) => r.newVersion).length,
    };
    const seconds = (performance.now() - startedAt) / 1000;
    const result: DemoSummary = {
      ok: problems.length === 0,
      problems,
      accepted: ibinderOutcome.accepted + bynderOutcome.accepted,
      acceptedOnFirstDrop: ibinderOutcome.acceptedOnFirstDrop + bynderOutcome.acceptedOnFirstDrop,
      reingested: ibinderOutcome.reingested + bynderOutcome.reingested,
      rejected: ibinderOutcome.rejected + bynderOutcome.rejected,
      byConnector: { ibinder: ibinderOutcome, bynder: bynderOutcome },
      archived,
      versionsExported: summary.versionsExported,
      seconds,
    };
    heading('Result');
    if (problems.length > 0) {
      for (const p of problems) say(`  ✗ ${p}`);
      say(`The demo did not end as expected (${seconds.toFixed(1)} s). Run it with --verbose to see the functions' logs.`);
      return result;
    }
    say(`  ✓ ${resultLine(result)}`);
    for (const line of connectorLines(result)) say(`    ${line}`);
    say(
      `  ✓ export: ${summary.versionsExported} versions archived with checksums and sidecars (${archived.ingestedJustNow} ingested just now, ${archived.seed} seed); manifest ${summary.manifestKey}`,
    );
    say(`Done in ${seconds.toFixed(1)} s.`);
    return result;
  } finally {
    if (!options.services) await services.stop();
  }
}

/** The result line: every file that landed, and how. */
export function resultLine(summary: Pick<DemoSummary, 'accepted' | 'acceptedOnFirstDrop' | 'reingested' | 'rejected'>): string {
  const files = (n: number): string => `${n} file${n === 1 ? '' : 's'}`;
  const landed =
    summary.reingested > 0
      ? `${files(summary.accepted)} accepted (${summary.acceptedOnFirstDrop} on arrival, ${summary.reingested} after the operator's fix)`
      : `${files(summary.accepted)} accepted`;
  return `${landed}, ${summary.rejected} rejected with a report, none lost, none twice.`;
}

/** Each system's lines of the result: what landed where, and how. */
export function connectorLines(summary: Pick<DemoSummary, 'byConnector'>): string[] {
  const { ibinder, bynder } = summary.byConnector;
  const fixed = (n: number): string => (n > 0 ? `, ${n} after the operator's fix` : '');
  return [
    `iBinder: ${ibinder.accepted} accepted (${ibinder.acceptedOnFirstDrop} on arrival${fixed(ibinder.reingested)}), ${ibinder.rejected} rejected with a report`,
    `Bynder:  ${bynder.accepted} accepted (${bynder.newAssets} new asset${bynder.newAssets === 1 ? '' : 's'}, ${bynder.newVersions} new version${bynder.newVersions === 1 ? '' : 's'}${fixed(bynder.reingested)}), ${bynder.rejected} rejected with a report`,
  ];
}

function outcomeOf(reports: readonly FileReport[], connector: FileReport['connector'], reingested: number): ConnectorOutcome {
  const mine = reports.filter((r) => r.connector === connector);
  const acceptedOnFirstDrop = mine.filter((r) => r.result.status === 'accepted').length;
  return {
    accepted: acceptedOnFirstDrop + reingested,
    acceptedOnFirstDrop,
    reingested,
    rejected: mine.filter((r) => r.result.status === 'rejected').length,
  };
}

function rejectedOf(reports: readonly FileReport[], connector: FileReport['connector']): FileReport | undefined {
  return reports.find((r) => r.connector === connector && r.result.status === 'rejected');
}

/** What the operator tour works with. */
interface Tour {
  say: Say;
  services: LocalServices;
  queue: SqsSimulator;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  clock: SimulatedClock;
  notifications: InboxNotifications;
  config: PipelineConfig;
}

/**
 * discovery (binders and schema, or brands and metaproperties) -> check (why rejected) -> check
 * with the fix -> reingest with the fix -> the ingest runs again -> status. Returns the committed
 * version ids of the fixed file, or undefined when it did not land.
 */
async function operatorTour(
  tour: Tour,
  rejected: FileReport | undefined,
  discovery: (binderId: string | undefined) => string[][],
): Promise<Record<string, string> | undefined> {
  const { say, services, queue, handler, clock, notifications, config } = tour;
  if (!rejected?.fix) return undefined;
  const rejectedKey = rejectedKeyFor(rejected.key, config.inboxPrefix, config.rejectedPrefix);
  const fix = ['--tag', `${rejected.fix.key}=${rejected.fix.value}`];
  const show = (step: CliStep, expectCode: number): void => {
    say();
    say(`  $ ibinder-pipeline ${step.argv.map((a) => (/[\s&]/.test(a) ? `"${a}"` : a)).join(' ')}    (exit ${step.code})`);
    for (const line of `${step.stdout}${step.stderr}`.trimEnd().split('\n')) say(`    ${line}`);
    if (step.code !== expectCode)
      throw new DemoFailure(`ibinder-pipeline ${step.argv.join(' ')} exited ${step.code}, expected ${expectCode}`);
  };
  const s3Uri = (key: string): string => `s3://${services.inboxBucket}/${key}`;
  const binderId = (
    JSON.parse((await runLocalCli(services, ['--json', 'check', s3Uri(rejectedKey)])).stdout) as { target?: { binderId?: string } }
  ).target?.binderId;
  for (const argv of discovery(binderId)) show(await runLocalCli(services, argv), 0);
  show(await runLocalCli(services, ['check', s3Uri(rejectedKey)]), 1);
  show(await runLocalCli(services, ['check', s3Uri(rejectedKey), ...fix]), 0);
  show(await runLocalCli(services, ['reingest', rejectedKey, ...fix]), 0);
  const drain = await queue.drainWithLambda(handler, { batchSize: 10, maxRounds: 10 });
  say();
  say('  The copy back into inbox/ is a new object version, so S3 notifies the queue and the ingest runs again:');
  printDrain(say, drain, clock, notifications);
  show(await runLocalCli(services, ['status', s3Uri(rejected.key)]), 0);
  const ledger = new IngestLedger({
    client: services.dynamodb.documentClient,
    tableName: services.ledgerTable,
    leaseSeconds: config.claimLeaseSeconds,
  });
  const latest = notifications.lastFor(rejected.key);
  const versionId = latest
    ? (JSON.parse(latest.body) as { Records?: { s3?: { object?: { versionId?: string } } }[] }).Records?.[0]?.s3?.object?.versionId
    : undefined;
  const entry = await ledger.get({ bucket: services.inboxBucket, key: rejected.key, versionId });
  return entry?.state === 'committed' ? entry.versionIds : undefined;
}

async function dropSamples(services: LocalServices, samples: DemoSample[]): Promise<DroppedSample[]> {
  const dropped: DroppedSample[] = [];
  for (const sample of samples) {
    const out = await services.s3.client.send(
      new PutObjectCommand({
        Bucket: services.inboxBucket,
        Key: sample.key,
        Body: sample.content,
        ContentType: sample.contentType,
        ...(sample.tags ? { Tagging: taggingHeader(sample.tags) } : {}),
      }),
    );
    dropped.push({ sample, versionId: out.VersionId, sha256: createHash('sha256').update(sample.content).digest('hex') });
  }
  return dropped;
}

/** A producer that tags with a second call: the tags arrive after the first delivery of the event. */
async function tagLateSamples(
  services: LocalServices,
  dropped: DroppedSample[],
  notifications: InboxNotifications,
  event: SQSEvent,
  done: Set<string>,
): Promise<void> {
  const delivered = new Set(event.Records.map((r) => r.messageId));
  for (const d of dropped) {
    const tags = d.sample.tagsAfterFirstDelivery;
    if (!tags || done.has(d.sample.key)) continue;
    const messageIds = notifications.sent.filter((n) => n.key === d.sample.key).map((n) => n.messageId);
    if (!messageIds.some((id) => delivered.has(id))) continue;
    await services.s3.client.send(
      new PutObjectTaggingCommand({
        Bucket: services.inboxBucket,
        Key: d.sample.key,
        VersionId: d.versionId,
        Tagging: { TagSet: tagSet(tags) },
      }),
    );
    done.add(d.sample.key);
  }
}

function printDrain(
  say: Say,
  drain: DrainReport,
  clock: SimulatedClock,
  notifications: InboxNotifications,
  redelivered = new Map<string, string>(),
): void {
  const keyOf = new Map([...notifications.sent.map((n): [string, string] => [n.messageId, n.key || '(s3:TestEvent)']), ...redelivered]);
  const start = drain.invocations[0]?.at ?? clock.now();
  const rows = drain.invocations.map((inv) => [
    `${inv.round}`,
    `+${Math.round((inv.at - start) / 1000)} s`,
    `${inv.messageIds.length}`,
    inv.failedMessageIds.length === 0
      ? 'all acknowledged'
      : `${inv.failedMessageIds.length} back to the queue: ${inv.failedMessageIds.map((id) => shortKey(keyOf.get(id) ?? id)).join(', ')}`,
  ]);
  if (rows.length > 0) for (const line of renderTable(['invocation', 'simulated time', 'messages', 'result'], rows)) say(line);
}

function shortKey(key: string): string {
  return key.replace(/^inbox\//, '');
}

async function reportFiles(
  services: LocalServices,
  config: PipelineConfig,
  dropped: DroppedSample[],
  notifications: InboxNotifications,
  redelivered: ReadonlyMap<string, string>,
  drains: DrainReport[],
): Promise<FileReport[]> {
  const ledger = new IngestLedger({
    client: services.dynamodb.documentClient,
    tableName: services.ledgerTable,
    leaseSeconds: config.claimLeaseSeconds,
  });
  const invocations = drains.flatMap((d) => d.invocations);
  const reports: FileReport[] = [];
  for (const d of dropped) {
    const messageIds = new Set(notifications.sent.filter((n) => n.key === d.sample.key).map((n) => n.messageId));
    for (const [messageId, key] of redelivered) if (key === d.sample.key) messageIds.add(messageId);
    const deliveries = invocations.reduce((n, inv) => n + inv.messageIds.filter((id) => messageIds.has(id)).length, 0);
    const retries = invocations.reduce((n, inv) => n + inv.failedMessageIds.filter((id) => messageIds.has(id)).length, 0);
    const notes: string[] = [];
    if (retries > 0) notes.push(`${retries} retr${retries === 1 ? 'y' : 'ies'} after the visibility timeout`);
    if (d.sample.tagsAfterFirstDelivery) notes.push('tags set after the first delivery');

    const entry = await ledger.get({ bucket: services.inboxBucket, key: d.sample.key, versionId: d.versionId });
    let result: FileResult;
    if (entry?.state === 'committed' && entry.connector === 'bynder') {
      result = await bynderAcceptedResult(services.bynder, entry.versionIds.mediaId ?? '', entry.versionIds.mediaItemId, d.sha256);
      if (d.sample.duplicateDelivery && result.status === 'accepted' && result.connector === 'bynder') {
        const assets = bynderAssetsNamed(services.bynder, result.assetName).length;
        notes.push(`event delivered twice: the portal has ${assets} asset${assets === 1 ? '' : 's'} of this name`);
      }
    } else if (entry?.state === 'committed') {
      result = await acceptedResult(services.emulator, entry.versionIds.documentId ?? '', entry.versionIds.versionId ?? '', d.sha256);
      if (d.sample.duplicateDelivery) {
        const versions = services.emulator.state.listVersions(entry.versionIds.documentId ?? '').length;
        notes.push(`event delivered twice: the document has ${versions} version${versions === 1 ? '' : 's'}`);
      }
    } else if (entry?.state === 'rejected') {
      result = await rejectedResult(
        services.s3.client,
        services.inboxBucket,
        entry.rejectedKey ?? rejectedKeyFor(d.sample.key, config.inboxPrefix, config.rejectedPrefix),
      );
    } else {
      result = { status: 'pending', detail: entry ? `ledger state ${entry.state}` : 'no ledger entry: the file was never processed' };
    }
    reports.push({
      connector: d.sample.connector,
      key: d.sample.key,
      ...(d.sample.fix ? { fix: d.sample.fix } : {}),
      label: d.sample.label,
      shows: d.sample.shows,
      expected: d.sample.expected,
      deliveries,
      notes,
      result,
    });
  }
  return reports;
}

async function acceptedResult(emulator: Emulator, documentId: string, versionId: string, sha256: string): Promise<FileResult> {
  const version = emulator.state.getVersion(versionId);
  const document = emulator.state.getDocument(documentId);
  const binder = document ? emulator.state.getBinder(document.binderId) : undefined;
  const content = await emulator.state.versionContent(versionId);
  return {
    status: 'accepted',
    connector: 'ibinder',
    binder: binder ? `${binder.name} (${binder.id})` : (document?.binderId ?? '?'),
    folderPath: document ? folderPath(emulator, document.folderId) : '?',
    documentId,
    versionId,
    versionLabel: version?.version,
    sha256Matches: content.sha256 === sha256,
  };
}

/** What the Bynder portal holds for a committed file: the asset, the version the file became, its bytes. */
async function bynderAcceptedResult(
  bynder: BynderEmulator,
  mediaId: string,
  mediaItemId: string | undefined,
  sha256: string,
): Promise<FileResult> {
  const asset = bynder.state.liveAsset(mediaId);
  if (!asset) return { status: 'pending', detail: `the ledger says committed, but the portal has no asset ${mediaId}` };
  const item = (mediaItemId !== undefined ? asset.items.find((i) => i.id === mediaItemId) : undefined) ?? bynder.state.activeItem(asset);
  const hash = createHash('sha256');
  for await (const chunk of item.blob.open()) hash.update(chunk as Buffer);
  const brand = bynder.state.listBrands().find((b) => b.id === asset.brandId);
  const metaproperties = [...asset.metadata].map(([id, values]) => {
    const metaproperty = bynder.state.getMetaproperty(id);
    const names = values.map((value) => metaproperty?.options.find((o) => o.id === value)?.label ?? value);
    return `${metaproperty?.name ?? id}=${names.join('+')}`;
  });
  return {
    status: 'accepted',
    connector: 'bynder',
    brand: brand ? `${brand.name} (${brand.id})` : asset.brandId,
    assetId: asset.id,
    assetName: asset.name,
    newVersion: item.version > 1,
    version: item.version,
    mediaItemId: item.id,
    metaproperties,
    tags: asset.tags,
    sha256Matches: hash.digest('hex') === sha256,
  };
}

function bynderAssetsNamed(bynder: BynderEmulator, name: string): string[] {
  return bynder.state
    .allAssets()
    .filter((a) => !a.deleted && a.name === name)
    .map((a) => a.id);
}

/**
 * Bynder's side, read from the portal: every new asset carries the marker tag of the S3 object
 * it came from (so that a lost save is found again), and no file became two assets.
 */
function checkBynderOutcome(bynder: BynderEmulator, assetsBefore: ReadonlySet<string>, reports: readonly FileReport[]): string[] {
  const problems: string[] = [];
  const created = bynder.state.allAssets().filter((a) => !assetsBefore.has(a.id) && !a.deleted);
  const firstDrop = reports.filter((r) => r.result.status === 'accepted' && r.result.connector === 'bynder' && !r.result.newVersion);
  if (created.length !== firstDrop.length)
    problems.push(
      `Bynder: ${created.length} new asset(s) after the first drops, but ${firstDrop.length} file(s) were accepted as new assets`,
    );
  for (const asset of created) {
    if (!asset.tags.some((t) => t.startsWith(MARKER_TAG_PREFIX)))
      problems.push(`Bynder: asset ${asset.id} "${asset.name}" has no ${MARKER_TAG_PREFIX}<token> marker tag`);
  }
  return problems;
}

function folderPath(emulator: Emulator, folderId: string): string {
  const names: string[] = [];
  for (
    let folder = emulator.state.getFolder(folderId);
    folder;
    folder = folder.parentId ? emulator.state.getFolder(folder.parentId) : undefined
  ) {
    names.unshift(folder.name);
  }
  return names.join('/');
}

async function rejectedResult(s3: S3Client, bucket: string, rejectedKey: string): Promise<FileResult> {
  const reportKey = reportKeyFor(rejectedKey);
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: reportKey }));
  const report = JSON.parse((await out.Body?.transformToString()) ?? '{}') as Partial<RejectionReport>;
  return { status: 'rejected', reportUri: `s3://${bucket}/${reportKey}`, problems: report.problems ?? [], howToRetry: report.howToRetry };
}

async function listArchive(services: LocalServices): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await services.s3.client.send(new ListObjectsV2Command({ Bucket: services.archiveBucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Archive keys are `<tenant>/<binderId>/<documentId>/<versionId>/<fileName>`. */
async function archivedVersionIds(services: LocalServices): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const key of await listArchive(services)) {
    const parts = key.split('/');
    if (parts.length === 5 && parts[0] === services.emulator.tenantId && parts[3]) ids.add(parts[3]);
  }
  return ids;
}

/** Lists the archive and returns how many archived files it labelled by origin. */
async function printExport(
  say: Say,
  services: LocalServices,
  summary: RunExportSummary,
  ingestedVersions: Set<string>,
  apiCalls: number,
): Promise<DemoSummary['archived']> {
  say(
    `  run ${summary.runId}: ${summary.documentsSeen} documents seen, ${summary.versionsEnqueued} versions to export, ${summary.versionsExported} exported, ${summary.failed.length} failed; ${summary.bytes} bytes; ${apiCalls} iBinder API calls`,
  );
  say();
  say(`  s3://${services.archiveBucket}/`);
  const keys = await listArchive(services);
  const rows: string[][] = [];
  let sidecars = 0;
  for (const key of keys) {
    const parts = key.split('/');
    if (key.endsWith('.metadata.json') || key.endsWith('.sidecar.json')) {
      sidecars += 1;
      continue;
    }
    if (parts.length === 5 && parts[0] === services.emulator.tenantId) {
      const [, binderId = '', documentId = '', versionId = '', fileName = ''] = parts;
      const document = services.emulator.state.getDocument(documentId);
      const version = services.emulator.state.getVersion(versionId);
      rows.push([
        binderId,
        document ? folderPath(services.emulator, document.folderId) : '?',
        fileName,
        version?.version ?? '',
        ingestedVersions.has(versionId) ? INGESTED_JUST_NOW : SEED,
      ]);
    }
  }
  rows.sort((a, b) => a.slice(0, 4).join('\u0000').localeCompare(b.slice(0, 4).join('\u0000')));
  for (const line of renderTable(['binder', 'folder', 'file', 'version', 'origin'], rows)) say(line);
  say();
  say(`  ${rows.length} files under ${services.emulator.tenantId}/<binderId>/<documentId>/<versionId>/<fileName>,`);
  say(`  each with its metadata sidecar beside it (${sidecars} sidecars)`);
  say(`  manifest: s3://${services.archiveBucket}/${summary.manifestKey}`);
  const others = keys.filter((k) => !k.startsWith(`${services.emulator.tenantId}/`) && k !== summary.manifestKey);
  if (others.length > 0) say(`  and ${others.length} other object(s), e.g. ${others[0]}`);
  const ingestedJustNow = rows.filter((r) => r[4] === INGESTED_JUST_NOW).length;
  return { ingestedJustNow, seed: rows.length - ingestedJustNow };
}

function checkOutcome(
  reports: FileReport[],
  queue: SqsSimulator,
  summary: RunExportSummary,
  ingestedVersions: Set<string>,
  archived: Set<string>,
): string[] {
  const problems: string[] = [];
  for (const r of reports) {
    if (r.result.status !== r.expected) problems.push(`${r.key}: expected ${r.expected}, got ${r.result.status}`);
    if (r.result.status === 'accepted' && !r.result.sha256Matches)
      problems.push(`${r.key}: the bytes in ${r.connector === 'bynder' ? 'Bynder' : 'iBinder'} differ from the bytes dropped in the inbox`);
    if (r.notes.some((n) => /has [2-9]\d* (versions|assets)/.test(n)))
      problems.push(`${r.key}: the duplicate delivery created a second ${r.connector === 'bynder' ? 'asset' : 'version'}`);
  }
  for (const connector of ['ibinder', 'bynder'] as const)
    if (!reports.some((r) => r.connector === connector && r.result.status === 'rejected'))
      problems.push(`no ${connector} file was rejected: the demo must show a rejection report of each system`);
  if (queue.deadLetters.length > 0) problems.push(`${queue.deadLetters.length} message(s) ended in the dead-letter queue`);
  if (!queue.isEmpty()) problems.push(`the ingest queue is not empty: ${JSON.stringify(queue.depth())}`);
  if (summary.failed.length > 0)
    problems.push(
      `the export failed for ${summary.failed.length} version(s): ${summary.failed.map((f) => `${f.fileName}: ${f.reason}`).join('; ')}`,
    );
  for (const versionId of ingestedVersions)
    if (!archived.has(versionId)) problems.push(`ingested version ${versionId} is not in the archive`);
  return problems;
}
