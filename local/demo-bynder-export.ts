/**
 * The demo's Bynder export step: the nightly export of the Bynder portal (the emulator), run
 * in-process right after iBinder's, then once more as the next night would, to show that an
 * unchanged portal costs only the list calls. Kept apart from the demo's main flow
 * (demo-run.ts calls it once); it returns what it found wrong instead of throwing.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { runExport, type RunExportSummary } from '../functions/export-planner/run-export.js';
import { archivePortalNameOf } from '../shared/connectors/bynder/index.js';
import type { PipelineConfig } from '../shared/config/runtime.js';
import { createLocalExportDependencies } from './local-export-dependencies.js';
import type { LocalServices } from './services.js';

export interface DemoBynderExport {
  first?: RunExportSummary;
  unchanged?: RunExportSummary;
  /** What did not go as the demo expects (empty when all is well). */
  problems: string[];
}

const noWait = () => Promise.resolve();

export async function demoBynderExport(
  say: (line?: string) => void,
  heading: (text: string) => void,
  services: LocalServices,
  config: PipelineConfig,
): Promise<DemoBynderExport> {
  if (config.bynder === undefined) return { problems: [] };
  // The emulator's host is an address: the archive's portal folder gets a name a person reads.
  const bynder = { ...config.bynder, archivePortalName: config.bynder.archivePortalName ?? 'demo-portal' };
  config = { ...config, bynder };
  heading("7. The nightly export of the Bynder portal, run now in-process (and once more, as tomorrow's)");
  const portal = archivePortalNameOf(bynder);
  const liveVersions = services.bynder.state
    .allAssets()
    .filter((a) => !a.deleted)
    .reduce((n, a) => n + a.items.length, 0);
  const problems: string[] = [];
  try {
    const first = await runExport(createLocalExportDependencies(services, { config }), {
      connector: 'bynder',
      retryDelay: noWait,
      waitFor: noWait,
    });
    const keys = await archiveKeys(services, `${portal}/`);
    say(
      `  run ${first.runId}: ${first.documentsSeen} changed assets, ${first.versionsExported} of ${first.versionsEnqueued} versions exported, ` +
        `${first.deletedAssets} deleted asset(s) recorded, ${first.listCalls ?? 0} list call(s); manifest ${first.manifestKey}`,
    );
    for (const key of keys.filter((k) => !k.endsWith('.metadata.json')).slice(0, 8)) say(`    ${key}`);
    if (keys.length > 16) say(`    ... and ${keys.length / 2 - 8} more, each with its .metadata.json sidecar`);

    const unchanged = await runExport(createLocalExportDependencies(services, { config }), {
      connector: 'bynder',
      retryDelay: noWait,
      waitFor: noWait,
    });
    say(`  next night, nothing changed: ${unchanged.listCalls ?? 0} list call(s), ${unchanged.versionsEnqueued} versions to export`);
    if (first.failed.length > 0)
      problems.push(`the Bynder export failed for ${first.failed.map((f) => `${f.fileName}: ${f.reason}`).join('; ')}`);
    if (first.versionsExported + first.alreadyExported !== liveVersions) {
      problems.push(`the Bynder export archived ${first.versionsExported} versions; the portal holds ${liveVersions}`);
    }
    if (unchanged.versionsEnqueued !== 0)
      problems.push(`the unchanged Bynder run planned ${unchanged.versionsEnqueued} versions; expected none`);
    return { first, unchanged, problems };
  } catch (err) {
    problems.push(`the Bynder export stopped: ${err instanceof Error ? err.message : String(err)}`);
    return { problems };
  }
}

async function archiveKeys(services: LocalServices, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await services.s3.client.send(
      new ListObjectsV2Command({ Bucket: services.archiveBucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}
