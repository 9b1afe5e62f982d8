/**
 * Logical ids of resources inside a composition construct, as if the construct were not there.
 *
 * The stack was split into constructs (IngestPipeline, NightlyExport, ConnectorCredentials)
 * after environments had been deployed. A CloudFormation logical id is derived from the
 * construct path, so one more path segment would give every resource a new id, and
 * CloudFormation replaces a resource whose id changes: buckets, tables, the credentials secret,
 * the archive key and the queues (with their messages) would be created anew and the old ones
 * deleted or orphaned. Leaving the composition construct's id out of the path keeps every id as
 * it was: a deployed environment updates in place. (An SQS event source mapping's construct id
 * embeds the queue's full path; the stack keeps those ids with `pathWithout`, see
 * PipelineStack.keepEventSourceMappingId.)
 *
 * CDK's own algorithm (`makeUniqueId` in aws-cdk-lib, not exported) is repeated here for the
 * shortened path: `Default` segments are dropped, a single segment is the id itself, otherwise
 * the human part (consecutive repeats and `Resource` dropped, non-alphanumerics removed, at most
 * 240 characters) is followed by the first 8 hex digits of the MD5 of the path, upper-cased.
 * test/infra/logical-ids.test.ts checks it against CDK's own ids.
 */
import { createHash } from 'node:crypto';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

const HIDDEN_ID = 'Default';
const HIDDEN_FROM_HUMAN_ID = 'Resource';
const HASH_LENGTH = 8;
const MAX_HUMAN_LENGTH = 240;
const MAX_ID_LENGTH = 255;

const alphanumeric = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');

/** A construct path below the stack, as CloudFormation logical id (CDK's algorithm). */
export function logicalIdForPath(components: readonly string[]): string {
  const path = components.filter((c) => c !== HIDDEN_ID);
  if (path.length === 0) throw new Error('A logical id needs at least one path segment that is not "Default".');
  if (path.length === 1) {
    const candidate = alphanumeric(path[0] as string);
    if (candidate.length <= MAX_ID_LENGTH) return candidate;
  }
  const hash = createHash('md5').update(path.join('/')).digest('hex').slice(0, HASH_LENGTH).toUpperCase();
  const human: string[] = [];
  for (const c of path) if (human.length === 0 || !(human[human.length - 1] as string).endsWith(c)) human.push(c);
  return (
    human
      .filter((c) => c !== HIDDEN_FROM_HUMAN_ID)
      .map(alphanumeric)
      .join('')
      .slice(0, MAX_HUMAN_LENGTH) + hash
  );
}

/** The ids of the construct's path below its stack, the `transparent` scopes left out. */
export function pathWithout(stack: Stack, construct: IConstruct, transparent: (scope: IConstruct) => boolean): string[] {
  const scopes = construct.node.scopes;
  return scopes
    .slice(scopes.indexOf(stack) + 1)
    .filter((scope) => !transparent(scope))
    .map((scope) => scope.node.id);
}

/**
 * The logical id of `element` with the ids of the `transparent` scopes left out of its path, or
 * undefined when none of its scopes is transparent (the stack's own allocation then applies).
 */
export function logicalIdWithout(stack: Stack, element: CfnElement, transparent: (scope: IConstruct) => boolean): string | undefined {
  const scopes = element.node.scopes;
  if (!scopes.slice(scopes.indexOf(stack) + 1).some(transparent)) return undefined;
  return logicalIdForPath(pathWithout(stack, element, transparent));
}
