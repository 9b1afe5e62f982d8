/**
 * The connectors an environment configures, and which of them a file goes to.
 *
 * iBinder is always configured; Bynder when the environment's config has `bynder`. The registry
 * builds no Bynder internals itself: whoever wires the functions hands in `bynderConnectorFactory`
 * (a deployed function: `runtimeBynderConnectorFactory` of shared/connectors/bynder/runtime-client.ts;
 * the CLI and tests: `createBynderConnector` of its index.ts over their own client), so that this
 * file, the handlers and the CLI stay free of any one system's code beyond its public entry points.
 *
 * A file's connector, in this order:
 * 1. the tag namespace on the object (`ibinder:`, `bynder:`); both at once is a rejection;
 * 2. the longest routing-rule prefix that covers the key, over every connector's rules;
 * 3. the connector with a default target (the first, in the registry's order, when several have one);
 * 4. iBinder, which then applies its untagged grace period and rejection, as before connectors.
 */
import type { PipelineConfig } from '../config/runtime.js';
import type { Problem } from '../ledger/types.js';
import type { S3Tag } from '../s3/tags.js';
import type { BynderConfig } from './bynder/config.js';
import { createIBinderConnector, type IBinderConnectorOptions } from './ibinder/index.js';
import type { AssessmentHooks, AssessmentInput, AssessmentRejected, Assessment, ConnectorName, IngestConnector } from './types.js';

/** Every tag namespace the product knows, configured here or not: a tag of an unconfigured system is a mistake, not noise. */
export const KNOWN_TAG_NAMESPACES: Readonly<Record<ConnectorName, string>> = { ibinder: 'ibinder:', bynder: 'bynder:' };

/** Builds the Bynder connector from the environment's `bynder` settings (createBynderConnector, wired by the caller). */
export type BynderConnectorFactory = (bynder: BynderConfig, config: PipelineConfig) => IngestConnector;

export interface ConfiguredConnectorsOptions {
  config: PipelineConfig;
  /** The iBinder connector, or what to build it from (its client; caches and destination optional). */
  ibinder: IngestConnector | Omit<IBinderConnectorOptions, 'config'>;
  /** Required when `config.bynder` is set. */
  bynderConnectorFactory?: BynderConnectorFactory | undefined;
}

export class ConnectorConfigError extends Error {
  override readonly name = 'ConnectorConfigError';
}

/** The connectors the environment configures, iBinder first. */
export function configuredConnectors(options: ConfiguredConnectorsOptions): IngestConnector[] {
  const { config } = options;
  const ibinder = isConnector(options.ibinder) ? options.ibinder : createIBinderConnector({ config, ...options.ibinder });
  const connectors: IngestConnector[] = [ibinder];
  if (config.bynder !== undefined) {
    if (options.bynderConnectorFactory === undefined) {
      throw new ConnectorConfigError(
        `the environment ${config.environment} configures bynder, but no Bynder connector was handed to the registry: ` +
          'pass bynderConnectorFactory (createBynderConnector from shared/connectors/bynder/index.js), or remove bynder from the environment config',
      );
    }
    connectors.push(options.bynderConnectorFactory(config.bynder, config));
  }
  return connectors;
}

/** The connector named `name`, or an error that says which are configured (a stored plan of a connector the environment dropped). */
export function connectorNamed(connectors: readonly IngestConnector[], name: ConnectorName): IngestConnector {
  const found = connectors.find((c) => c.name === name);
  if (found === undefined) {
    throw new ConnectorConfigError(
      `no ${name} connector is configured (configured: ${connectors.map((c) => c.name).join(', ')}): ` +
        `a stored upload of ${name} cannot be finished; configure ${name} again, or finish the upload by hand`,
    );
  }
  return found;
}

/** What the choice of a connector reads of one: its name, tag namespace, routing prefixes and default. */
export type ConnectorRoute = Pick<IngestConnector, 'name' | 'tagNamespace' | 'routingPrefixes' | 'hasDefaultTarget'>;

/**
 * The routes of the connectors an environment configures, read from its config alone (no
 * client): for the CLI's `check`, which must choose as the ingest does before it reads a system.
 */
export function connectorRoutes(config: Pick<PipelineConfig, 'routingRules' | 'defaultTarget' | 'bynder'>): ConnectorRoute[] {
  const routes: ConnectorRoute[] = [
    {
      name: 'ibinder',
      tagNamespace: KNOWN_TAG_NAMESPACES.ibinder,
      routingPrefixes: config.routingRules.map((rule) => rule.prefix),
      hasDefaultTarget: config.defaultTarget !== undefined,
    },
  ];
  if (config.bynder !== undefined) {
    routes.push({
      name: 'bynder',
      tagNamespace: KNOWN_TAG_NAMESPACES.bynder,
      routingPrefixes: config.bynder.routingRules.map((rule) => rule.prefix),
      hasDefaultTarget: config.bynder.defaultBrand !== undefined,
    });
  }
  return routes;
}

