/**
 * A destination whose commit is not idempotent (Bynder's save creates a version each time): the
 * flow records "commit under way" with `beforeCommit`'s context before the commit, and a claim
 * that finds that mark asks `findCommitted` first, recording what it finds instead of committing
 * again. Shown on the iBinder connector with its destination declared non-idempotent.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import type { CommitMarker, CommitPlan, CommittedVersion, ConnectorDestination } from '../../shared/connectors/types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import type { S3Tag } from '../../shared/s3/tags.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import {
  BINDER_ID,
  BINDERS,
  BUCKET,
  makeDeps,
  serveInboxObject,
  type TestDeps,
  withIBinderDestination,
} from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const KEY = 'inbox/Saved once.pdf';
const VERSION = 'v1';
const REF = { bucket: BUCKET, key: KEY, versionId: VERSION };
const CONTENT = Buffer.from('%PDF-1.7 saved once');
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

/** What reached the non-idempotent destination, and what a lookup finds. */
interface Journal {
  beforeCommit: { uploadId: string; marker: CommitMarker }[];
  commits: string[];
  lookups: { uploadId: string; context: Record<string, string> | undefined }[];
  /** Versions the "system" holds per marker token, as a lookup would find them. */
  saved: Map<string, CommittedVersion>;
}

function nonIdempotent(real: ConnectorDestination, journal: Journal, options: { crashAfterFirstCommit: boolean }): ConnectorDestination {
  return {
    commitIsIdempotent: false,
    prepareUpload: (plan) => real.prepareUpload(plan),
    transfer: (upload, body, plan, transferOptions) => real.transfer(upload, body, plan, transferOptions),
    async beforeCommit(_plan: CommitPlan, uploadId: string, marker: CommitMarker) {
      journal.beforeCommit.push({ uploadId, marker });
      return { versionCount: String(journal.commits.length) };
    },
    async commit(plan, uploadId, marker) {
      journal.commits.push(uploadId);
      const version = await real.commit(plan, uploadId, marker);
      journal.saved.set(marker.token, version);
      if (options.crashAfterFirstCommit && journal.commits.length === 1) throw new Error('simulated crash right after the save');
      return version;
    },
    async findCommitted(_plan, uploadId, marker, context) {
      journal.lookups.push({ uploadId, context });
      return journal.saved.get(marker.token);
    },
  };
}

let client: FakeIBinderClient;
let deps: TestDeps;
let journal: Journal;

function setup(options: { crashAfterFirstCommit: boolean }): void {
  client = new FakeIBinderClient(BINDERS);
  journal = { beforeCommit: [], commits: [], lookups: [], saved: new Map() };
  const base = makeDeps({ client, now: () => NOW });
  deps = withIBinderDestination(base, (real) => nonIdempotent(real, journal, options));
  serveInboxObject(s3, { key: KEY, versionId: VERSION, content: CONTENT, tags: TAGS });
}

beforeEach(() => {
  s3.reset();
});

describe('processObjectRecord: a commit that is not idempotent', () => {
  it('records "commit under way" with the context of beforeCommit, before the commit', async () => {
    setup({ crashAfterFirstCommit: false });
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: false, version: { connector: 'ibinder' } });
    expect(deps.ledger.changes(REF)).toEqual(['claimed', 'transferred', 'commit started', 'committed']);
    expect(journal.beforeCommit).toHaveLength(1);
    expect(journal.beforeCommit[0]?.marker.token).toMatch(/^[0-9a-f]{32}$/);
    expect(journal.lookups).toEqual([]);
  });

  it('after a crash after the save, finds what the interrupted commit created and records it: no second save', async () => {
    setup({ crashAfterFirstCommit: true });
    expect(await processObjectRecord(EVENT, 'msg-1', deps)).toMatchObject({ status: 'retry', reason: expect.stringContaining('commit') });
    const between = await deps.ledger.get(REF);
    expect(between).toMatchObject({ state: 'claimed', commitStarted: { context: { versionCount: '0' } } });

    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(journal.commits).toHaveLength(1);
    expect(journal.lookups).toEqual([{ uploadId: journal.commits[0], context: { versionCount: '0' } }]);
    expect(client.allVersions()).toHaveLength(1);
    const saved = [...journal.saved.values()][0];
    expect(await deps.ledger.get(REF)).toMatchObject({ state: 'committed', connector: 'ibinder', versionIds: saved?.ids });
  });

  it('commits again when the lookup finds nothing (the interrupted save never arrived)', async () => {
    setup({ crashAfterFirstCommit: true });
    await processObjectRecord(EVENT, 'msg-1', deps);
    journal.saved.clear();
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'committed', resumed: true });
    expect(journal.lookups).toHaveLength(1);
    expect(journal.commits).toHaveLength(2);
    expect(journal.beforeCommit).toHaveLength(2);
  });
});
