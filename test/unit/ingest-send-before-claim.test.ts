/**
 * A small, fresh file on its message's first delivery is sent before it is claimed, and claimed
 * together with the record of its transfer (sendBeforeClaim in process-record.ts). These tests
 * hold that road to every guarantee of the claim up front: no second version from duplicates,
 * redeliveries or a crash at any point; a transferred upload is resumed with its stored plan;
 * an older upload never commits after a newer one; a consumer that lost its claim writes nothing
 * more; a rejection only under a claim. Crashes are the fault drill's (drill/crash-points.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CrashPoints } from '../../drill/crash-points.js';
import { FRESH_UPLOAD_MS, processObjectRecord } from '../../functions/ingest/process-record.js';
import type { CommitPlan, ObjectRef } from '../../shared/ledger/types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { apiError, FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, BUCKET, makeConfig, makeDeps, serveInboxObject, type TestDeps } from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
let now = new Date('2025-01-15T09:00:00Z');
const KEY = 'inbox/drawings/A-101.pdf';
const CONTENT = Buffer.from('%PDF-1.7 a small drawing');
const TAGS: S3Tag[] = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
];
const FIRST = { receiveCount: 1 };
const AGAIN = { receiveCount: 2 };

interface Upload {
  versionId: string;
  sequencer: string;
}
const ONLY: Upload = { versionId: 'v1', sequencer: '0055AED6DCD90281E5' };
const OLDER: Upload = { versionId: 'v-older', sequencer: '0055AED6DCD90281E5' };
const NEWER: Upload = { versionId: 'v-newer', sequencer: '55AED6DCD90281F0' };

let client: FakeIBinderClient;
let deps: TestDeps;

function setup(options: { tags?: S3Tag[]; uploadedMsAgo?: number; uploads?: Upload[] } = {}): void {
  now = new Date('2025-01-15T09:00:00Z');
  client = new FakeIBinderClient(BINDERS);
  deps = makeDeps({ client, config: makeConfig(), now: () => now });
  for (const upload of options.uploads ?? [ONLY]) {
    serveInboxObject(s3, {
      key: KEY,
      versionId: upload.versionId,
      content: CONTENT,
      tags: options.tags ?? TAGS,
      lastModified: new Date(now.getTime() - (options.uploadedMsAgo ?? 3_000)),
    });
  }
}

function event(upload: Upload = ONLY): S3ObjectEvent {
  return {
    eventName: 'ObjectCreated:Put',
    created: true,
    bucket: BUCKET,
    key: KEY,
    rawKey: KEY,
    versionId: upload.versionId,
    size: CONTENT.length,
    sequencer: upload.sequencer,
    source: 's3',
  };
}

function refOf(upload: Upload = ONLY): ObjectRef {
  return { bucket: BUCKET, key: KEY, versionId: upload.versionId };
}

beforeEach(() => s3.reset());

describe('a small file sent before its claim', () => {
  it('is claimed with its transfer in one write: no claim up front, one version', async () => {
    setup();
    expect(await processObjectRecord(event(), 'msg-1', deps, FIRST)).toMatchObject({ status: 'committed', resumed: false });
    expect(deps.ledger.changes(refOf())).toEqual(['claimed transferred', 'committed']);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('makes one version when two deliveries of a new object run at once: one claims and commits, the other sends and abandons', async () => {
    setup();
    const outcomes = await Promise.all([
      processObjectRecord(event(), 'msg-1', deps, FIRST),
      processObjectRecord(event(), 'msg-2', deps, FIRST),
    ]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['committed', 'retry']);
    expect(client.callCount('putPresigned')).toBe(2);
    expect(client.commits).toHaveLength(1);
    expect(client.allVersions()).toHaveLength(1);
    // The loser wrote nothing: one claim with a transfer, then the commit.
    expect(deps.ledger.changes(refOf())).toEqual(['claimed transferred', 'committed']);
    // Its redelivery finds the object committed.
    const loser = outcomes[0]?.status === 'retry' ? 'msg-1' : 'msg-2';
    expect(await processObjectRecord(event(), loser, deps, AGAIN)).toMatchObject({ status: 'skipped' });
    expect(client.allVersions()).toHaveLength(1);
  });

  it('resumes the stored upload after a crash right after the claim with the transfer: no second PUT, one version', async () => {
    setup();
    const crashing = new CrashPoints({ rate: 1, seed: 1, points: ['after-transfer-recorded'] }).wrap(deps);
    expect(await processObjectRecord(event(), 'msg-1', crashing, FIRST)).toMatchObject({ status: 'retry' });
    const sent = client.transfers[0]?.uploadId;
    expect(await deps.ledger.get(refOf())).toMatchObject({ state: 'claimed', transferred: true, uploadId: sent });

    expect(await processObjectRecord(event(), 'msg-1', deps, AGAIN)).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    expect(client.commits.map((c) => c.request.uploadId)).toEqual([sent]);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('records the commit of a crash after the commit without a second version', async () => {
    setup();
    const crashing = new CrashPoints({ rate: 1, seed: 1, points: ['after-commit'] }).wrap(deps);
    expect(await processObjectRecord(event(), 'msg-1', crashing, FIRST)).toMatchObject({ status: 'retry' });
    expect(client.allVersions()).toHaveLength(1);
    expect(await processObjectRecord(event(), 'msg-1', deps, AGAIN)).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    expect(client.allVersions()).toHaveLength(1);
    expect(await deps.ledger.get(refOf())).toMatchObject({ state: 'committed' });
  });

  it("lets another consumer take over once the claim's lease expired; the first writes nothing more", async () => {
    setup();
    const crashing = new CrashPoints({ rate: 1, seed: 1, points: ['after-transfer-recorded'] }).wrap(deps);
    expect(await processObjectRecord(event(), 'msg-1', crashing, FIRST)).toMatchObject({ status: 'retry' });
    const first = await deps.ledger.get(refOf());
    if (first?.state !== 'claimed' || first.claimToken === undefined) throw new Error('expected the crashed claim');

    now = new Date(now.getTime() + 16 * 60_000);
    // Another message (S3's second event) on its first delivery: the upload is no longer fresh, so it claims up front.
    expect(await processObjectRecord(event(), 'msg-2', deps, FIRST)).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    expect(client.allVersions()).toHaveLength(1);
    const late = deps.ledger.markCommitted(
      refOf(),
      { owner: 'msg-1', token: first.claimToken },
      {
        version: { connector: 'ibinder', ids: { documentId: 'd-late', versionId: 'v-late' } },
      },
    );
    await expect(late).rejects.toThrow();
    const recorded = await deps.ledger.get(refOf());
    expect(recorded).toMatchObject({ state: 'committed' });
    expect(recorded?.state === 'committed' ? recorded.versionIds.documentId : undefined).not.toBe('d-late');
  });

  it('resumes a stored plan it finds at the claim, and abandons the upload it sent', async () => {
    setup();
    client.seedTransferredUpload('upload-stored');
    const stored: CommitPlan = {
      connector: 'ibinder',
      fileName: 'A-101.pdf',
      target: { binderId: BINDER_ID, folderId: 'f-struct' },
      metadata: [{ id: 'discipline', value: 'd-struct' }],
    };
    deps.ledger.seed(refOf(), {
      state: 'claimed',
      owner: 'msg-crashed',
      claimToken: 'old',
      leaseExpiresAt: now.getTime() - 1,
      attempts: 1,
      claimedAt: now.toISOString(),
      uploadId: 'upload-stored',
      transferred: true,
      commitPlan: stored,
      connector: 'ibinder',
    });
    expect(await processObjectRecord(event(), 'msg-2', deps, FIRST)).toMatchObject({ status: 'committed', resumed: true });
    expect(client.callCount('putPresigned')).toBe(1);
    expect(client.commits.map((c) => c.request.uploadId)).toEqual(['upload-stored']);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('rejects a file the system refuses for good only under a claim', async () => {
    setup();
    client.failNext(
      'commitUpload',
      apiError(400, { title: 'One or more validation errors occurred.', fieldErrors: { fileName: ['bad'] } }),
    );
    const outcome = await processObjectRecord(event(), 'msg-1', deps, FIRST);
    expect(outcome).toMatchObject({ status: 'rejected' });
    expect(deps.ledger.changes(refOf())).toEqual(['claimed transferred', 'rejected']);
    expect(client.allVersions()).toHaveLength(0);
  });

  it('never commits an older upload after a newer one: superseded, recorded, not committed', async () => {
    setup({ uploads: [OLDER, NEWER] });
    expect(await processObjectRecord(event(NEWER), 'msg-newer', deps, FIRST)).toMatchObject({ status: 'committed' });
    expect(await processObjectRecord(event(OLDER), 'msg-older', deps, FIRST)).toEqual({
      status: 'superseded',
      sequencer: OLDER.sequencer,
      newerSequencer: NEWER.sequencer,
    });
    expect(client.commits).toHaveLength(1);
    expect(deps.ledger.changes(refOf(OLDER))).toEqual(['claimed transferred', 'superseded']);
  });

  it('claims up front an object tagged as ingested, one uploaded long ago, and any redelivery', async () => {
    setup({ tags: [...TAGS, { Key: 'ingested:status', Value: 'superseded' }] });
    await processObjectRecord(event(), 'msg-1', deps, FIRST);
    expect(deps.ledger.changes(refOf())[0]).toBe('claimed');

    setup({ uploadedMsAgo: FRESH_UPLOAD_MS + 1 });
    await processObjectRecord(event(), 'msg-1', deps, FIRST);
    expect(deps.ledger.changes(refOf())[0]).toBe('claimed');

    setup();
    await processObjectRecord(event(), 'msg-1', deps, AGAIN);
    expect(deps.ledger.changes(refOf())[0]).toBe('claimed');

    setup();
    await processObjectRecord(event(), 'msg-1', deps);
    expect(deps.ledger.changes(refOf())[0]).toBe('claimed');
  });
});
