/**
 * The credentials secrets of an environment's connectors: one Secrets Manager secret per
 * configured document system (iBinder always, Bynder when configured), each created with an
 * empty placeholder or imported by name (CredentialsSecret).
 *
 * Secure by default: created secrets are retained with the stack, nothing secret is in the
 * template, and no principal may read a secret until `grantRead` names it; the stack grants
 * the ingest and export functions only. Two connectors may not share a secret: their clients
 * are issued by different systems.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CredentialsSecret } from './credentials-secret.js';

export interface ConnectorSecret {
  /** The connector's name, e.g. `ibinder`, `bynder`: how `secretOf` finds it. */
  readonly connector: string;
  /** The document system that issues the client, e.g. `iBinder`; in the description and the nag reason. */
  readonly issuer: string;
  readonly secretName: string;
  /** Create the secret with the placeholder instead of importing it. @default false */
  readonly create?: boolean;
  /** For a created secret. @default the CredentialsSecret description for the issuer */
  readonly description?: string;
  /**
   * The id of the connector's CredentialsSecret. @default `<Connector>Credentials`, e.g. `BynderCredentials`
   * (the stack keeps iBinder's at `Credentials`, the id it had before there were other connectors).
   */
  readonly id?: string;
}

export interface ConnectorCredentialsProps {
  /** At least one. */
  readonly connectors: readonly ConnectorSecret[];
  /** For created secrets. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const pascalCase = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

export class ConnectorCredentials extends Construct {
  /** By connector name, in the order configured. */
  readonly secrets: ReadonlyMap<string, CredentialsSecret>;

  constructor(scope: Construct, id: string, props: ConnectorCredentialsProps) {
    super(scope, id);
    if (props.connectors.length === 0) {
      throw new Error(`${this.node.path}: no connector configured; give at least one connector's credentials secret.`);
    }
    const secrets = new Map<string, CredentialsSecret>();
    const byName = new Map<string, string>();
    for (const spec of props.connectors) {
      if (secrets.has(spec.connector)) {
        throw new Error(`${this.node.path}: connector "${spec.connector}" is listed twice; give each connector one secret.`);
      }
      const other = byName.get(spec.secretName);
      if (other !== undefined) {
        throw new Error(
          `${this.node.path}: connectors "${other}" and "${spec.connector}" both name the secret "${spec.secretName}"; ` +
            'each connector needs a secret of its own (their clients are issued by different systems).',
        );
      }
      byName.set(spec.secretName, spec.connector);
      secrets.set(
        spec.connector,
        new CredentialsSecret(this, spec.id ?? `${pascalCase(spec.connector)}Credentials`, {
          secretName: spec.secretName,
          create: spec.create ?? false,
          issuer: spec.issuer,
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
          ...(spec.description !== undefined ? { description: spec.description } : {}),
        }),
      );
    }
    this.secrets = secrets;
  }

  /** The connector's secret; throws when the connector is not configured. */
  secretOf(connector: string): CredentialsSecret {
    const secret = this.secrets.get(connector);
    if (!secret) {
      throw new Error(
        `${this.node.path}: no credentials secret for connector "${connector}"; configured: ${[...this.secrets.keys()].join(', ')}.`,
      );
    }
    return secret;
  }

  /** Read access (GetSecretValue, DescribeSecret) to every connector's secret, and nothing else. */
  grantRead(grantee: iam.IGrantable): void {
    for (const secret of this.secrets.values()) secret.secret.grantRead(grantee);
  }
}
