/**
 * Where files go and what stays behind, through the real ingest on the local stack: keys with
 * spaces and non-ASCII characters, routing rules for producers that cannot tag, the grace
 * period for objects tagged after the upload (on the simulated clock), and the `tag`
 * disposition that keeps the inbox object with the ingested ids.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestDependencies } from '../../functions/ingest/types.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import {
  HARBOUR,
  RIVERSIDE,
  ROUTE,
  documentsNamed,
  ledgerEntry,
  metadataOf,
  onlyDocumentNamed,
  purgeQueue,
  readObject,
  readRejection,
  resetEmulator,
  sampleBytes,
  sha256Hex,
  validTags,
} from '../helpers/ingest-scenarios.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(async () => {
  await purgeQueue(stack);
  resetEmulator(stack);
});

function messageIdFor(key: string): string {
  const sent = stack.notifications.lastFor(key);
  if (!sent) throw new Error(`no notification was sent for ${key}`);
  return sent.messageId;
}

/**
 * Ingest dependencies whose clock starts at the object's LastModified and moves with the
 * simulated clock, so the grace period counts exactly from the upload whatever earlier tests
 * did to the clock.
 */
async function depsWithClockAtUpload(key: string, versionId: string | undefined, graceSeconds: number): Promise<IngestDependencies> {
  const head = await stack.services.s3.client.send(
    new HeadObjectCommand({ Bucket: stack.services.inboxBucket, Key: key, VersionId: versionId }),
  );
  const uploadedAt = head.LastModified?.getTime();
  if (uploadedAt === undefined) throw new Error(`no LastModified for ${key}`);
  const clockAtUpload = stack.clock.now();
  return stack.createIngestDeps({
    config: { untaggedGraceSeconds: graceSeconds },
    now: () => new Date(uploadedAt + (stack.clock.now() - clockAtUpload)),
  });
}

