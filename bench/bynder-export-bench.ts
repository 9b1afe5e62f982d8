/**
 * Bynder export bench (issue 10), two questions:
 *
 * 1. Calls. A portal of 5,000 assets (the Bynder emulator's `seedBulkAssets`, one brand, one
 *    version each, a second apart). A first run reads the change feed (`listChangedAssets`)
 *    and plans each listed asset (`newVersionsOf`: one `?versions=1` call, then the export
 *    ledger); every planned version is then recorded as exported, as the worker would. A
 *    second run starts from the first run's bookmark with nothing changed: an unchanged night.
 *    The emulator counts every call of each run, against the naive count (bynder-naive-calls.ts).
 *    The emulator runs in this process with its rate limit lifted, and the client's request
 *    budget does not pace: the figures are counts, not the portal's pacing.
 * 2. Memory. A 10 MiB and a 1 GiB version exported by the worker's transfer (`openBynderVersion`
 *    through the Bynder client: a fresh download location from the fast Bynder endpoint, the
 *    storage GET from the fast source) streamed by `streamToArchive` into the in-memory S3, each
 *    in a fresh measured process; peak memory (maxRSS) of the large against the small, and the
 *    archived object's size and the export's SHA-256 against the source's.
 */
import { startBynderEmulator, seedBulkAssets } from '../emulator/bynder/index.js';
import { HttpBynderClient } from '../shared/connectors/bynder/client/client.js';
import { BynderTokenCache } from '../shared/connectors/bynder/client/auth.js';
import {
  type ChangeBookmark,
  type ChangeCursor,
  listChangedAssets,
  MAX_PAGE_SIZE,
  nextBookmark,
} from '../shared/connectors/bynder/export/changes.js';
import { newVersionsOf } from '../shared/connectors/bynder/export/versions.js';
import { formatBytes } from './bench-context.js';
import type { BynderMemoryEndpoint } from './bynder-memory-endpoint.js';
import { fewestListCalls, naiveExportCalls } from './bynder-naive-calls.js';
import type { MemoryEndpoints } from './memory-endpoints.js';
import { runMeasured } from './measured-child.js';
import type { MemoryPeak } from './protocol.js';
import { syntheticPattern, syntheticSha256 } from './synthetic-bytes.js';

/** Emulator route templates (the `/api` prefix removed), as its call counter keys them. */
const ROUTES = {
  list: 'GET /v4/media',
  asset: 'GET /v4/media/{id}',
} as const;

const BENCH_PORTAL = 'bench';
const BENCH_BRAND = { id: 'B0000000-0000-0000-0000000000000001', name: 'Bench Brand', description: '', image: null, subBrands: [] };

export interface BynderExportCallsRun {
  label: string;
  durationMs: number;
  /** Every API call the emulator counted (token calls not included). */
  apiCalls: number;
  listCalls: number;
  assetCalls: number;
  tokenCalls: number;
  /** Naive count: the list calls made + one versions call per asset in the portal (bynder-naive-calls.ts). */
  naiveCalls: number;
  /** The fewest list calls that hold the portal (one per page of 1,000). */
  fewestListCalls: number;
  assetsYielded: number;
  versionsPlanned: number;
  expectedVersions: number;
  deleted: number;
}

export interface BynderExportCallsResult {
  assets: number;
  pageSize: number;
  runs: BynderExportCallsRun[];
}

export interface BynderExportMemoryRun {
  label: string;
  bytes: number;
  durationMs: number;
  memory: MemoryPeak;
  /** The archived object had the source's size and the export's SHA-256 was the source's. */
  checksumMatch: boolean;
}

export interface BynderExportCallsOptions {
  assets: number;
  progress: (line: string) => void;
}

export interface BynderExportMemoryOptions {
  sizes: { label: string; bytes: number }[];
  /** Runs of each size, interleaved small, large, small, large ... */
  rounds: number;
  bucket: string;
  timeoutMs: (bytes: number) => number;
  progress: (line: string) => void;
}

interface PlannedRun {
  cursor: ChangeCursor | undefined;
  assetsYielded: number;
  versionsPlanned: number;
  deleted: number;
}

/** One planning run: the feed page by page, each listed asset's new versions, the ledger updated. */
async function planRun(
  client: HttpBynderClient,
  ledger: Set<string>,
  bookmark: ChangeBookmark | undefined,
  runStartedAt: Date,
): Promise<PlannedRun> {
  const exportedAmong = (keys: readonly string[]): Promise<ReadonlySet<string>> =>
    Promise.resolve(new Set(keys.filter((k) => ledger.has(k))));
  const run: PlannedRun = { cursor: undefined, assetsYielded: 0, versionsPlanned: 0, deleted: 0 };
  for await (const page of listChangedAssets(client, { bookmark, runStartedAt, pageSize: MAX_PAGE_SIZE })) {
    for (const listed of page.assets) {
      run.assetsYielded += 1;
      const found = await newVersionsOf(client, listed, exportedAmong, { portal: BENCH_PORTAL });
      if (found.deleted) {
        run.deleted += 1;
        continue;
      }
      for (const job of found.newVersions) {
        run.versionsPlanned += 1;
        // The worker records each version once it is archived.
        ledger.add(job.versionKey);
      }
    }
    run.cursor = page.cursor;
  }
  return run;
}