export type ConnectorChoice<C extends ConnectorRoute = IngestConnector> =
  | {
      kind: 'chosen';
      connector: C;
      /** Why: `tags`, `rule` (with the prefix), `default`, or `fallback` (no tags, rule or default: iBinder's grace period). */
      by: { kind: 'tags' } | { kind: 'rule'; prefix: string } | { kind: 'default' } | { kind: 'fallback' };
    }
  | { kind: 'reject'; rejection: AssessmentRejected; connector?: C | undefined };

/** The connector a file goes to, by its key and tags (see the order above); never reads a system. */
export function chooseConnector<C extends ConnectorRoute>(
  key: string,
  tags: readonly S3Tag[],
  connectors: readonly C[],
): ConnectorChoice<C> {
  if (connectors.length === 0)
    throw new ConnectorConfigError('no connector is configured: the environment must configure iBinder at least');
  // Tag keys are case-sensitive, but a case slip still says which system was meant; its parser reports the slip.
  const tagged = (Object.entries(KNOWN_TAG_NAMESPACES) as [ConnectorName, string][])
    .map(([name, namespace]) => ({ name, key: tags.find((t) => t.Key.toLowerCase().startsWith(namespace))?.Key }))
    .filter((t): t is { name: ConnectorName; key: string } => t.key !== undefined);
  if (tagged.length > 1) {
    const [first, second] = tagged as [{ name: ConnectorName; key: string }, { name: ConnectorName; key: string }];
    return reject('mixed-namespaces', {
      code: 'tags',
      field: `${first.key}, ${second.key}`,
      message: `the object carries tags of two systems (${first.key} and ${second.key}): a file goes to one system only`,
      fix: `keep the tags of the system the file belongs to (${first.name}: or ${second.name}:) and remove the others`,
    });
  }
  if (tagged.length === 1) {
    const [only] = tagged as [{ name: ConnectorName; key: string }];
    const connector = connectors.find((c) => c.name === only.name);
    if (connector === undefined) {
      return reject('connector-not-configured', {
        code: 'tags',
        field: only.key,
        message: `the object is tagged for ${only.name} (${only.key}), but this environment does not configure ${only.name}`,
        fix: `use the tags of a configured system (${connectors.map((c) => c.tagNamespace).join(', ')}), or configure ${only.name} for the environment`,
      });
    }
    return { kind: 'chosen', connector, by: { kind: 'tags' } };
  }
  let best: { connector: C; prefix: string } | undefined;
  for (const connector of connectors) {
    for (const prefix of connector.routingPrefixes) {
      if (key.startsWith(prefix) && (best === undefined || prefix.length > best.prefix.length)) best = { connector, prefix };
    }
  }
  if (best !== undefined) return { kind: 'chosen', connector: best.connector, by: { kind: 'rule', prefix: best.prefix } };
  const withDefault = connectors.find((c) => c.hasDefaultTarget);
  if (withDefault !== undefined) return { kind: 'chosen', connector: withDefault, by: { kind: 'default' } };
  return {
    kind: 'chosen',
    connector: connectors.find((c) => c.name === 'ibinder') ?? (connectors[0] as C),
    by: { kind: 'fallback' },
  };
}

/** The ingest's decision for one object: the connector chosen, then that connector's assessment. Shared by the ingest and `check`. */
export async function assessObject(
  input: AssessmentInput,
  connectors: readonly IngestConnector[],
  hooks?: AssessmentHooks,
): Promise<{ connector?: IngestConnector | undefined; assessment: Assessment }> {
  const choice = chooseConnector(input.key, input.tags, connectors);
  if (choice.kind === 'reject') return { connector: choice.connector, assessment: choice.rejection };
  return { connector: choice.connector, assessment: await choice.connector.assess(input, hooks) };
}

function reject<C extends ConnectorRoute>(cause: string, problem: Problem): ConnectorChoice<C> {
  return { kind: 'reject', rejection: { kind: 'reject', cause, problems: [problem] } };
}

function isConnector(value: ConfiguredConnectorsOptions['ibinder']): value is IngestConnector {
  return typeof (value as Partial<IngestConnector>).assess === 'function';
}
