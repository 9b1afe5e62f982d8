/**
 * The fault drill (`npm run drill`) in small: 60 files through the real ingest on the local
 * stack with a fifth of the iBinder API and storage requests faulted, events delivered twice
 * and records crashing between PUT and commit and between commit and ledger; every file must
 * end as exactly one version, none lost, none dead-lettered. Beside it, the drill's own parts:
 * the crash points, the concurrent event source and the verdict.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Context, SQSEvent } from 'aws-lambda';
import { CrashPoints, SimulatedCrash } from '../../drill/crash-points.js';
import { countDrillOutcome, type DrillFile } from '../../drill/drill-outcome.js';
import { drillPassed, drillTargets, renderDrillReport } from '../../drill/drill-report.js';
import { DEFAULT_SEED_IDS, startEmulator } from '../../emulator/index.js';
import { runEventSource } from '../../drill/event-source.js';
import { runFaultDrill, type FaultDrillResult } from '../../drill/fault-drill.js';
import type { CommitPlan, CommittedVersion, ConnectorDestination } from '../../shared/connectors/types.js';
import type { ObjectRef } from '../../shared/ledger/types.js';
import { SimulatedClock } from '../../local/simulated-clock.js';
import { SqsSimulator } from '../../local/sqs-simulator.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { ibinderConnectorOf, InMemoryIngestLedger, makeDeps, withIBinderDestination } from '../helpers/ingest-factories.js';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import { logger as sharedLogger } from '../../shared/observability/logger.js';
import { runWithLogContext } from '../../shared/observability/log-context.js';

describe('fault drill, small', () => {
  // The iBinder client's own retry lines would be hundreds under a fifth of requests faulted.
  beforeAll(() => {
    sharedLogger.setLogLevel('SILENT');
  });

  it('ingests 60 files under 20 % faults, duplicate events and crashes: one version each, none lost, none dead-lettered', async () => {
    const result = await runFaultDrill({ files: 60, faultRate: 0.2, seed: 'npm-test', crashRate: 0.1, duplicateRate: 0.2 });

    expect(
      drillTargets(result).filter((t) => !t.pass),
      renderDrillReport(result).join('\n'),
    ).toEqual([]);
    expect(result.versionsCreated).toBe(60);
    expect(result.duplicateVersions).toBe(0);
    expect(result.lostFiles).toEqual([]);
    expect(result.deadLetteredFiles).toEqual([]);
    expect(result.rejectedFiles).toEqual([]);
    expect(result.contentMismatches).toEqual([]);
    expect(result.ledgerDisagreements).toEqual([]);
    expect(result.eventSource.drained).toBe(true);

    // The drill really was a drill: faults at the asked share, crashes, second deliveries.
    const faultedCalls = result.calls.api + result.calls.storage;
    expect(result.faults.total).toBeGreaterThanOrEqual(20 * Math.floor(faultedCalls / 100));
    expect(result.faults.total).toBeGreaterThan(0);
    expect(result.crashes.total).toBeGreaterThan(0);
    expect(result.duplicateEventsSent).toBeGreaterThan(0);
    expect(result.eventSource.deliveries).toBeGreaterThan(60 + result.duplicateEventsSent);
  });
});

describe('crash points', () => {
  const ref: ObjectRef = { bucket: 'inbox-bucket', key: 'inbox/a.pdf', versionId: 'v1' };
  const plan: CommitPlan = {
    connector: 'ibinder',
    target: { binderId: 'BndrAAAA1', folderId: 'folder-1' },
    fileName: 'a.pdf',
    metadata: [],
  };
  const marker = { object: 's3://inbox-bucket/inbox/a.pdf (version v1)', token: 'token' };

  /** A destination that records what reached it. */
  function recordingDestination(): ConnectorDestination & { calls: string[] } {
    const calls: string[] = [];
    return {
      commitIsIdempotent: true,
      calls,
      prepareUpload: async () => ({ uploadId: `upload-${calls.length}`, uploadUrl: 'http://127.0.0.1:1/upload' }),
      transfer: async (upload) => {
        calls.push(`transfer ${upload.uploadId}`);
      },
      commit: async (_plan, uploadId): Promise<CommittedVersion> => {
        calls.push(`commit ${uploadId}`);
        return { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: `version-of-${uploadId}` } };
      },
    };
  }

  function depsWith(destination: ConnectorDestination, ledger: InMemoryIngestLedger): IngestDependencies {
    return { ...withIBinderDestination(makeDeps({ client: new FakeIBinderClient() }), () => destination), ledger };
  }

  /** The destination the flow calls: the wrapped one of the iBinder connector. */
  const destinationOf = (deps: IngestDependencies): ConnectorDestination => ibinderConnectorOf(deps).destination;

  /** The recording destination never reads the body. */
  const unreadBody = { contentLength: 1 } as unknown as Parameters<ConnectorDestination['transfer']>[1];

  it('crashes after the commit, before the ledger: the version exists, and the dead claim can write nothing more', async () => {
    const destination = recordingDestination();
    const ledger = new InMemoryIngestLedger();
    const crashes = new CrashPoints({ rate: 1, seed: 1, points: ['after-commit'] });
    const deps = crashes.wrap(depsWith(destination, ledger));

    const claim = await deps.ledger.claim(ref, 'message-1');
    if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
    await destinationOf(deps).transfer({ uploadId: 'upload-1', uploadUrl: 'http://127.0.0.1:1/upload' }, unreadBody, plan);
    await deps.ledger.markTransferred(ref, claim.lease, { uploadId: 'upload-1', plan });
    await expect(destinationOf(deps).commit(plan, 'upload-1', marker)).rejects.toThrow(SimulatedCrash);
    expect(destination.calls).toEqual(['transfer upload-1', 'commit upload-1']);

    const afterCrash = deps.ledger.markCommitted(ref, claim.lease, {
      version: { connector: 'ibinder', ids: { documentId: 'doc-1', versionId: 'version-of-upload-1' } },
    });
    await expect(afterCrash).rejects.toMatchObject({ name: 'SimulatedCrash', afterCrash: true });
    expect((await ledger.get(ref))?.state).toBe('claimed');
    expect(crashes.counts()).toMatchObject({ total: 1, byPoint: { 'after-commit': 1 }, refusedAfterCrash: 1 });

    // The redelivery claims again and its ledger writes go through: the dead claim's refusal is not the object's.
    const redelivery = await deps.ledger.claim(ref, 'message-1');
    if (redelivery.outcome !== 'claimed') throw new Error(`expected a claim, got ${redelivery.outcome}`);
    const committed = await destination.commit(plan, 'upload-1', marker);
    await deps.ledger.markCommitted(ref, redelivery.lease, { version: committed });
    expect((await ledger.get(ref))?.state).toBe('committed');
  });

  it('crashes after the PUT (the bytes arrived) and after the transfer was recorded (the ledger says so)', async () => {
    const destination = recordingDestination();
    const ledger = new InMemoryIngestLedger();
    const deps = new CrashPoints({ rate: 1, seed: 1, points: ['after-put', 'after-transfer-recorded'] }).wrap(
      depsWith(destination, ledger),
    );
    const claim = await deps.ledger.claim(ref, 'message-1');
    if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
    // The ledger learns an upload only once it is transferred: the record being ingested names the object.
    const record = { bucket: ref.bucket, key: ref.key, objectVersionId: ref.versionId };
    await expect(
      runWithLogContext(record, () =>
        destinationOf(deps).transfer({ uploadId: 'upload-1', uploadUrl: 'http://127.0.0.1:1/upload' }, unreadBody, plan),
      ),
    ).rejects.toMatchObject({
      point: 'after-put',
    });
    expect(destination.calls).toEqual(['transfer upload-1']);
    expect(await ledger.get(ref)).toMatchObject({ state: 'claimed', transferred: false, uploadId: undefined });

    const second = await deps.ledger.claim(ref, 'message-1');
    if (second.outcome !== 'claimed') throw new Error(`expected a claim, got ${second.outcome}`);
    await expect(deps.ledger.markTransferred(ref, second.lease, { uploadId: 'upload-2', plan })).rejects.toMatchObject({
      point: 'after-transfer-recorded',
      afterCrash: false,
    });
    expect(await ledger.get(ref)).toMatchObject({ state: 'claimed', transferred: true, uploadId: 'upload-2' });
    await expect(deps.ledger.markCommitStarted(ref, second.lease, 'upload-2')).rejects.toMatchObject({ afterCrash: true });
  });

  it('crashes after a small file was claimed with its transfer: that claim is dead', async () => {
    const ledger = new InMemoryIngestLedger();
    const deps = new CrashPoints({ rate: 1, seed: 1, points: ['after-transfer-recorded'] }).wrap(depsWith(recordingDestination(), ledger));
    const crash = await deps.ledger.claimTransferred(ref, 'message-1', { uploadId: 'upload-1', plan }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(crash).toMatchObject({ point: 'after-transfer-recorded', afterCrash: false });
    const entry = await ledger.get(ref);
    expect(entry).toMatchObject({ state: 'claimed', transferred: true, uploadId: 'upload-1' });
    if (entry?.state !== 'claimed' || entry.claimToken === undefined) throw new Error('expected a claim with a token');
    const lease = { owner: 'message-1', token: entry.claimToken };
    await expect(deps.ledger.markCommitStarted(ref, lease, 'upload-1')).rejects.toMatchObject({ afterCrash: true });
  });

  it('crashes the same objects at the same points for the same seed, whatever the order', async () => {
    const crashedKeys = async (seed: string, order: number[]): Promise<string[]> => {
      const crashes = new CrashPoints({ rate: 0.3, seed, points: ['after-transfer-recorded'] });
      const deps = crashes.wrap(depsWith(recordingDestination(), new InMemoryIngestLedger()));
      const crashed: string[] = [];
      for (const i of order) {
        const object = { ...ref, key: `inbox/${i}.pdf` };
        const claim = await deps.ledger.claim(object, `message-${i}`);
        if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
        await deps.ledger.markTransferred(object, claim.lease, { uploadId: `upload-${i}`, plan }).catch(() => crashed.push(object.key));
      }
      return crashed.sort();
    };
    const forwards = Array.from({ length: 40 }, (_, i) => i);
    const first = await crashedKeys('seed-a', forwards);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(40);
    expect(await crashedKeys('seed-a', [...forwards].reverse())).toEqual(first);
    expect(await crashedKeys('seed-b', forwards)).not.toEqual(first);
  });

  it('never crashes at rate 0', async () => {
    const destination = recordingDestination();
    const crashes = new CrashPoints({ rate: 0, seed: 1 });
    const deps = crashes.wrap(depsWith(destination, new InMemoryIngestLedger()));
    const claim = await deps.ledger.claim(ref, 'message-1');
    if (claim.outcome !== 'claimed') throw new Error(`expected a claim, got ${claim.outcome}`);
    await destinationOf(deps).transfer({ uploadId: 'upload-1', uploadUrl: 'http://127.0.0.1:1/upload' }, unreadBody, plan);
    await deps.ledger.markTransferred(ref, claim.lease, { uploadId: 'upload-1', plan });
    await destinationOf(deps).commit(plan, 'upload-1', marker);
    expect(crashes.counts().total).toBe(0);
  });
});

