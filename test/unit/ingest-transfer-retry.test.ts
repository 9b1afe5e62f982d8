/**
 * A storage fault during the transfer is retried within the delivery: the record commits in the
 * same invocation, with the S3 version re-opened for each attempt, and a replaced upload URL's
 * new upload id recorded in the ledger before its bytes are sent and committed.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { processBatch } from '../../functions/ingest/batch.js';
import { IBinderDestination } from '../../shared/connectors/ibinder/destination.js';
import { PresignedStorageError } from '../../shared/connectors/ibinder/client/http.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import {
  BINDER_ID,
  BINDERS,
  BUCKET,
  lambdaClock,
  makeConfig,
  makeDeps,
  s3NotificationBody,
  serveInboxObject,
  sqsEvent,
  sqsMessage,
  type TestDeps,
} from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const TAGS = [
  { Key: 'ibinder:binder', Value: BINDER_ID },
  { Key: 'ibinder:folder-path', Value: 'Reports' },
  { Key: 'ibinder:meta:discipline', Value: 'd-arch' },
];
const KEY = 'inbox/report.pdf';
const CONTENT = 'a report, sent whole on every attempt';

let client: FakeIBinderClient;

function storageError(status: number): PresignedStorageError {
  const request = { method: 'PUT', path: '/upload/upload-1' };
  const kind = status >= 500 ? 'transient' : 'permanent';
  return new PresignedStorageError(
    `presigned storage PUT ${request.path} answered ${status}`,
    kind,
    request,
    status,
    undefined,
    {},
    undefined,
    undefined,
  );
}

function setup(): TestDeps {
  client = new FakeIBinderClient(BINDERS);
  const deps = makeDeps({ client, config: makeConfig(), now: () => new Date('2025-01-15T09:00:00Z') });
  deps.destination = new IBinderDestination(client, { retry: { sleep: () => Promise.resolve() } });
  serveInboxObject(s3, { key: KEY, versionId: 'v1', content: CONTENT, tags: TAGS });
  return deps;
}

const event = () => sqsEvent(sqsMessage(s3NotificationBody([{ rawKey: KEY, versionId: 'v1' }]), 'msg-1'));

beforeEach(() => s3.reset());

describe('ingest: storage faults retried within the delivery', () => {
  it('commits in the same invocation after storage answered 503 twice, sending the bytes read once again for each attempt', async () => {
    const deps = setup();
    client.failNext('putPresigned', storageError(503), storageError(503));
    const result = await processBatch(event(), lambdaClock(), deps);
    expect(result.batchItemFailures).toEqual([]);
    expect(client.commits).toHaveLength(1);
    expect(client.transfers.map((t) => t.content.toString())).toEqual([CONTENT]);
    // A small object is read once: each attempt re-opens the bytes from memory, not from S3.
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(client.callCount('putPresigned')).toBe(3);
    expect(deps.metrics.retried).toBe(0);
  });

  it('records only the upload id the bytes went to after a replaced (expired) URL, and commits that one', async () => {
    const deps = setup();
    const recordTransfer = vi.spyOn(deps.ledger, 'recordTransfer');
    const claimTransferred = vi.spyOn(deps.ledger, 'claimTransferred');
    client.failNext('putPresigned', storageError(403));
    const result = await processBatch(event(), lambdaClock(), deps);
    expect(result.batchItemFailures).toEqual([]);
    const recorded = [...recordTransfer.mock.calls, ...claimTransferred.mock.calls].map((call) => call[2].uploadId);
    expect(recorded).toEqual(['upload-2']);
    expect(client.transfers.map((t) => t.uploadId)).toEqual(['upload-2']);
    expect(client.commits.map((c) => c.request.uploadId)).toEqual(['upload-2']);
    const entry = await deps.ledger.get({ bucket: BUCKET, key: KEY, versionId: 'v1' });
    expect(entry).toMatchObject({ state: 'committed' });
  });
});
