/**
 * Permanent failures through the real ingest on the local stack: each file is moved to
 * `rejected/` with its tags and a report that names the wrong field, the ledger records the
 * rejection, the message is acknowledged on its first delivery, and iBinder receives no bytes
 * and no commit.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Problem, ProblemCode } from '../../shared/ledger/types.js';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { reportKeyFor, unshortenedRejectedKeyFor, type RejectionReport } from '../../functions/ingest/rejection.js';
import { rejectedObjectKeys } from '../../cli/rejected-keys.js';
import { startLocalStack, type LocalStack } from '../helpers/local-stack.js';
import {
  HARBOUR,
  ROUTE,
  documentsNamed,
  ledgerEntry,
  purgeQueue,
  readObject,
  readRejection,
  resetEmulator,
  sampleBytes,
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

/**
 * Drops the object, drains the queue, and checks everything a rejection must leave behind.
 * Returns the report for the case-specific assertions.
 */
async function dropAndExpectRejection(
  key: string,
  body: Buffer,
  tags: Record<string, string> | undefined,
  fileName: string,
): Promise<{ report: RejectionReport; problems: Problem[] }> {
  const deadBefore = stack.queue.deadLetters.length;
  const rejectedBefore = stack.metrics.rejected.length;
  const { versionId } = await stack.putInboxObject(key, body, tags);
  expect(versionId).toBeDefined();

  const drain = await stack.drainIngest();
  // Acknowledged on the first delivery: retrying cannot cure a permanent problem.
  expect(drain.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
  expect(drain.drained).toBe(true);
  expect(stack.queue.deadLetters.length).toBe(deadBefore);

  // The inbox version is gone; the rejected copy has the same bytes and tags.
  expect(await readObject(stack, key, versionId)).toBeUndefined();
  const { copy, report, rejectedKey } = await readRejection(stack, key);
  expect(copy?.bytes.equals(body)).toBe(true);
  expect(copy?.tags).toEqual(tags ?? {});
  if (!report) throw new Error(`no rejection report for ${key}`);

  expect(report.object).toEqual({ bucket: stack.services.inboxBucket, key, versionId, size: body.length });
  const shortened = rejectedKey !== unshortenedRejectedKeyFor(key, stack.config.inboxPrefix, stack.config.rejectedPrefix);
  expect(report.rejectedCopy).toEqual({
    bucket: stack.services.inboxBucket,
    key: rejectedKey,
    ...(shortened ? { note: expect.stringContaining(`original key is object.key (${key})`) } : {}),
  });
  expect(report.environment).toBe('local');
  expect(report.problems.length).toBeGreaterThan(0);
  for (const problem of report.problems) {
    expect(problem.message).not.toBe('');
    expect(problem.fix).not.toBe('');
  }
  expect(report.howToRetry).toContain(`s3://${stack.services.inboxBucket}/${rejectedKey}`);
  expect(report.howToRetry).toContain(`s3://${stack.services.inboxBucket}/${key}`);

  // The ledger remembers the rejection with the same reasons, so a redelivery is a no-op.
  const entry = await ledgerEntry(stack, key, versionId);
  expect(entry).toMatchObject({ state: 'rejected', rejectedKey, reasons: report.problems });

  // iBinder got nothing.
  const { calls } = stack.services.emulator;
  expect(calls.count(ROUTE.presign)).toBe(0);
  expect(calls.count(ROUTE.storagePut)).toBe(0);
  expect(calls.count(ROUTE.commit)).toBe(0);
  expect(documentsNamed(stack, fileName)).toEqual([]);
  expect(stack.metrics.rejected.slice(rejectedBefore)).toEqual([report.problems[0]?.code as ProblemCode]);

  return { report, problems: report.problems };
}

describe('ingest rejections on the local stack', () => {
  it("rejects an unknown binder (folder by path) with iBinder's 404 in the report", async () => {
    const { report, problems } = await dropAndExpectRejection(
      'inbox/it-rejections/unknown-binder/Site plan.pdf',
      sampleBytes('unknown binder'),
      validTags({ 'ibinder:binder': 'NOSUCHBIN' }),
      'Site plan.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'target',
        field: 'ibinder:binder',
        message: expect.stringMatching(/binder "NOSUCHBIN" does not exist.*404/),
      }),
    ]);
    expect(report.refusal).toMatchObject({ connector: 'ibinder', status: 404 });
    expect(report.howToRetry).toContain('ibinder:binder');
  });

  it('rejects an unknown binder given with a folder id (found when looking for the folder in it, before any upload)', async () => {
    const { report, problems } = await dropAndExpectRejection(
      'inbox/it-rejections/unknown-binder-by-id/Section.pdf',
      sampleBytes('unknown binder by id'),
      { 'ibinder:binder': 'NOSUCHBIN', 'ibinder:folder': HARBOUR.folders.architectureDrawings, 'ibinder:meta:discipline': 'ARC' },
      'Section.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({ code: 'target', field: 'ibinder:binder', message: expect.stringContaining('NOSUCHBIN') }),
    ]);
    expect(report.refusal).toMatchObject({ connector: 'ibinder', status: 404 });
    // No target resolved: the folder is looked for in the binder before any byte moves, and the binder is not there.
    expect(report.target).toBeUndefined();
  });

  it('rejects a metadata element the binder does not have, listing the elements it has', async () => {
    const { report, problems } = await dropAndExpectRejection(
      'inbox/it-rejections/unknown-element/Colour scheme.pdf',
      sampleBytes('unknown element'),
      validTags({ 'ibinder:meta:colour': 'red' }),
      'Colour scheme.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'metadata',
        field: 'ibinder:meta:colour',
        message: expect.stringContaining(`"colour" is not a metadata element of binder ${HARBOUR.binderId}`),
        fix: expect.stringContaining('discipline (Discipline)'),
      }),
    ]);
    expect(report.target).toMatchObject({ binderId: HARBOUR.binderId, folderPath: '01 Architecture/Drawings' });
  });

  it("rejects a value that is not among the element's allowed values, listing the allowed ones", async () => {
    const { problems } = await dropAndExpectRejection(
      'inbox/it-rejections/value-not-allowed/Plumbing riser.pdf',
      sampleBytes('value not allowed'),
      validTags({ 'ibinder:meta:discipline': 'PLUMBING' }),
      'Plumbing riser.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'metadata',
        field: 'ibinder:meta:discipline',
        message: expect.stringContaining('"PLUMBING" is not an allowed value of "Discipline" (discipline)'),
        fix: expect.stringContaining('ARC (Architecture)'),
      }),
    ]);
  });

  it('rejects a file that lacks a required metadata element', async () => {
    const tags = validTags();
    delete tags['ibinder:meta:discipline'];
    const { problems } = await dropAndExpectRejection(
      'inbox/it-rejections/missing-required/No discipline.pdf',
      sampleBytes('missing required'),
      tags,
      'No discipline.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({
        code: 'metadata',
        field: 'ibinder:meta:discipline',
        message: expect.stringContaining('"Discipline" (discipline) is required'),
      }),
    ]);
  });

  it('rejects an ibinder:filename with a path separator', async () => {
    const { problems } = await dropAndExpectRejection(
      'inbox/it-rejections/bad-name/scan-0001.pdf',
      sampleBytes('slash in name'),
      validTags({ 'ibinder:filename': 'drawings/A-301.pdf' }),
      'drawings/A-301.pdf',
    );
    expect(problems).toEqual([
      expect.objectContaining({ code: 'file-name', field: 'ibinder:filename', message: expect.stringContaining('path separator') }),
    ]);
    expect(documentsNamed(stack, 'scan-0001.pdf')).toEqual([]);
  });

  it('rejects a key whose file name has a control character (S3 tags cannot carry one)', async () => {
    const fileName = 'Bell\u0007 drawing.pdf';
    const { problems } = await dropAndExpectRejection(
      `inbox/it-rejections/control-char/${fileName}`,
      sampleBytes('control character'),
      validTags(),
      fileName,
    );
    expect(problems).toEqual([
      expect.objectContaining({ code: 'file-name', field: 'key', message: expect.stringContaining('control characters') }),
    ]);
  });

  it('rejects an empty (0-byte) file, keeping the empty copy', async () => {
    const { report, problems } = await dropAndExpectRejection(
      'inbox/it-rejections/empty/Empty scan.pdf',
      Buffer.alloc(0),
      validTags(),
      'Empty scan.pdf',
    );
    expect(problems).toEqual([expect.objectContaining({ code: 'empty-file', field: 'size' })]);
    expect(report.object.size).toBe(0);
    expect(report.howToRetry).toMatch(/replace the file itself/i);
  });

  it('reports every problem of one file at once, so one round of fixes is enough', async () => {
    const { problems } = await dropAndExpectRejection(
      'inbox/it-rejections/several/Several.pdf',
      Buffer.alloc(0),
      validTags({ 'ibinder:meta:discipline': 'PLUMBING', 'ibinder:meta:colour': 'red', 'ibinder:filename': 'a/b.pdf' }),
      'a/b.pdf',
    );
    expect(problems.map((p) => `${p.code} ${p.field}`).sort()).toEqual(
      ['empty-file size', 'file-name ibinder:filename', 'metadata ibinder:meta:colour', 'metadata ibinder:meta:discipline'].sort(),
    );
  });

  it("rejects a file whose rejected/ key would pass S3's 1,024-byte limit under a shortened key that a person and the CLI still find", async () => {
    // A valid inbox key of 1,020 bytes: rejected/<rest>.error.json would be 1,034.
    const folder = `inbox/it-rejections/long-key/${'Prosjektering '.repeat(30).trim()}`;
    const fileName = `${'ø'.repeat(Math.floor((1020 - folder.length - '/.pdf'.length) / 2))}.pdf`;
    const key = `${folder}/${fileName}`;
    expect(Buffer.byteLength(key, 'utf8')).toBeLessThanOrEqual(1024);
    expect(Buffer.byteLength(reportKeyFor(unshortenedRejectedKeyFor(key, 'inbox/', 'rejected/')), 'utf8')).toBeGreaterThan(1024);

    const { report } = await dropAndExpectRejection(
      key,
      sampleBytes('long key'),
      validTags({ 'ibinder:meta:discipline': 'PLUMBING' }),
      fileName,
    );
    expect(report.object.key).toBe(key);
    expect(report.rejectedCopy.key).toMatch(/^rejected\/it-rejections\/long-key\/Prosjektering .*~[0-9a-f]{16}$/);
    expect(report.howToRetry).toContain(`s3://${stack.services.inboxBucket}/${key}`);

    // A person listing rejected/ sees the copy and its report side by side.
    const listed = await stack.services.s3.client.send(
      new ListObjectsV2Command({ Bucket: stack.services.inboxBucket, Prefix: 'rejected/it-rejections/long-key/' }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toEqual([report.rejectedCopy.key, reportKeyFor(report.rejectedCopy.key)]);
    // The CLI, given the original key, finds both.
    expect(rejectedObjectKeys(key, stack.config)).toMatchObject({
      rejectedKey: report.rejectedCopy.key,
      reportKey: reportKeyFor(report.rejectedCopy.key),
      inboxKey: key,
    });
  });

  it('acknowledges a redelivery of a rejected object without a second report or any iBinder call', async () => {
    const key = 'inbox/it-rejections/redelivered/Rejected twice.pdf';
    await dropAndExpectRejection(key, Buffer.alloc(0), validTags(), 'Rejected twice.pdf');
    const first = await readRejection(stack, key);
    resetEmulator(stack);

    stack.queue.send(stack.notifications.lastFor(key)?.body ?? '');
    const again = await stack.drainIngest();
    expect(again.invocations.map((i) => i.failedMessageIds)).toEqual([[]]);
    expect(stack.services.emulator.calls.total('api')).toBe(0);
    const second = await readRejection(stack, key);
    expect(second.report).toEqual(first.report);
  });
});
