/**
 * `npm run demo`'s own bookkeeping: the counts it prints at its end (in all and per system) and
 * the origin labels of its export listing must match what happened, read independently from the
 * ingest ledger, both emulators and the archive bucket. (The demo once said 5 accepted after 6
 * files had landed, and labelled the reingested file `seed`.)
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BYNDER_SEED_IDS } from '../../emulator/bynder/index.js';
import { connectorLines, resultLine, runDemo, type DemoSummary } from '../../local/demo-run.js';
import { BYNDER_REJECTED_FIX } from '../../local/demo-samples.js';
import { startLocalServices, type LocalServices } from '../../local/services.js';

let services: LocalServices;
let summary: DemoSummary;
let printed: string[];
let seedDocumentIds: Set<string>;
let seedVersionIds: Set<string>;
let seedAssetIds: Set<string>;
let seedLobbyVersions: number;

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  services = await startLocalServices();
  seedDocumentIds = new Set(services.emulator.state.listDocuments().map((d) => d.id));
  seedVersionIds = new Set([...seedDocumentIds].flatMap((id) => services.emulator.state.listVersions(id).map((v) => v.id)));
  seedAssetIds = new Set(services.bynder.state.allAssets().map((a) => a.id));
  seedLobbyVersions = services.bynder.state.anyAsset(DEFAULT_BYNDER_SEED_IDS.assets.lobbyRender)?.items.length ?? 0;
  printed = [];
  summary = await runDemo({ say: (line = '') => printed.push(line), services });
}, 120_000);

afterAll(async () => {
  await services?.stop();
});

/** Ledger entries by state, and committed ones by connector (`committed:bynder`). */
async function ledgerStates(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await services.dynamodb.documentClient.send(
      new ScanCommand({ TableName: services.ledgerTable, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const state = typeof item.state === 'string' ? item.state : 'unknown';
      add(state);
      if (typeof item.connector === 'string') add(`${state}:${item.connector}`);
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
    expect(summary.byConnector.ibinder.accepted).toBe(newDocuments.length);
    expect(summary.byConnector.ibinder.accepted).toBe(states.get('committed:ibinder') ?? 0);
    expect(summary.rejected).toBe(states.get('rejected') ?? 0);
    expect(summary.reingested).toBe(2);
    expect(summary.accepted).toBe(summary.acceptedOnFirstDrop + summary.reingested);
    expect(printed).toContain(`  ✓ ${resultLine(summary)}`);
    expect(resultLine(summary)).toMatch(new RegExp(`^${summary.accepted} files accepted`));
    for (const line of connectorLines(summary)) expect(printed).toContain(`    ${line}`);
  });

  it("counts Bynder's outcomes as the portal holds them: new assets, a new version, a rejection fixed and reingested", async () => {
    const states = await ledgerStates();
    const bynder = summary.byConnector.bynder;
    const newAssets = services.bynder.state.allAssets().filter((a) => !seedAssetIds.has(a.id) && !a.deleted);
    const lobby = services.bynder.state.anyAsset(DEFAULT_BYNDER_SEED_IDS.assets.lobbyRender);
    expect(bynder).toMatchObject({ accepted: 3, acceptedOnFirstDrop: 2, reingested: 1, rejected: 1, newAssets: 2, newVersions: 1 });
    expect(bynder.accepted).toBe(states.get('committed:bynder') ?? 0);
    expect(newAssets).toHaveLength(bynder.newAssets);
    expect(lobby?.items.length).toBe(seedLobbyVersions + bynder.newVersions);
    // The event delivered twice made one asset, with its metaproperties as ids and its marker tag.
    const terrace = newAssets.filter((a) => a.name === 'Harbour terrace at dusk');
    expect(terrace).toHaveLength(1);
    expect(terrace[0]?.brandId).toBe(DEFAULT_BYNDER_SEED_IDS.brands.harbour);
    expect(terrace[0]?.metadata.get(DEFAULT_BYNDER_SEED_IDS.metaproperties.colours)?.sort()).toEqual(
      [DEFAULT_BYNDER_SEED_IDS.options.red, DEFAULT_BYNDER_SEED_IDS.options.blue].sort(),
    );
    expect(terrace[0]?.tags).toEqual(expect.arrayContaining(['terrace', 'exterior', expect.stringMatching(/^s3-ingest-/)]));
    // The rejected brochure landed after the fix, with the option the operator gave.
    const brochure = newAssets.find((a) => a.name === 'Riverside spring brochure.pdf');
    expect(brochure?.metadata.get(DEFAULT_BYNDER_SEED_IDS.metaproperties.region)).toEqual([DEFAULT_BYNDER_SEED_IDS.options.nordics]);
  });

  it("prints the Bynder rejection's report with the allowed options, and the operator's check and reingest with the fix", () => {
    const text = printed.join('\n');
    expect(text).toMatch(/REJECTED {2}report s3:\/\/\S+\/rejected\/marketing\/Riverside spring brochure\.pdf\.error\.json/);
    expect(text).toContain('"Scandinavia" is not an option of "region"');
    expect(text).toMatch(/fix: use one option name or id from: nordics "Nordics".*uk "UK"/);
    expect(text).toContain(`--tag ${BYNDER_REJECTED_FIX.key}=${BYNDER_REJECTED_FIX.value}    (exit 0)`);
    expect(text).toContain('allowed options of region (single-select, required): nordics, benelux, dach, uk');
    expect(text).toMatch(/\$ ibinder-pipeline brands {4}\(exit 0\)/);
    expect(text).toMatch(/\$ ibinder-pipeline metaproperties {4}\(exit 0\)/);
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
    // Only iBinder is exported here: Bynder's files are in the portal, not in this archive run.
    expect(summary.archived.ingestedJustNow).toBe(summary.byConnector.ibinder.accepted);
    const reingestedRow = printed.find(
      (line) => line.includes('P-501 Drainage plan.pdf') && /\s1\s+\S/.test(line) && line.includes('PRJ0001AB'),
    );
    expect(reingestedRow).toMatch(/ingested just now$/);
  });
});
