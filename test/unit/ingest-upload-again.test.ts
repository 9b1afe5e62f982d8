/**
 * "Upload again": the system lost the stored upload (Bynder's 404 "Import ID not found" at the
 * save), which its connector classifies as transient with `uploadAgain`. The flow sends the bytes
 * again with the same plan, once per delivery, and for a commit that is not idempotent only after
 * `findCommitted` found nothing for the lost upload, so that no second version comes of it.
 * Shown on the iBinder connector with a non-idempotent destination and a classifier that knows
 * the fake's "upload gone" error.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import type { CommitMarker, CommittedVersion, ConnectorDestination, IngestConnector } from '../../shared/connectors/types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, BUCKET, makeDeps, serveInboxObject, type TestDeps } from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const KEY = 'inbox/Uploaded twice.pdf';
const VERSION = 'v1';
const REF = { bucket: BUCKET, key: KEY, versionId: VERSION };
const CONTENT = Buffer.from('%PDF-1.7 uploaded twice');
const NOW = new Date('2025-01-15T09:00:00Z');
const TAGS: S3Tag[] = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
  { Key: 'ibinder:meta:discipline', Value: 'Structural' },
];
const EVENT: S3ObjectEvent = {
  eventName: 'ObjectCreated:Put',
  created: true,
  bucket: BUCKET,
  key: KEY,
  rawKey: encodeURIComponent(KEY),
  versionId: VERSION,
  size: CONTENT.length,
  source: 's3',
};

/** The system's answer to a commit of an upload it no longer holds. */
class UploadGoneError extends Error {
  override readonly name = 'UploadGoneError';
}

/** What a test makes the destination do, and what reached it. */
interface Script {
  /** Commits that answer "upload gone" (without saving) before one works. */
  goneCommits: number;
  /** Commits that save, then answer "upload gone" (a save that went through, and a lost answer saying otherwise). */
  savedThenGone: number;
  /** The first beforeCommit crashes (after the transfer, before the mark). */
  crashBeforeMark: boolean;
  /** The first commit crashes without saving (after the mark). */
  crashAfterMark: boolean;
  prepared: string[];
  commits: string[];
  lookups: { uploadId: string; context: Record<string, string> | undefined }[];
  saved: Map<string, CommittedVersion>;
}

function script(overrides: Partial<Script> = {}): Script {
  return {
    goneCommits: 0,
    savedThenGone: 0,
    crashBeforeMark: false,
    crashAfterMark: false,
    prepared: [],
    commits: [],
    lookups: [],
    saved: new Map(),
    ...overrides,
  };
}

function scripted(real: ConnectorDestination, s: Script): ConnectorDestination {
  return {
    commitIsIdempotent: false,
    async prepareUpload(plan) {
      const upload = await real.prepareUpload(plan);
      s.prepared.push(upload.uploadId);
      return upload;
    },
    transfer: (upload, body, plan, options) => real.transfer(upload, body, plan, options),
    async beforeCommit(_plan, uploadId: string, _marker: CommitMarker) {
      if (s.crashBeforeMark) {
        s.crashBeforeMark = false;
        throw new Error('simulated crash after the transfer, before the save');
      }
      return { startedFor: uploadId };
    },
    async commit(plan, uploadId, marker) {
      s.commits.push(uploadId);
      if (s.crashAfterMark) {
        s.crashAfterMark = false;
        throw new Error('simulated crash after the mark, before the save was sent');
      }
      if (s.goneCommits > 0) {
        s.goneCommits -= 1;
        throw new UploadGoneError(`upload ${uploadId} not found`);
      }
      const version = await real.commit(plan, uploadId, marker);
      s.saved.set(marker.token, version);
      if (s.savedThenGone > 0) {
        s.savedThenGone -= 1;
        throw new UploadGoneError(`upload ${uploadId} not found`);
      }
      return version;
    },
    async findCommitted(_plan, uploadId, marker, context) {
      s.lookups.push({ uploadId, context });
      return s.saved.get(marker.token);
    },
  };
}

