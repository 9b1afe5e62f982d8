/**
 * The flow decides by the connector's classification alone: a permanent refusal of a lookup
 * rejects the file with the system's refusal in the report; a throttled one retries the record
 * no earlier than the system allows and counts the connector's throttling.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { processObjectRecord } from '../../functions/ingest/process-record.js';
import type { RejectionReport } from '../../functions/ingest/rejection.js';
import type { IngestConnector } from '../../shared/connectors/types.js';
import type { S3ObjectEvent } from '../../shared/s3/event.js';
import { FakeIBinderClient } from '../helpers/fake-ibinder.js';
import { BINDER_ID, BINDERS, BUCKET, makeDeps, serveInboxObject, type TestDeps } from '../helpers/ingest-factories.js';

const s3 = mockClient(S3Client);
const KEY = 'inbox/Refused.pdf';
const CONTENT = Buffer.from('%PDF-1.7 refused');
const NOW = new Date('2025-01-15T09:00:00Z');
const EVENT: S3ObjectEvent = {
  eventName: 'ObjectCreated:Put',
  created: true,
  bucket: BUCKET,
  key: KEY,
  rawKey: encodeURIComponent(KEY),
  versionId: 'v1',
  size: CONTENT.length,
  source: 's3',
};

/** The test dependencies with the iBinder connector's parts replaced. */
function withConnector(deps: TestDeps, change: (real: IngestConnector) => Partial<IngestConnector>): TestDeps {
  const connectors = deps.connectors.map((c) => ({ ...c, ...change(c) }));
  return Object.assign(Object.create(Object.getPrototypeOf(deps)) as TestDeps, deps, { connectors });
}

let client: FakeIBinderClient;
let deps: TestDeps;

beforeEach(() => {
  s3.reset();
  client = new FakeIBinderClient(BINDERS);
  deps = makeDeps({ client, now: () => NOW });
  serveInboxObject(s3, {
    key: KEY,
    versionId: 'v1',
    content: CONTENT,
    tags: [
      { Key: 'ibinder:binder', Value: BINDER_ID },
      { Key: 'ibinder:folder-path', Value: 'Drawings/Structural' },
      { Key: 'ibinder:meta:discipline', Value: 'Structural' },
    ],
  });
});

describe('processObjectRecord: what the connector classifies', () => {
  it('rejects the file when the system refuses a lookup for good, with its refusal in the report', async () => {
    deps = withConnector(deps, () => ({
      assess: async () => {
        throw new Error('the portal said 404 for this brand');
      },
      classify: (_err, step) => ({
        kind: 'permanent',
        problems: [{ code: 'refused', field: 'ibinder', message: `refused at ${step}`, fix: 'check the target' }],
        refusal: { connector: 'ibinder', status: 404, requestId: 'req-1' },
      }),
    }));
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toMatchObject({ status: 'rejected', problems: [{ code: 'refused', message: 'refused at resolve' }] });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    const report = JSON.parse(String(put?.Body)) as RejectionReport;
    expect(report).toMatchObject({ connector: 'ibinder', refusal: { connector: 'ibinder', status: 404, requestId: 'req-1' } });
    expect(deps.metrics.rejected).toEqual(['refused']);
  });

  it('retries a throttled record no earlier than the system asks, and counts it for the connector', async () => {
    deps = withConnector(deps, (real) => ({
      destination: {
        ...real.destination,
        prepareUpload: async () => {
          throw new Error('blocked');
        },
      },
      classify: () => ({ kind: 'throttled', reason: 'the portal blocks the integration', retryAfterMs: 300_000 }),
    }));
    const outcome = await processObjectRecord(EVENT, 'msg-1', deps);
    expect(outcome).toEqual({ status: 'retry', reason: 'presign: the portal blocks the integration', retryAfterSeconds: 300 });
    expect(deps.metrics.throttled).toEqual(['ibinder']);
    expect(deps.metrics.retried).toBe(1);
    expect(client.callCount('createPresignedUpload')).toBe(0);
  });
});
