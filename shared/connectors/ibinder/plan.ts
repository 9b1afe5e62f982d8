/**
 * The iBinder connector's commit plan in the neutral shape the ledger stores (CommitPlan:
 * `target` `{binderId, folderId}`, label `folderPath`, metadata as element and value ids), and
 * the way back to what the iBinder destination needs. iBinder binds an upload id to its first
 * commit's folder and file name, so a resumed commit repeats exactly this plan.
 */
import type { CommitPlan, ReportTarget, TargetSource } from '../types.js';
import type { DestinationMetadataValue, ResolvedTarget } from './destination-types.js';
import type { IngestPlan } from './ingest/types.js';

export const IBINDER = 'ibinder' as const;

/** The plan of an accepted assessment, as the ledger stores it with the upload id. */
export function commitPlanOf(plan: IngestPlan, metadata: readonly DestinationMetadataValue[]): CommitPlan {
  return {
    connector: IBINDER,
    fileName: plan.fileName,
    target: { binderId: plan.target.binderId, folderId: plan.target.folderId },
    labels: plan.target.folderPath !== undefined ? { folderPath: plan.target.folderPath } : undefined,
    version: plan.version,
    metadata: metadata.map((m) => ({ id: m.metadataElementId, value: m.value })),
  };
}

/** The binder and folder a stored plan names; a plan of another connector or without ids is a bug, not a file's fault. */
export function resolvedTargetOf(plan: CommitPlan): ResolvedTarget {
  const { binderId, folderId } = plan.target;
  if (plan.connector !== IBINDER || binderId === undefined || folderId === undefined) {
    throw new Error(
      `the commit plan of ${plan.fileName} is not an iBinder plan with a binder and folder id (connector ${plan.connector}, target ${JSON.stringify(plan.target)}): ` +
        'it cannot be committed to iBinder; check the ledger entry',
    );
  }
  return { binderId, folderId, folderPath: plan.labels?.folderPath };
}

/** The metadata of a stored plan as the commit request wants it. */
export function commitMetadataOf(plan: CommitPlan): DestinationMetadataValue[] {
  return plan.metadata.map((m) => ({ metadataElementId: m.id, value: m.value }));
}

/** A target (as far as it resolved) as reports and `check` show it: ids, the folder path, where it came from. */
export function reportTargetOf(
  target: { binderId: string; folderId?: string | undefined; folderPath?: string | undefined },
  source?: TargetSource | undefined,
): ReportTarget {
  return {
    connector: IBINDER,
    ids: { binderId: target.binderId, ...(target.folderId !== undefined ? { folderId: target.folderId } : {}) },
    labels: target.folderPath !== undefined ? { folderPath: target.folderPath } : undefined,
    source,
  };
}

/** A plan for a log line: where, under which name and version label, with which metadata value ids. */
export function describeIBinderPlan(plan: CommitPlan): Record<string, unknown> {
  return {
    connector: plan.connector,
    binderId: plan.target.binderId,
    folderId: plan.target.folderId,
    folderPath: plan.labels?.folderPath,
    fileName: plan.fileName,
    version: plan.version,
    metadata: Object.fromEntries(plan.metadata.map((m) => [m.id, m.value])),
  };
}
