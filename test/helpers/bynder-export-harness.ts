/**
 * A whole Bynder export run in memory, wired from the export library the way the planner and
 * the worker are meant to use it: the change feed page by page (its cursor saved after each
 * planned page, as JSON, the way the run store keeps it), the versions of each changed asset
 * against a ledger of exported keys, and each job copied through `openBynderVersion` into an
 * archive map with its sidecar. A thrown error (a 429 block) pauses the run at the last saved
 * cursor; calling again with `resume` continues it. Tests count the portal's calls around it.
 */
import { createHash } from 'node:crypto';
import type { BynderAsset, BynderClient, BynderMetaproperty } from '../../shared/connectors/bynder/client/types.js';
import {
  bynderArchiveKey,
  bynderSidecarKey,
  buildBynderSidecar,
  serializeBynderSidecar,
} from '../../shared/connectors/bynder/export/archive.js';
import {
  type ChangeBookmark,
  type ChangeCursor,
  listChangedAssets,
  nextBookmark,
  parseChangeCursor,
} from '../../shared/connectors/bynder/export/changes.js';
import type { BynderVersionJob } from '../../shared/connectors/bynder/export/job.js';
import { openBynderVersion } from '../../shared/connectors/bynder/export/open-version.js';
import { newVersionsOf } from '../../shared/connectors/bynder/export/versions.js';

export const TEST_PORTAL = 'acme';

/** What persists between runs: the ledger, the archive, the bookmark. */
export class ExportWorld {
  /** Ledger keys of exported versions. */
  readonly ledger = new Set<string>();
  /** Archive objects (file bytes and sidecars) by key. */
  readonly archive = new Map<string, string>();
  /** Writes per archive key: exactly-once means 1 each. */
  readonly writes = new Map<string, number>();
  bookmark: ChangeBookmark | undefined;
  /** The run's saved cursor (JSON text, as a store would hold it); set while a run is paused. */
  savedCursor: string | undefined;
}

export interface RunOptions {
  runStartedAt: string;
  runId?: string;
  pageSize?: number;
  overlapSeconds?: number;
  brandIds?: string[];
  metaproperties?: BynderMetaproperty[];
}

export interface RunOutcome {
  paused: boolean;
  /** Why the run paused. */
  error?: unknown;
  assetsYielded: BynderAsset[];
  jobs: BynderVersionJob[];
  deleted: string[];
  cursor?: ChangeCursor;
}

export async function runExport(client: BynderClient, world: ExportWorld, options: RunOptions): Promise<RunOutcome> {
  const outcome: RunOutcome = { paused: false, assetsYielded: [], jobs: [], deleted: [] };
  const runId = options.runId ?? `run-${options.runStartedAt}`;
  const resumeFrom = world.savedCursor !== undefined ? parseChangeCursor(JSON.parse(world.savedCursor)) : undefined;
  const exportedAmong = async (keys: readonly string[]) => new Set(keys.filter((k) => world.ledger.has(k)));
  let cursor: ChangeCursor | undefined = resumeFrom;
  try {
    for await (const page of listChangedAssets(
      client,
      {
        bookmark: world.bookmark,
        runStartedAt: options.runStartedAt,
        ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
        ...(options.overlapSeconds !== undefined ? { overlapSeconds: options.overlapSeconds } : {}),
        ...(options.brandIds !== undefined ? { brandIds: options.brandIds } : {}),
      },
      resumeFrom,
    )) {
      for (const listed of page.assets) {
        outcome.assetsYielded.push(listed);
        const found = await newVersionsOf(client, listed, exportedAmong, { portal: TEST_PORTAL });
        if (found.deleted) {
          outcome.deleted.push(found.assetId);
          continue;
        }
        for (const job of found.newVersions) {
          outcome.jobs.push(job);
          await exportJob(client, world, job, found.asset, runId, options.metaproperties ?? []);
        }
      }
      cursor = page.cursor;
      world.savedCursor = JSON.stringify(page.cursor);
    }
  } catch (err) {
    return { ...outcome, paused: true, error: err, ...(cursor ? { cursor } : {}) };
  }
  world.savedCursor = undefined;
  if (cursor) {
    outcome.cursor = cursor;
    world.bookmark = nextBookmark(cursor) ?? world.bookmark;
  }
  return outcome;
}

/** The worker's part: fresh location, bytes with SHA-256, file then sidecar, then the ledger. */
async function exportJob(
  client: BynderClient,
  world: ExportWorld,
  job: BynderVersionJob,
  asset: BynderAsset,
  runId: string,
  metaproperties: BynderMetaproperty[],
): Promise<void> {
  if (world.ledger.has(job.versionKey)) return;
  const opened = await openBynderVersion(client, job);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.body) chunks.push(Buffer.from(chunk as Uint8Array));
  const bytes = Buffer.concat(chunks);
  const key = bynderArchiveKey(job);
  put(world, key, bytes.toString());
  const sidecar = buildBynderSidecar({
    job,
    asset,
    metaproperties,
    size: bytes.length,
    sha256Hex: createHash('sha256').update(bytes).digest('hex'),
    sha256Base64: createHash('sha256').update(bytes).digest('base64'),
    exportedAt: new Date('2026-12-02T02:00:00Z'),
    runId,
    archiveKey: key,
  });
  put(world, bynderSidecarKey(key), serializeBynderSidecar(sidecar));
  world.ledger.add(job.versionKey);
}

function put(world: ExportWorld, key: string, body: string): void {
  world.archive.set(key, body);
  world.writes.set(key, (world.writes.get(key) ?? 0) + 1);
}
