/**
 * `check` and `reingest`'s one question, for any connector: the file's connector is chosen as
 * the ingest chooses it (tag namespace, longest routing prefix, default; shared/connectors/registry.ts),
 * from the environment's config alone, and then that connector assesses it. A file for Bynder
 * never asks for iBinder credentials, nor an iBinder file for Bynder's.
 */
import type { PipelineConfig } from '../shared/config/runtime.js';
import type { BynderCheckResult, BynderConnector } from '../shared/connectors/bynder/index.js';
import type { IBinderClient } from '../shared/connectors/ibinder/index.js';
import { chooseConnector, connectorRoutes } from '../shared/connectors/registry.js';
import { checkS3TagSet } from '../shared/s3/tags.js';
import { checkIngest, checkKey, type IngestCheckInput, type IngestCheckResult } from './ingest-check.js';

/** An iBinder check, marked with its connector like a Bynder one. */
export type IBinderCheckResult = IngestCheckResult & { connector: 'ibinder' };

export type ObjectCheckResult = IBinderCheckResult | BynderCheckResult;

export interface ObjectCheckInput extends Omit<IngestCheckInput, 'client' | 'config'> {
  config: IngestCheckInput['config'] & Pick<PipelineConfig, 'untaggedGraceSeconds'>;
}

/** The systems a check may talk to, built only when the file goes there. */
export interface ObjectCheckSystems {
  ibinder: () => IngestCheckInput['client'] & Partial<Pick<IBinderClient, 'listBinders'>>;
  bynder: () => Promise<Pick<BynderConnector, 'check'>>;
}

export async function checkObject(input: ObjectCheckInput, systems: ObjectCheckSystems): Promise<ObjectCheckResult> {
  const choice = chooseConnector(input.key, input.tags, connectorRoutes(input.config));
  if (choice.kind === 'chosen' && choice.connector.name === 'bynder') {
    const connector = await systems.bynder();
    const result = await connector.check({
      key: input.key,
      tags: input.tags,
      sizeBytes: input.sizeBytes,
      lastModified: input.lastModified,
      now: input.now,
      untaggedGraceSeconds: input.config.untaggedGraceSeconds,
      extraProblems: [...checkKey(input.key, input.config), ...(input.tagsNotYetWritten ? checkS3TagSet(input.tags) : [])],
    });
    if (choice.by.kind !== 'tags') result.notes.push(describeChoice(choice.by));
    return result;
  }
  // iBinder, or a choice refused before any system is read (tags of two systems, an unconfigured one).
  const needsClient = choice.kind === 'chosen';
  const client = needsClient ? systems.ibinder() : unusedClient();
  return { connector: 'ibinder', ...(await checkIngest({ ...input, client })) };
}

function describeChoice(by: { kind: 'rule'; prefix: string } | { kind: 'default' } | { kind: 'fallback' }): string {
  if (by.kind === 'rule') return `the file goes to Bynder by the Bynder routing rule for prefix "${by.prefix}"`;
  return "the file goes to Bynder, the connector with the environment's default target";
}

/** checkIngest refuses a rejected choice before any lookup; a client is never called then. */
function unusedClient(): IngestCheckInput['client'] {
  const refuse = (): never => {
    throw new Error('no lookup is made for a file whose connector choice is refused');
  };
  return { listTopFolders: refuse, listSubFolders: refuse, getMetadataElements: refuse };
}