export async function runBynderExportCallsBench(options: BynderExportCallsOptions): Promise<BynderExportCallsResult> {
  const emulator = await startBynderEmulator({
    seed: { brands: [BENCH_BRAND], metaproperties: [], assets: [] },
    // Counts, not pacing: 10,000 calls must not meet the portal's 4,500 per five minutes.
    rateLimit: { limit: 1_000_000_000 },
  });
  try {
    seedBulkAssets(emulator.state, { count: options.assets, brandId: BENCH_BRAND.id, bytesPerVersion: 1024 });
    const client = new HttpBynderClient({
      config: {
        portalUrl: emulator.url,
        tokenUrl: emulator.tokenUrl,
        scopes: 'asset:read meta.assetbank:read',
        uploadFlow: 'file-service',
        fileServicePaths: 'sdk',
        requestsPerSecond: 1_000_000,
        throttlePauseSeconds: 330,
      },
      credentials: () => Promise.resolve({ clientId: emulator.clientId, clientSecret: emulator.clientSecret }),
      tokenCache: new BynderTokenCache(),
    });
    const ledger = new Set<string>();
    const runs: BynderExportCallsRun[] = [];
    let bookmark: ChangeBookmark | undefined;

    const measure = async (label: string, expectedVersions: number): Promise<void> => {
      options.progress(`bynder export calls: ${label}`);
      emulator.calls.reset();
      const started = performance.now();
      const planned = await planRun(client, ledger, bookmark, new Date());
      const durationMs = performance.now() - started;
      if (planned.cursor) bookmark = nextBookmark(planned.cursor) ?? bookmark;
      const listCalls = emulator.calls.count(ROUTES.list);
      runs.push({
        label,
        durationMs,
        apiCalls: emulator.calls.total('api'),
        listCalls,
        assetCalls: emulator.calls.count(ROUTES.asset),
        tokenCalls: emulator.calls.total('token'),
        naiveCalls: naiveExportCalls(options.assets, listCalls),
        fewestListCalls: fewestListCalls(options.assets, MAX_PAGE_SIZE),
        assetsYielded: planned.assetsYielded,
        versionsPlanned: planned.versionsPlanned,
        expectedVersions,
        deleted: planned.deleted,
      });
    };

    await measure(`first run, ${options.assets} assets`, options.assets);
    await measure('unchanged night', 0);
    return { assets: options.assets, pageSize: MAX_PAGE_SIZE, runs };
  } finally {
    await emulator.close();
  }
}

export async function runBynderExportMemoryBench(
  bynder: BynderMemoryEndpoint,
  storage: MemoryEndpoints,
  options: BynderExportMemoryOptions,
): Promise<BynderExportMemoryRun[]> {
  const cases = options.sizes.map((size, index) => {
    const seed = 9300 + index;
    const assetId = `bench-export-${size.label}`;
    const mediaItemId = `item-${size.label}`;
    bynder.setDownloadLocation(assetId, mediaItemId, storage.sourceUrl(seed, size.bytes));
    return { ...size, assetId, mediaItemId, sha256: syntheticSha256(syntheticPattern(seed), size.bytes) };
  });
  const runs: BynderExportMemoryRun[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const c of cases) {
      const key = `bynder/${BENCH_PORTAL}/${c.assetId}/${round}/file.bin`;
      const what = `Bynder export transfer of ${formatBytes(c.bytes)}, round ${round + 1}`;
      options.progress(`bynder export memory ${c.label}: round ${round + 1} of ${options.rounds}`);
      const result = await runMeasured(
        {
          kind: 'bynder-archive-transfer',
          portalUrl: bynder.portalUrl,
          assetId: c.assetId,
          mediaItemId: c.mediaItemId,
          s3Endpoint: storage.baseUrl,
          bucket: options.bucket,
          key,
        },
        { timeoutMs: options.timeoutMs(c.bytes) },
      );
      if (!result.ok) throw new Error(`${what} failed: ${result.error}`);
      if (result.outcome.kind !== 'bynder-archive-transfer') throw new Error(`${what} answered a ${result.outcome.kind} outcome`);
      const stored = storage.objects.get(`${options.bucket}/${key}`);
      storage.objects.delete(`${options.bucket}/${key}`);
      runs.push({
        label: c.label,
        bytes: c.bytes,
        durationMs: result.durationMs,
        memory: result.memory,
        checksumMatch: result.outcome.sha256Hex === c.sha256 && result.outcome.size === c.bytes && stored?.size === c.bytes,
      });
    }
  }
  return runs;
}