describe('drill event source', () => {
  let queue: SqsSimulator;

  it('runs invocations side by side, redelivers failed messages after the visibility timeout, and moves the clock only between invocations', async () => {
    const clock = new SimulatedClock(Date.parse('2025-06-01T00:00:00Z'));
    queue = new SqsSimulator({ clock, visibilityTimeoutSeconds: 60, maxReceiveCount: 3 });
    for (let i = 0; i < 4; i += 1) queue.send(`message ${i}`);
    let running = 0;
    let mostAtOnce = 0;
    const seen: { body: string; at: number; receive: string }[] = [];
    const report = await runEventSource(
      queue,
      async (event: SQSEvent, _context: Context) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        const at = clock.now();
        await new Promise((resolve) => setTimeout(resolve, 20));
        expect(clock.now()).toBe(at);
        running -= 1;
        for (const r of event.Records) seen.push({ body: r.body, at, receive: r.attributes.ApproximateReceiveCount });
        // "message 0" fails on its first delivery only.
        const failed = event.Records.filter((r) => r.body === 'message 0' && r.attributes.ApproximateReceiveCount === '1');
        return { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      { concurrency: 2, batchSize: 1, maxInvocations: 20 },
    );
    expect(mostAtOnce).toBe(2);
    expect(report).toMatchObject({ invocations: 5, deliveries: 5, failedDeliveries: 1, drained: true });
    const redelivered = seen.find((s) => s.body === 'message 0' && s.receive === '2');
    expect(redelivered?.at).toBe(Date.parse('2025-06-01T00:01:00Z'));
  });

  it('stops a message that keeps failing at maxReceiveCount: it lands in the dead-letter list', async () => {
    queue = new SqsSimulator({ clock: new SimulatedClock(0), visibilityTimeoutSeconds: 30, maxReceiveCount: 2 });
    queue.send('always fails');
    const report = await runEventSource(
      queue,
      async () => {
        throw new Error('boom');
      },
      { concurrency: 2, batchSize: 10, maxInvocations: 10 },
    );
    expect(report).toMatchObject({ invocations: 2, failedInvocations: 2, drained: true });
    expect(report.invocationErrors[0]).toContain('boom');
    expect(queue.deadLetters.map((d) => d.body)).toEqual(['always fails']);
  });
});

describe('drill outcome', () => {
  it('counts from what the emulator and the ledger hold: surplus versions, stray documents, lost, rejected, altered bytes, ledger disagreements, dead letters', async () => {
    const emulator = await startEmulator({ seed: 'default' });
    try {
      const binderId = DEFAULT_SEED_IDS.harbourOffice.binderId;
      const state = emulator.state;
      const folderId = state.addFolder({ binderId, name: 'Outcome' }).id;
      const ledger = new InMemoryIngestLedger();
      const bucket = 'inbox-bucket';
      const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
      const file = (name: string): DrillFile => ({ key: `inbox/drill/${name}`, versionId: `v-${name}`, sha256: sha(`bytes of ${name}`) });
      const [good, twice, lost, rejected, altered] = ['good.pdf', 'twice.pdf', 'lost.pdf', 'rejected.pdf', 'altered.pdf'].map(file) as [
        DrillFile,
        DrillFile,
        DrillFile,
        DrillFile,
        DrillFile,
      ];
      const refOf = (f: DrillFile) => ({ bucket, key: f.key, versionId: f.versionId });
      const metadata = { discipline: 'ARC' };
      const claimed = async (f: DrillFile) => {
        const claim = await ledger.claim(refOf(f), `message-${f.key}`);
        if (claim.outcome !== 'claimed') throw new Error(`expected a claim of ${f.key}, got ${claim.outcome}`);
        return claim.lease;
      };

      const goodVersion = state.addDocument({ binderId, folderId, fileName: 'good.pdf', content: 'bytes of good.pdf', metadata }).version;
      await ledger.markCommitted(refOf(good), await claimed(good), {
        version: { connector: 'ibinder', ids: { documentId: goodVersion.documentId, versionId: goodVersion.id } },
      });
      const twiceFirst = state.addDocument({ binderId, folderId, fileName: 'twice.pdf', content: 'bytes of twice.pdf', metadata }).version;
      state.addVersion(twiceFirst.documentId, { content: 'bytes of twice.pdf' });
      await ledger.markCommitted(refOf(twice), await claimed(twice), {
        version: { connector: 'ibinder', ids: { documentId: twiceFirst.documentId, versionId: twiceFirst.id } },
      });
      await claimed(lost);
      await ledger.markRejected(refOf(rejected), await claimed(rejected), [
        { code: 'refused', field: 'ibinder', message: 'refused', fix: 'none' },
      ]);
      state.addDocument({ binderId, folderId, fileName: 'altered.pdf', content: 'other bytes', metadata });
      await ledger.markCommitted(refOf(altered), await claimed(altered), {
        version: { connector: 'ibinder', ids: { documentId: 'another-document', versionId: 'another-version' } },
      });
      state.addDocument({ binderId, folderId, fileName: 'stray.pdf', content: 'no file of the drill', metadata });

      const outcome = await countDrillOutcome({
        state,
        ledger,
        bucket,
        folderId,
        files: [good, twice, lost, rejected, altered],
        deadLetters: [{ messageId: 'm-lost' }, { messageId: 'm-unknown' }],
        keyOfMessage: new Map([['m-lost', lost.key]]),
      });

      expect(outcome.versionsCreated).toBe(5);
      expect(outcome.duplicateVersions).toBe(2);
      expect(outcome.duplicatedFiles).toEqual([{ key: twice.key, versions: 2, ledger: 'committed' }]);
      expect(outcome.lostFiles).toEqual([{ key: lost.key, versions: 0, ledger: 'claimed' }]);
      expect(outcome.rejectedFiles).toEqual([{ key: rejected.key, versions: 0, ledger: 'rejected' }]);
      expect(outcome.contentMismatches).toEqual([altered.key]);
      expect(outcome.ledgerDisagreements).toEqual([{ key: altered.key, versions: 1, ledger: 'committed' }]);
      expect(outcome.deadLetteredFiles).toEqual(['(unknown message m-unknown)', lost.key]);
    } finally {
      await emulator.close();
    }
  });
});

describe('drill verdict', () => {
  function result(overrides: Partial<FaultDrillResult>): FaultDrillResult {
    return {
      settings: {
        files: 3,
        faultRate: 0.2,
        seed: 1,
        crashRate: 0.05,
        duplicateRate: 0.1,
        concurrency: 2,
        batchSize: 10,
        maxReceiveCount: 5,
        visibilityTimeoutSeconds: 120,
        retryAfterSeconds: 1,
        fileBytes: { min: 1024, max: 4096 },
      },
      files: 3,
      versionsCreated: 3,
      duplicateVersions: 0,
      lostFiles: [],
      rejectedFiles: [],
      deadLetteredFiles: [],
      duplicatedFiles: [],
      contentMismatches: [],
      ledgerDisagreements: [],
      calls: { api: 9, storage: 3, token: 1 },
      faults: { total: 2, byKind: { '429': 1, 'dropped-response': 1 } },
      faultedShare: 2 / 12,
      crashes: { byPoint: { 'after-put': 1, 'after-transfer-recorded': 0, 'after-commit': 0 }, total: 1, refusedAfterCrash: 0 },
      duplicateEventsSent: 1,
      eventSource: { invocations: 2, deliveries: 5, failedInvocations: 0, failedDeliveries: 1, drained: true, invocationErrors: [] },
      elapsedMs: 1234,
      ...overrides,
    };
  }

  it('passes only when versions = files and nothing is duplicated, lost or dead-lettered', () => {
    expect(drillPassed(result({}))).toBe(true);
    expect(drillPassed(result({ versionsCreated: 4, duplicateVersions: 1 }))).toBe(false);
    expect(
      drillPassed(result({ versionsCreated: 2, lostFiles: [{ key: 'inbox/drill/file-2.pdf', versions: 0, ledger: 'claimed' }] })),
    ).toBe(false);
    expect(drillPassed(result({ deadLetteredFiles: ['inbox/drill/file-3.pdf'] }))).toBe(false);
    expect(drillPassed(result({ versionsCreated: 2 }))).toBe(false);
  });

  it('prints the targets, the calls per file, the faults by kind and the files behind a miss', () => {
    const text = renderDrillReport(
      result({ versionsCreated: 2, lostFiles: [{ key: 'inbox/drill/file-2.pdf', versions: 0, ledger: 'claimed' }] }),
    ).join('\n');
    expect(text).toMatch(/lost files\s+0\s+1\s+FAIL/);
    expect(text).toMatch(/API calls per file\s+3\.00 \(9\)/);
    expect(text).toContain('429 1, dropped-response 1');
    expect(text).toContain('inbox/drill/file-2.pdf (ledger: claimed)');
    expect(text).toMatch(/^FAIL: versions created 2 \(target = files \(3\)\); lost files 1/m);

    const deadLettered = renderDrillReport(
      result({
        deadLetteredFiles: ['inbox/drill/file-1.pdf', 'inbox/drill/file-2.pdf'],
        versionsCreated: 2,
        lostFiles: [{ key: 'inbox/drill/file-2.pdf', versions: 0, ledger: 'claimed' }],
      }),
    ).join('\n');
    expect(deadLettered).toContain('inbox/drill/file-1.pdf (its version exists; a redrive finishes the ledger and the inbox)');
    expect(deadLettered).toContain('inbox/drill/file-2.pdf (no version: lost until redriven)');
  });
});