let client: FakeIBinderClient;
let deps: TestDeps;

function setup(s: Script): void {
  client = new FakeIBinderClient(BINDERS);
  const base = makeDeps({ client, now: () => NOW });
  const connectors = base.connectors.map(
    (c): IngestConnector =>
      c.name !== 'ibinder'
        ? c
        : {
            ...c,
            destination: scripted(c.destination, s),
            classify: (err, step) =>
              err instanceof UploadGoneError
                ? { kind: 'transient', uploadAgain: true, reason: `the upload is gone: ${err.message}` }
                : c.classify(err, step),
          },
  );
  deps = { ...base, connectors } as TestDeps;
  serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags: TAGS });
}

beforeEach(() => {
  s3.reset();
});

describe('processObjectRecord: the stored upload is gone at the system', () => {
  it('at a fresh commit: asks findCommitted, finds nothing, uploads once more and commits one version', async () => {
    const s = script({ goneCommits: 1 });
    setup(s);
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(s.prepared).toHaveLength(2);
    expect(s.commits).toEqual([s.prepared[0], s.prepared[1]]);
    expect(s.lookups).toEqual([{ uploadId: s.prepared[0], context: { startedFor: s.prepared[0] } }]);
    expect(client.allVersions()).toHaveLength(1);
    expect(deps.ledger.changes(REF)).toEqual(['claimed', 'transferred', 'commit started', 'transferred', 'commit started', 'committed']);
    // The ledger names the upload the commit took its bytes from, not the lost one.
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'committed', uploadId: s.prepared[1] });
  });

  it('when the refused save had gone through after all, records what it created and uploads nothing again', async () => {
    const s = script({ savedThenGone: 1 });
    setup(s);
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed' });
    expect(s.prepared).toHaveLength(1);
    expect(s.commits).toHaveLength(1);
    expect(s.lookups).toHaveLength(1);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('on a resume after a crash before the mark: the save is refused, findCommitted finds nothing, the bytes go again: one version', async () => {
    const s = script({ crashBeforeMark: true, goneCommits: 1 });
    setup(s);
    expect(await processObjectRecord(EVENT, 'msg-1', deps)).toMatchObject({ status: 'retry' });
    expect(s.commits).toEqual([]);

    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(s.prepared).toHaveLength(2);
    expect(s.commits).toEqual([s.prepared[0], s.prepared[1]]);
    expect(s.lookups.map((l) => l.uploadId)).toEqual([s.prepared[0]]);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('on a resume with a mark: the lookup before the save counts, no second lookup before uploading again', async () => {
    const s = script({ crashAfterMark: true, goneCommits: 1 });
    setup(s);
    expect(await processObjectRecord(EVENT, 'msg-1', deps)).toMatchObject({ status: 'retry' });
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'claimed', commitStarted: { uploadId: s.prepared[0] } });

    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(s.lookups.map((l) => l.uploadId)).toEqual([s.prepared[0]]);
    expect(s.commits).toEqual([s.prepared[0], s.prepared[0], s.prepared[1]]);
    expect(client.allVersions()).toHaveLength(1);
  });

  it('uploads again at most once per delivery: a second loss goes back to the queue, and the next delivery finishes', async () => {
    const s = script({ goneCommits: 2 });
    setup(s);
    const first = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(first).toMatchObject({ status: 'retry', reason: expect.stringContaining('the upload is gone') });
    expect(s.prepared).toHaveLength(2);
    expect(client.allVersions()).toHaveLength(0);

    expect(await processObjectRecord(EVENT, 'msg-1', deps)).toMatchObject({ status: 'committed' });
    expect(client.allVersions()).toHaveLength(1);
  });

  it('a transient failure without uploadAgain is retried as it is: no second upload', async () => {
    const s = script({ crashAfterMark: true });
    setup(s);
    expect(await processObjectRecord(EVENT, 'msg-1', deps)).toMatchObject({ status: 'retry' });
    expect(s.prepared).toHaveLength(1);
    expect(s.lookups).toEqual([]);
  });
});
