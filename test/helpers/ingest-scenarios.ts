/**
 * Scenario helpers for the ingest integration tests on the local stack: valid tags for the
 * seeded tenant, reads of what the ingest left behind (the inbox object, the `rejected/` copy
 * and its report, the ledger entry, the emulator's documents), a deterministic large body, and
 * a queue purge between tests. They read state; they never stand in for the code under test.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { DEFAULT_SEED_IDS } from '../../emulator/seed.js';
import type { DocumentRecord, VersionRecord } from '../../emulator/types.js';
import { rejectedKeyFor, reportKeyFor, type RejectionReport } from '../../functions/ingest/rejection.js';
import type { LedgerEntry, ObjectRef } from '../../shared/ledger/types.js';
import type { LocalStack } from './local-stack.js';

export const HARBOUR = DEFAULT_SEED_IDS.harbourOffice;
export const RIVERSIDE = DEFAULT_SEED_IDS.riversideHousing;

/** The emulator's route templates the assertions count. */
export const ROUTE = {
  token: 'POST /connect/token',
  presign: 'GET /documents/uploads/personalstorage/presignedupload',
  storagePut: 'PUT /storage/upload/{uploadId}',
  commit: 'POST /documents/drives/{domain}/{id}/{folderId}/upload',
} as const;

/** Tags that the default seed accepts: binder, folder by path, the required discipline. */
export function validTags(overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    'ibinder:binder': HARBOUR.binderId,
    'ibinder:folder-path': '01 Architecture/Drawings',
    'ibinder:meta:discipline': 'ARC',
    ...overrides,
  };
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A small PDF-looking body, distinct per label so that checksums tell files apart. */
export function sampleBytes(label: string, size = 4096): Buffer {
  const head = Buffer.from(`%PDF-1.4\n% ${label}\n`);
  const fill = Buffer.alloc(Math.max(0, size - head.length - 7), label.length % 251);
  return Buffer.concat([head, fill, Buffer.from('\n%%EOF\n')]);
}

/**
 * `size` pseudo-random bytes (xorshift32 from `seed`), generated chunk by chunk: the same
 * arguments always give the same bytes, and no more than one chunk is held at a time.
 */
export function generatedStream(size: number, seed = 0x9e3779b9, chunkSize = 64 * 1024): Readable {
  let state = seed >>> 0 || 1;
  let produced = 0;
  return new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const length = Math.min(chunkSize, size - produced);
      const words = new Uint32Array(Math.ceil(length / 4));
      for (let i = 0; i < words.length; i += 1) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        words[i] = state >>> 0;
      }
      produced += length;
      this.push(Buffer.from(words.buffer, 0, length));
    },
  });
}

export async function sha256OfStream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    size += buffer.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Acknowledges whatever an earlier (failed) test left in the queue, so tests stay independent. */
export async function purgeQueue(stack: LocalStack): Promise<void> {
  if (stack.queue.isEmpty()) return;
  await stack.queue.drainWithLambda(async () => ({ batchItemFailures: [] }), { maxRounds: 100 });
}

/** Forgets the emulator's faults and call counts. */
export function resetEmulator(stack: LocalStack): void {
  stack.services.emulator.faults.clear();
  stack.services.emulator.calls.reset();
}

export interface StoredObject {
  versionId: string | undefined;
  bytes: Buffer;
  tags: Record<string, string>;
}

/** An object of the inbox bucket (any version or the latest), or undefined when it is gone. */
export async function readObject(stack: LocalStack, key: string, versionId?: string): Promise<StoredObject | undefined> {
  const { s3, inboxBucket } = stack.services;
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: inboxBucket, Key: key, VersionId: versionId }));
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
  const got = await s3.client.send(new GetObjectCommand({ Bucket: inboxBucket, Key: key, VersionId: versionId }));
  const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? new Uint8Array());
  const tagging = await s3.client.send(new GetObjectTaggingCommand({ Bucket: inboxBucket, Key: key, VersionId: versionId }));
  const tags = Object.fromEntries((tagging.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  return { versionId: got.VersionId, bytes, tags };
}

/** Where the ingest puts the rejected copy of an inbox key, and its report. */
export function rejectedKeys(stack: LocalStack, key: string): { rejectedKey: string; reportKey: string } {
  const rejectedKey = rejectedKeyFor(key, stack.config.inboxPrefix, stack.config.rejectedPrefix);
  return { rejectedKey, reportKey: reportKeyFor(rejectedKey) };
}

/** The rejected copy and its parsed `.error.json`; undefined for either that does not exist. */
export async function readRejection(
  stack: LocalStack,
  key: string,
): Promise<{ copy: StoredObject | undefined; report: RejectionReport | undefined; rejectedKey: string; reportKey: string }> {
  const { rejectedKey, reportKey } = rejectedKeys(stack, key);
  const copy = await readObject(stack, rejectedKey);
  const reportObject = await readObject(stack, reportKey);
  const report = reportObject ? (JSON.parse(reportObject.bytes.toString('utf8')) as RejectionReport) : undefined;
  return { copy, report, rejectedKey, reportKey };
}

export function inboxRef(stack: LocalStack, key: string, versionId: string | undefined): ObjectRef {
  return { bucket: stack.services.inboxBucket, key, versionId };
}

export function ledgerEntry(stack: LocalStack, key: string, versionId: string | undefined): Promise<LedgerEntry | undefined> {
  return stack.ingestDeps.ledger.get(inboxRef(stack, key, versionId));
}

/** Every document of the tenant with this file name (in any folder). */
export function documentsNamed(stack: LocalStack, fileName: string): DocumentRecord[] {
  return stack.services.emulator.state.listDocuments().filter((d) => d.fileName === fileName);
}

/** The only document with this file name and its versions; throws when there is not exactly one. */
export function onlyDocumentNamed(stack: LocalStack, fileName: string): { document: DocumentRecord; versions: VersionRecord[] } {
  const found = documentsNamed(stack, fileName);
  if (found.length !== 1) throw new Error(`expected one document named ${JSON.stringify(fileName)} in the emulator, found ${found.length}`);
  const document = found[0] as DocumentRecord;
  return { document, versions: stack.services.emulator.state.listVersions(document.id) };
}

/** A version's custom metadata as `{ elementId: valueId }`; undefined for no version. */
export function metadataOf(version: Pick<VersionRecord, 'metadata'> | undefined): Record<string, string> | undefined {
  return version && Object.fromEntries(version.metadata.map((m) => [m.metadataElementId, m.valueId]));
}
