/**
 * The Bynder benches' pure figures: the naive call count of an export run, the verification of
 * an upload from what the fast endpoint recorded, and the checks the report prints.
 */
import { describe, expect, it } from 'vitest';
import type { BynderExportCallsResult, BynderExportMemoryRun } from '../../bench/bynder-export-bench.js';
import { fewestListCalls, naiveExportCalls } from '../../bench/bynder-naive-calls.js';
import { bynderExportCallsSection, bynderExportMemorySection, bynderUploadSection } from '../../bench/bynder-report.js';
import { chunkCountOf, type BynderUploadSizeResult, uploadProblems } from '../../bench/bynder-upload-bench.js';
import type { MemoryPeak } from '../../bench/protocol.js';
import { spread } from '../../bench/statistics.js';

const MIB = 1024 * 1024;
const memory = (maxRssMib: number): MemoryPeak => ({
  maxRssBytes: maxRssMib * MIB,
  peakHeapAndExternalBytes: 0,
  peakArrayBuffersBytes: 0,
  samples: 1,
});

describe('the naive call count of a Bynder export run', () => {
  it('is the list calls made plus one versions call per asset; 5,000 assets fit in 5 pages of 1,000', () => {
    expect(fewestListCalls(5000)).toBe(5);
    expect(fewestListCalls(5001)).toBe(6);
    expect(fewestListCalls(0)).toBe(1);
    expect(fewestListCalls(10, 3)).toBe(4);
    expect(naiveExportCalls(5000, 6)).toBe(5006);
    expect(naiveExportCalls(5000, 1)).toBe(5001);
  });

  it('refuses counts that are not whole numbers', () => {
    expect(() => fewestListCalls(-1)).toThrow(/asset count/);
    expect(() => fewestListCalls(10, 0)).toThrow(/page size/);
    expect(() => naiveExportCalls(1.5, 1)).toThrow(/asset count/);
  });
});

describe('an upload verified from what the endpoint recorded', () => {
  const expected = { bytes: 11 * MIB, chunks: chunkCountOf(11 * MIB), sha256: 'a'.repeat(64) };
  const complete = {
    bytes: 11 * MIB,
    chunks: 3,
    chunksWithoutSha256: 0,
    highestChunk: 2,
    finalised: { fileName: 'f.bin', fileSize: 11 * MIB, chunksCount: 3, sha256: 'a'.repeat(64) },
  };

  it('counts chunks of 5 MiB, an empty file as one', () => {
    expect(chunkCountOf(11 * MIB)).toBe(3);
    expect(chunkCountOf(10 * MIB)).toBe(2);
    expect(chunkCountOf(0)).toBe(1);
  });

  it('passes a complete upload and names each difference', () => {
    expect(uploadProblems(complete, expected, 'u')).toEqual([]);
    expect(uploadProblems(undefined, expected, 'u')).toEqual(['u: the endpoint has no record of its file id']);
    const short = uploadProblems({ ...complete, bytes: 10 * MIB, chunksWithoutSha256: 1 }, expected, 'u');
    expect(short.join('\n')).toMatch(/10485760 bytes received, 11534336 sent/);
    expect(short.join('\n')).toMatch(/1 chunks without a Content-SHA256 header/);
    const wrongHash = uploadProblems({ ...complete, finalised: { ...complete.finalised, sha256: 'b'.repeat(64) } }, expected, 'u');
    expect(wrongHash).toHaveLength(1);
    expect(wrongHash[0]).toMatch(/finalise named SHA-256 b+, the source's is a+/);
    const unfinalised = uploadProblems({ ...complete, finalised: undefined }, expected, 'u');
    expect(unfinalised).toEqual(['u: never finalised']);
  });
});

describe('the Bynder report rows', () => {
  function uploadSize(label: string, bytes: number, uploadMs: number, rssMib: number): BynderUploadSizeResult {
    const pair = { copy: { ms: 1000, cpuMs: 500, memory: memory(150) }, upload: { ms: uploadMs, cpuMs: 900, memory: memory(rssMib) } };
    return {
      label,
      bytes,
      pairs: [pair, pair, pair],
      throughputRatio: spread([1000 / uploadMs, 1000 / uploadMs, 1000 / uploadMs]),
      problems: [],
    };
  }

  it('checks the upload throughput against the copy and the large upload memory against the small', () => {
    const passing = bynderUploadSection([uploadSize('10MiB', 10 * MIB, 100, 160), uploadSize('1GiB', 1024 * MIB, 1100, 190)]);
    expect(passing.checks.map((c) => [c.pass, c.value, c.target])).toEqual([
      [true, '0.91 [0.91-0.91]', '>= 0.8'],
      [true, '1.19', '<= 1.25'],
      [true, 'equal', 'equal'],
    ]);
    const failing = bynderUploadSection([uploadSize('10MiB', 10 * MIB, 100, 160), uploadSize('1GiB', 1024 * MIB, 3000, 230)]);
    expect(failing.checks.map((c) => c.pass)).toEqual([false, false, true]);
    expect(failing.text).toContain('1GiB');
  });

  it('checks a first run against the naive count and an unchanged night against 1% of it', () => {
    const result: BynderExportCallsResult = {
      assets: 5000,
      pageSize: 1000,
      runs: [
        {
          label: 'first',
          durationMs: 1,
          apiCalls: 5006,
          listCalls: 6,
          assetCalls: 5000,
          tokenCalls: 1,
          naiveCalls: 5006,
          fewestListCalls: 5,
          assetsYielded: 5000,
          versionsPlanned: 5000,
          expectedVersions: 5000,
          deleted: 0,
        },
        {
          label: 'unchanged',
          durationMs: 1,
          apiCalls: 60,
          listCalls: 1,
          assetCalls: 59,
          tokenCalls: 0,
          naiveCalls: 5001,
          fewestListCalls: 5,
          assetsYielded: 59,
          versionsPlanned: 0,
          expectedVersions: 0,
          deleted: 0,
        },
      ],
    };
    const section = bynderExportCallsSection(result);
    expect(section.checks.map((c) => [c.name.replace('bynder export ', ''), c.pass])).toEqual([
      ['API calls / naive, first', true],
      ['versions planned, first', true],
      ['API calls / naive, unchanged', false],
      ['versions planned, unchanged', true],
    ]);
    expect(section.checks[2]?.value).toBe('60/5001 = 0.0120');
    // Every row has a cell under each heading.
    const [heading, ...rows] = section.text.split('\n').slice(1, 4);
    const cells = (line: string | undefined): number => (line ?? '').trim().split(/\s{2,}/).length;
    for (const row of rows) expect(cells(row)).toBe(cells(heading));
  });

  it('compares the highest maxRSS of each size and requires every archived copy to match', () => {
    const run = (label: string, rssMib: number, checksumMatch = true): BynderExportMemoryRun => ({
      label,
      bytes: label === 'small' ? 10 * MIB : 1024 * MIB,
      durationMs: 1000,
      memory: memory(rssMib),
      checksumMatch,
    });
    const section = bynderExportMemorySection([run('small', 150), run('large', 180), run('small', 160), run('large', 210, false)]);
    expect(section.checks.map((c) => [c.value, c.pass])).toEqual([
      ['1.31', false],
      ['DIFFERENT', false],
    ]);
  });
});