describe('ingest routing and disposition on the local stack', () => {
  it('ingests a key with spaces, a plus sign and non-ASCII characters under its decoded name', async () => {
    const fileName = 'Plan + snitt ø (rev 2) – 日本語.pdf';
    const key = `inbox/it-routing/unicode keys/${fileName}`;
    const bytes = sampleBytes(fileName);
    const { versionId } = await stack.putInboxObject(key, bytes, validTags());

    // S3 URL-encodes the key in the event: spaces as "+", a literal "+" as "%2B".
    const body = JSON.parse(stack.notifications.lastFor(key)?.body ?? '{}') as { Records: { s3: { object: { key: string } } }[] };
    const encoded = body.Records[0]?.s3.object.key;
    expect(encoded).toBe(`inbox/it-routing/unicode+keys/Plan+%2B+snitt+%C3%B8+%28rev+2%29+%E2%80%93+%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf`);

    const report = await stack.drainIngest();
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const { document, versions } = onlyDocumentNamed(stack, fileName);
    expect(document.folderId).toBe(HARBOUR.folders.architectureDrawings);
    expect(versions).toHaveLength(1);
    expect(await stack.services.emulator.state.versionContent(versions[0]?.id ?? '')).toEqual({
      sha256: sha256Hex(bytes),
      size: bytes.length,
    });
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({
      state: 'committed',
      objectKey: key,
      versionIds: { documentId: document.id },
    });
    expect(await readObject(stack, key, versionId)).toBeUndefined();
  });

  it("routes an untagged object by its key prefix to the rule's binder, folder, metadata and version label", async () => {
    const deps = stack.createIngestDeps({
      config: {
        routingRules: [
          {
            prefix: 'inbox/it-routing/',
            target: { binderId: HARBOUR.binderId, folderPath: 'Contracts/Drafts', metadata: { discipline: 'ARC' } },
          },
          {
            prefix: 'inbox/it-routing/site-scanner/',
            target: {
              binderId: RIVERSIDE.binderId,
              folderPath: '02 Site/Inspections',
              metadata: { discipline: 'Geotechnical' },
              version: 'S1',
            },
          },
        ],
      },
    });
    const key = 'inbox/it-routing/site-scanner/Inspection 2025-03-14.pdf';
    const bytes = sampleBytes('routed by rule');
    const { versionId } = await stack.putInboxObject(key, bytes);

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    // The longest matching prefix wins; the label "Geotechnical" is committed as its id.
    const { document, versions } = onlyDocumentNamed(stack, 'Inspection 2025-03-14.pdf');
    expect(document).toMatchObject({ binderId: RIVERSIDE.binderId, folderId: RIVERSIDE.folders.siteInspections });
    expect(versions).toHaveLength(1);
    expect(versions[0]?.version).toBe('S1');
    expect(metadataOf(versions[0])).toEqual({ discipline: 'GEO' });
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({
      state: 'committed',
      target: { binderId: RIVERSIDE.binderId, folderId: RIVERSIDE.folders.siteInspections },
    });
  });

  it('lets tags on a routed object add metadata, change the folder and override the version label', async () => {
    const deps = stack.createIngestDeps({
      config: {
        routingRules: [
          {
            prefix: 'inbox/it-routing/erp/',
            target: { binderId: HARBOUR.binderId, folderPath: 'Contracts/Drafts', metadata: { discipline: 'ARC' }, version: 'A' },
          },
        ],
      },
    });
    const key = 'inbox/it-routing/erp/Contract 17.pdf';
    await stack.putInboxObject(key, sampleBytes('rule plus tags'), {
      'ibinder:folder': HARBOUR.folders.contractsSigned,
      'ibinder:meta:status': 'Approved',
      'ibinder:version': 'B',
    });

    const report = await stack.drainIngest({ deps });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const { document, versions } = onlyDocumentNamed(stack, 'Contract 17.pdf');
    expect(document.folderId).toBe(HARBOUR.folders.contractsSigned);
    expect(versions[0]?.version).toBe('B');
    expect(metadataOf(versions[0])).toEqual({ discipline: 'ARC', status: 'APPROVED' });
  });

  it('retries an untagged object during the grace period and rejects it as untagged once the period is over', async () => {
    const key = 'inbox/it-routing/untagged/Never tagged.pdf';
    const bytes = sampleBytes('never tagged');
    const { versionId } = await stack.putInboxObject(key, bytes);
    // Deliveries at 0, 120 and 240 s (the visibility timeout); the grace ends at 150 s.
    const deps = await depsWithClockAtUpload(key, versionId, 150);

    const report = await stack.drainIngest({ deps });
    const messageId = messageIdFor(key);
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[messageId], [messageId], []]);
    expect(report.deadLetters.map((d) => d.messageId)).not.toContain(messageId);
    expect(stack.services.emulator.calls.count(ROUTE.storagePut)).toBe(0);

    expect(await readObject(stack, key, versionId)).toBeUndefined();
    const { copy, report: rejection, rejectedKey } = await readRejection(stack, key);
    expect(copy?.bytes.equals(bytes)).toBe(true);
    expect(rejection?.problems).toEqual([
      expect.objectContaining({ code: 'untagged', field: 'ibinder:binder', fix: expect.stringContaining('within 150 s') }),
    ]);
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({ state: 'rejected', rejectedKey });
    expect(documentsNamed(stack, 'Never tagged.pdf')).toEqual([]);
  });

  it('ingests an object that its producer tags after the upload, within the grace period', async () => {
    const key = 'inbox/it-routing/untagged/Tagged a moment later.pdf';
    const bytes = sampleBytes('tagged later');
    const { versionId } = await stack.putInboxObject(key, bytes);
    const deps = await depsWithClockAtUpload(key, versionId, 150);

    const report = await stack.drainIngest({
      deps,
      beforeRound: async (round) => {
        if (round === 2) await stack.tagInboxObject(key, validTags({ 'ibinder:folder-path': '01 Architecture/Specifications' }), versionId);
      },
    });
    expect(report.invocations.map((i) => i.failedMessageIds)).toEqual([[messageIdFor(key)], []]);
    const { document, versions } = onlyDocumentNamed(stack, 'Tagged a moment later.pdf');
    expect(document.folderId).toBe(HARBOUR.folders.specifications);
    expect(versions).toHaveLength(1);
    expect((await readRejection(stack, key)).copy).toBeUndefined();
  });

  it('keeps the object with ingested:* tags in tag mode, and a redelivery after success makes no second version', async () => {
    const deps = stack.createIngestDeps({ config: { disposition: 'tag' } });
    const key = 'inbox/it-routing/tag-mode/Kept and tagged.pdf';
    const bytes = sampleBytes('tag disposition');
    const tags = validTags({ 'ibinder:version': 'P1' });
    const { versionId } = await stack.putInboxObject(key, bytes, tags);

    const first = await stack.drainIngest({ deps });
    expect(first.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    const { document, versions } = onlyDocumentNamed(stack, 'Kept and tagged.pdf');
    expect(versions).toHaveLength(1);
    const version = versions[0];
    expect(version?.version).toBe('P1');

    const expectedTags = {
      ...tags,
      'ingested:document-id': document.id,
      'ingested:version-id': version?.id,
      'ingested:status': 'committed',
      'ingested:connector': 'ibinder',
    };
    const kept = await readObject(stack, key, versionId);
    expect(kept?.bytes.equals(bytes)).toBe(true);
    expect(kept?.tags).toEqual(expectedTags);
    expect(await ledgerEntry(stack, key, versionId)).toMatchObject({
      state: 'committed',
      versionIds: { versionId: version?.id },
      versionLabel: 'P1',
    });

    // The same message again: the object is still there, the ledger says committed.
    stack.queue.send(stack.notifications.lastFor(key)?.body ?? '');
    const again = await stack.drainIngest({ deps });
    expect(again.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(stack.services.emulator.state.listVersions(document.id)).toHaveLength(1);
    expect(stack.services.emulator.calls.count(ROUTE.storagePut)).toBe(1);
    expect(stack.services.emulator.calls.count(ROUTE.commit)).toBe(1);
    expect((await readObject(stack, key, versionId))?.tags).toEqual(expectedTags);
  });
});
