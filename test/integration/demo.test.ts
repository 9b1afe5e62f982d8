/**
 * `npm run demo`'s own bookkeeping: the counts it prints at its end and the origin labels of its
 * export listing must match what happened, read independently from the ingest ledger, the
 * emulator and the archive bucket. (The demo once said 5 accepted after 6 files had landed, and
 * labelled the reingested file `seed`.)
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultLine, runDemo, type DemoSummary } from '../../local/demo-run.js';
import { startLocalServices, type LocalServices } from '../../local/services.js';

let services: LocalServices;
let summary: DemoSummary;
let printed: string[];
let seedDocumentIds: Set<string>;
let seedVersionIds: Set<string>;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  services = await startLocalServices();
  seedDocumentIds = new Set(services.emulator.state.listDocuments().map((d) => d.id));
  seedVersionIds = new Set([...seedDocumentIds].flatMap((id) => services.emulator.state.listVersions(id).map((v) => v.id)));
  printed = [];
  summary = await runDemo({ say: (line = '') => printed.push(line), services });
}, 120_000);

afterAll(async () => {
  await services?.stop();
});

async function ledgerStates(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await services.dynamodb.documentClient.send(
      new ScanCommand({ TableName: services.ledgerTable, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const state = typeof item.state === 'string' ? item.state : 'unknown';
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return counts;
}

describe('npm run demo', () => {
  it('ends as expected', () => {
    expect(summary.problems).toEqual([]);
    expect(summary.ok).toBe(true);
  });

  it('counts every file that landed, the reingested one included, as the ledger and the emulator do', async () => {
    const states = await ledgerStates();
    const newDocuments = services.emulator.state.listDocuments().filter((d) => !seedDocumentIds.has(d.id));
    expect(summary.accepted).toBe(states.get('committed') ?? 0);
    expect(summary.accepted).toBe(newDocuments.length);
    expect(summary.rejected).toBe(states.get('rejected') ?? 0);
    expect(summary.reingested).toBe(1);
    expect(summary.accepted).toBe(summary.acceptedOnFirstDrop + summary.reingested);
    expect(printed).toContain(`  ✓ ${resultLine(summary)}`);
    expect(resultLine(summary)).toMatch(new RegExp(`^${summary.accepted} files accepted`));
  });

  it('labels as ingested exactly the archived versions that are not the seed, the reingested file included', async () => {
    const archivedVersionIds: string[] = [];
    let token: string | undefined;
    do {
      const page = await services.s3.client.send(new ListObjectsV2Command({ Bucket: services.archiveBucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const parts = object.Key?.split('/') ?? [];
        if (parts.length === 5 && parts[0] === services.emulator.tenantId && !object.Key?.endsWith('.metadata.json'))
          archivedVersionIds.push(parts[3] ?? '');
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const notSeed = archivedVersionIds.filter((id) => !seedVersionIds.has(id)).length;
    expect(summary.archived).toEqual({ ingestedJustNow: notSeed, seed: archivedVersionIds.length - notSeed });
    expect(summary.archived.ingestedJustNow).toBe(summary.accepted);
    const reingestedRow = printed.find(
      (line) => line.includes('P-501 Drainage plan.pdf') && /\s1\s+\S/.test(line) && line.includes('PRJ0001AB'),
    );
    expect(reingestedRow).toMatch(/ingested just now$/);
  });
});
