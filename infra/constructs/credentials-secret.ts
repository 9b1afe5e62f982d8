/**
 * The Secrets Manager secret with one connector's API client credentials (iBinder's
 * `{"clientId","clientSecret"}`; Bynder's the same, or `{"permanentToken"}`).
 *
 * The client is issued by the document system, so the real value never passes through the CDK app: either
 * the secret exists already and is imported by name, or the stack creates it holding an empty
 * placeholder that an operator overwrites with `aws secretsmanager put-secret-value`.
 * CloudFormation only writes the secret string when the template's value changes, and the
 * placeholder never changes, so later deploys leave the operator's value alone.
 */
import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** What a created secret holds until an operator puts the real client credentials in. */
export const CREDENTIALS_PLACEHOLDER = { clientId: '', clientSecret: '' } as const;

export interface CredentialsSecretProps {
  readonly secretName: string;
  /** The document system that issues the client, in the description and the nag reason. @default 'iBinder' */
  readonly issuer?: string;
  /** @default '<issuer> API client credentials {"clientId","clientSecret"}; created empty, filled in by an operator.' */
  readonly description?: string;
  /** Create the secret (with the placeholder) instead of importing an existing one. */
  readonly create: boolean;
  /** For a created secret. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export class CredentialsSecret extends Construct {
  readonly secret: secretsmanager.ISecret;
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: CredentialsSecretProps) {
    super(scope, id);
    this.secretName = props.secretName;
    if (!props.create) {
      this.secret = secretsmanager.Secret.fromSecretNameV2(this, 'Imported', props.secretName);
      return;
    }
    const issuer = props.issuer ?? 'iBinder';
    const secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: props.secretName,
      description:
        props.description ?? `${issuer} API client credentials {"clientId","clientSecret"}; created empty, filled in by an operator.`,
      // An empty placeholder, not a credential: nothing secret is in the template.
      secretStringValue: SecretValue.unsafePlainText(JSON.stringify(CREDENTIALS_PLACEHOLDER)),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        `The secret holds a third-party OAuth client issued by ${issuer}; AWS cannot rotate it. It is rotated ` +
        `in ${issuer} and written here by an operator.`,
    });
    this.secret = secret;
  }
}
