/**
 * Builds what a command needs from the global options: the environment, the iBinder client
 * and the AWS clients, each on first use, so that `binders` never touches AWS and `status`
 * never asks for iBinder credentials. Every client can be handed in (`CliDependencies`), so
 * tests run the commands against fakes or local servers without touching process.env.
 *
 * AWS clients read endpoint, region and credentials from the CLI's variables (io.env), as the
 * SDK would from the process's: `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` point them at
 * local servers, with path-style S3 addressing (shared/aws/clients.ts).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createS3Client } from '../shared/aws/clients.js';
import { PipelineConfigSchema, type PipelineConfig } from '../shared/config/runtime.js';
import {
  CLIENT_ID_ENV,
  CLIENT_SECRET_ENV,
  CredentialsError,
  credentialsFromEnv,
  resolveCredentialsProvider,
  type CredentialsProvider,
} from '../shared/credentials.js';
import { createIBinderClient, type HttpIBinderClientOptions, type IBinderClient } from '../shared/connectors/ibinder/index.js';
import {
  BynderConfigSchema,
  type BynderClient,
  type BynderConfig,
  type BynderConnector,
  type BynderCredentialsProvider,
  type HttpBynderClientOptions,
} from '../shared/connectors/bynder/index.js';
import { awsClientConfig, type AwsClientConfig } from './aws-client-config.js';
import { isUnreachable, labelAwsErrors } from './aws-request-label.js';
import type { SelectedEnvironment } from './environment.js';
import { ServiceError, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { BYNDER_ENV, ENV_VARS, type GlobalOptions } from './options.js';
import { Output } from './output.js';
import { RESOURCES, StackOutputs, type ResourceName } from './stack-outputs.js';
import { toCliError } from './to-cli-error.js';

/** Everything a test (or the demo) may hand in instead of what the context would build. */
export interface CliDependencies {
  createIBinderClient?: (options: HttpIBinderClientOptions) => IBinderClient;
  /** Builds the Bynder client (default the HTTP one); tests wrap or replace it. */
  createBynderClient?: (options: HttpBynderClientOptions) => BynderClient | Promise<BynderClient>;
  s3?: S3Client;
  dynamo?: DynamoDBDocumentClient;
  sqs?: SQSClient;
  cloudFormation?: CloudFormationClient;
  secretsManager?: SecretsManagerClient;
  lambda?: LambdaClient;
  /** The clock (grace periods, progress rates). */
  now?: () => Date;
  /** Waits between polls (export --remote); tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/** Where the iBinder API is, and for which tenant. */
export interface IBinderEndpoint {
  apiBaseUrl: string;
  tokenUrl: string;
  tenantId: string;
}

/** Placeholder of the secret name when no environment is chosen (credentials then come from variables). */
const NO_SECRET = '(none: no --env given)';

export class CliContext {
  readonly output: Output;
  readonly now: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  private ibinderClient: IBinderClient | undefined;
  private bynderConnector: Promise<BynderConnector> | undefined;
  private bynderHttpClient: Promise<BynderClient> | undefined;
  private stackOutputs: StackOutputs | undefined;
  private readonly clients: CliDependencies;

  private constructor(
    readonly options: GlobalOptions,
    readonly io: CliIo,
    /** The chosen environment (`--env` or IBINDER_PIPELINE_ENV), or undefined when none is. */
    readonly environment: SelectedEnvironment | undefined,
    deps: CliDependencies,
  ) {
    this.output = new Output(io, options.json);
    this.now = deps.now ?? (() => new Date());
    this.sleep = deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.clients = { ...deps };
  }

  /** Loads the environment first, so that a wrong `--env` fails before anything else happens. */
  static async create(options: GlobalOptions, io: CliIo, deps: CliDependencies = {}): Promise<CliContext> {
    const name = options.env ?? nonEmpty(io.env[ENV_VARS.environment]);
    // Loaded on demand: the stack's config schema pulls in aws-cdk-lib, which `--help` should not wait for.
    const environment =
      name !== undefined
        ? await (await import('./environment.js')).loadEnvironment(name, options.config, io.cwd ?? process.cwd())
        : undefined;
    return new CliContext(options, io, environment, deps);
  }

  get cwd(): string {
    return this.io.cwd ?? process.cwd();
  }

  /**
   * The runtime config the ingest would use: the environment's, or (no environment) one with no
   * routing rules and no default target, so that only the object's own tags decide (Bynder among
   * the connectors when BYNDER_PORTAL_URL names a portal).
   */
  pipelineConfig(): PipelineConfig {
    const env = this.environment;
    if (env) return env.pipeline;
    const endpoint = this.ibinderEndpoint();
    const portalUrl = nonEmpty(this.io.env[BYNDER_ENV.portalUrl]);
    return PipelineConfigSchema.parse({
      environment: 'none',
      ...endpoint,
      credentialsSecretName: NO_SECRET,
      ...(portalUrl !== undefined ? { bynder: this.bynderFromVariables(portalUrl) } : {}),
    });
  }

  /** API URL, token URL and tenant: flags, then IBINDER_* variables, then the environment. */
  ibinderEndpoint(): IBinderEndpoint {
    const env = this.environment;
    const pick = (flag: string | undefined, variable: string, fromConfig: string | undefined, what: string, option: string): string => {
      const fromVariable = nonEmpty(this.io.env[variable]);
      const value = flag ?? fromVariable ?? fromConfig;
      if (value === undefined) {
        throw new UsageError(`the iBinder ${what} is not known`, `pass --env <name>, or ${option} <value>, or set ${variable}`);
      }
      if (env && flag === undefined && fromVariable !== undefined && fromVariable !== fromConfig) {
        this.output.note(`note: ${variable} overrides the ${what} of environment "${env.name}"`);
      }
      return value;
    };
    return {
      apiBaseUrl: pick(this.options.apiUrl, ENV_VARS.apiUrl, env?.config.apiBaseUrl, 'API URL', '--api-url'),
      tokenUrl: pick(this.options.tokenUrl, ENV_VARS.tokenUrl, env?.config.tokenUrl, 'token URL', '--token-url'),
      tenantId: pick(this.options.tenant, ENV_VARS.tenant, env?.config.tenantId, 'tenant (organisation id)', '--tenant'),
    };
  }

  /** The iBinder client, with credentials from the variables or the environment's secret. */
  ibinder(): IBinderClient {
    if (this.ibinderClient === undefined) {
      const endpoint = this.ibinderEndpoint();
      const credentials = this.credentialsProvider();
      const create = this.clients.createIBinderClient ?? createIBinderClient;
      // An operator waits at the terminal: fewer, shorter retries than a Lambda.
      this.ibinderClient = create({ ...endpoint, credentials, maxAttempts: 3, maxRetryTimeMs: 20_000 });
    }
    return this.ibinderClient;
  }

  /**
   * The environment's Bynder settings (`bynder` in its cdk.json entry), with the portal URL
   * overridden by BYNDER_PORTAL_URL (the emulator). Without a `bynder` block there is nothing
   * to talk to: a usage error that says what to add.
   */
  bynderSettings(): BynderConfig {
    const env = this.environment;
    const portalUrl = nonEmpty(this.io.env[BYNDER_ENV.portalUrl]);
    if (!env) {
      if (portalUrl === undefined) {
        throw new UsageError(
          'no Bynder portal is known: neither --env nor BYNDER_PORTAL_URL is set',
          `pass --env <name> of an environment whose cdk.json entry has a "bynder" block, or set ${BYNDER_ENV.portalUrl} ` +
            `and ${BYNDER_ENV.clientId} / ${BYNDER_ENV.clientSecret} (or ${BYNDER_ENV.permanentToken})`,
        );
      }
      return this.bynderFromVariables(portalUrl);
    }
    const bynder = env.pipeline.bynder;
    if (bynder === undefined) {
      throw new UsageError(
        `environment "${env.name}" does not configure Bynder (its entry in ${env.source} has no "bynder" block)`,
        `add "bynder": {"portalUrl": "https://<portal>.bynder.com", "credentialsSecretName": "ibinder-pipeline/${env.name}/bynder-client"} ` +
          `to context.environments.${env.name} in ${env.source} (see README: the bynder settings), or choose another environment with --env`,
      );
    }
    if (portalUrl === undefined || portalUrl === bynder.portalUrl) return bynder;
    this.output.note(`note: ${BYNDER_ENV.portalUrl} overrides the Bynder portal URL of environment "${env.name}"`);
    // The token URL follows the portal: the environment's would point at the real one.
    const { tokenUrl: _portalsTokenUrl, ...rest } = bynder;
    return { ...rest, portalUrl };
  }

  /** Without an environment: the portal of BYNDER_PORTAL_URL with the connector's defaults (no rules, no default brand). */
  private bynderFromVariables(portalUrl: string): BynderConfig {
    const parsed = BynderConfigSchema.safeParse({ portalUrl, credentialsSecretName: NO_SECRET });
    if (!parsed.success) {
      throw new UsageError(`${BYNDER_ENV.portalUrl} is not a URL`, `set it to the portal's base URL, e.g. https://example.bynder.com`);
    }
    return parsed.data;
  }

  /**
   * The Bynder connector as the ingest builds it: the environment's settings, credentials from
   * BYNDER_CLIENT_ID / BYNDER_CLIENT_SECRET (or BYNDER_PERMANENT_TOKEN) when set, else the
   * environment's Bynder secret. Loaded on first use: the client's modules are not part of the
   * CLI's start.
   */
  bynder(): Promise<BynderConnector> {
    this.bynderConnector ??= this.createBynder();
    return this.bynderConnector;
  }

  /** The Bynder client the connector uses (the export reads through it); loaded on first use. */
  bynderClient(): Promise<BynderClient> {
    this.bynderHttpClient ??= this.createBynderClient();
    return this.bynderHttpClient;
  }

  private async createBynderClient(): Promise<BynderClient> {
    const settings = this.bynderSettings();
    const bynderModule = await import('../shared/connectors/bynder/index.js');
    const credentials = await this.bynderCredentials(settings, this.environment, bynderModule.createBynderSecretCredentials);
    const create = this.clients.createBynderClient ?? bynderModule.createBynderHttpClient;
    // An operator waits at the terminal: fewer, shorter retries than a Lambda.
    return create({ config: settings, credentials, maxAttempts: 3, maxDelayMs: 2_000 });
  }

  private async createBynder(): Promise<BynderConnector> {
    const settings = this.bynderSettings();
    const env = this.environment;
    const bynderModule = await import('../shared/connectors/bynder/index.js');
    const client = await this.bynderClient();
    return bynderModule.createBynderConnector({
      config: settings,
      client,
      untaggedGraceSeconds: env?.pipeline.untaggedGraceSeconds,
      maxFileSizeBytes: env?.pipeline.maxFileSizeBytes,
      now: this.now,
    });
  }

  private async bynderCredentials(
    settings: BynderConfig,
    env: SelectedEnvironment | undefined,
    fromSecret: typeof import('../shared/connectors/bynder/index.js').createBynderSecretCredentials,
  ): Promise<BynderCredentialsProvider> {
    const id = nonEmpty(this.io.env[BYNDER_ENV.clientId]);
    const secret = nonEmpty(this.io.env[BYNDER_ENV.clientSecret]);
    const token = nonEmpty(this.io.env[BYNDER_ENV.permanentToken]);
    if ((id === undefined) !== (secret === undefined)) {
      throw new UsageError(
        `only one of ${BYNDER_ENV.clientId} and ${BYNDER_ENV.clientSecret} is set`,
        `set both, or unset both to use the environment's Bynder secret "${settings.credentialsSecretName}"`,
      );
    }
    if (id !== undefined && secret !== undefined) return () => Promise.resolve({ clientId: id, clientSecret: secret });
    if (token !== undefined) return () => Promise.resolve({ permanentToken: token });
    if (env === undefined) {
      throw new UsageError(
        'no Bynder credentials: neither --env nor the Bynder credential variables are set',
        `set ${BYNDER_ENV.clientId} and ${BYNDER_ENV.clientSecret} (or ${BYNDER_ENV.permanentToken}), or pass --env <name> to read the environment's Bynder secret`,
      );
    }
    const secretName = settings.credentialsSecretName;
    const read = await fromSecret({ secretName, secretsManager: this.secretsManager() });
    return async () => {
      try {
        return await read();
      } catch (err) {
        if (!(err instanceof CredentialsError)) throw err;
        const readFailure = err.cause instanceof Error ? err.cause : undefined;
        if (readFailure && isUnreachable(readFailure)) {
          const unreachable = toCliError(readFailure);
          throw new ServiceError(
            `no Bynder credentials for environment "${env.name}" (secret "${secretName}"): ${unreachable.message}`,
            unreachable.hint,
            { cause: err },
          );
        }
        throw new UsageError(
          readFailure
            ? `no Bynder credentials for environment "${env.name}": could not read Secrets Manager secret "${secretName}" in ${env.config.region} (${readFailure.name})`
            : `no Bynder credentials for environment "${env.name}": ${err.message}`,
          `make sure your AWS credentials may read secret "${secretName}" in ${env.config.region}, ` +
            `or set ${BYNDER_ENV.clientId} and ${BYNDER_ENV.clientSecret} (or ${BYNDER_ENV.permanentToken})`,
          { cause: err },
        );
      }
    };
  }

  /**
   * IBINDER_CLIENT_ID / IBINDER_CLIENT_SECRET when set, else the environment's Secrets Manager
   * secret. A missing credential is a usage error that names the variables or the secret.
   */
  credentialsProvider(): CredentialsProvider {
    const env = this.environment;
    const set = [CLIENT_ID_ENV, CLIENT_SECRET_ENV].filter((name) => nonEmpty(this.io.env[name]) !== undefined);
    if (set.length === 1) {
      try {
        credentialsFromEnv(this.io.env);
      } catch (err) {
        throw new UsageError(
          (err as Error).message,
          `set both ${CLIENT_ID_ENV} and ${CLIENT_SECRET_ENV}, or unset both to use the environment's secret`,
        );
      }
    }
    if (set.length === 2) {
      const credentials = credentialsFromEnv(this.io.env);
      return () => Promise.resolve(credentials);
    }
    if (!env) {
      throw new UsageError(
        'no iBinder credentials: neither --env nor the credential variables are set',
        `set ${CLIENT_ID_ENV} and ${CLIENT_SECRET_ENV} (and ${ENV_VARS.tenant}), or pass --env <name> to read the environment's Secrets Manager secret`,
      );
    }
    const secretName = env.pipeline.credentialsSecretName;
    const fromSecret = resolveCredentialsProvider(env.pipeline, this.io.env, this.secretsManager());
    return async () => {
      try {
        return await fromSecret();
      } catch (err) {
        if (!(err instanceof CredentialsError)) throw err;
        // The shared message speaks to a deployed function; the operator gets one about their own credentials.
        const readFailure = err.cause instanceof Error ? err.cause : undefined;
        if (readFailure && isUnreachable(readFailure)) {
          const unreachable = toCliError(readFailure);
          throw new ServiceError(
            `no iBinder credentials for environment "${env.name}" (secret "${secretName}"): ${unreachable.message}`,
            unreachable.hint,
            {
              cause: err,
            },
          );
        }
        throw new UsageError(
          readFailure
            ? `no iBinder credentials for environment "${env.name}": could not read Secrets Manager secret "${secretName}" in ${env.config.region} (${readFailure.name}: ${readFailure.message})`
            : `no iBinder credentials for environment "${env.name}": ${err.message}`,
          `make sure your AWS credentials may read secret "${secretName}" in ${env.config.region}, ` +
            `or set ${CLIENT_ID_ENV} and ${CLIENT_SECRET_ENV} to use credentials from variables`,
          { cause: err },
        );
      }
    };
  }

  /**
   * A resource name: the flag, else the stack output of the environment. Without either, the
   * error names the flag and the `--env` alternative.
   */
  async resource(name: ResourceName): Promise<string> {
    const explicit = this.options.resources[name];
    if (explicit !== undefined) return explicit;
    const spec = RESOURCES[name];
    const env = this.environment;
    if (!env) {
      throw new UsageError(
        `the ${spec.what} is not known`,
        `pass ${spec.flag} <value>, or --env <name> to read it from the stack's outputs`,
      );
    }
    if (!this.stackOutputs) {
      // The stack module pulls in aws-cdk-lib: loaded only when a name has to come from the stack.
      const stackName = this.options.stackName ?? (await import('../infra/pipeline-stack.js')).pipelineStackName(env.name);
      this.stackOutputs = new StackOutputs(this.cloudFormation(), stackName, this.options.region ?? env.config.region, env.name);
    }
    return this.stackOutputs.get(name);
  }

  s3(): S3Client {
    this.clients.s3 ??= this.labelled(createS3Client({ ...this.awsConfig('S3') }, this.io.env), 'Amazon S3', 'S3');
    return this.clients.s3;
  }

  dynamo(): DynamoDBDocumentClient {
    // The document client shares the base client's middleware stack, so the label reaches it.
    this.clients.dynamo ??= createDocumentClient(
      this.labelled(new DynamoDBClient(this.awsConfig('DYNAMODB')), 'Amazon DynamoDB', 'DYNAMODB'),
    );
    return this.clients.dynamo;
  }

  sqs(): SQSClient {
    this.clients.sqs ??= this.labelled(new SQSClient(this.awsConfig('SQS')), 'Amazon SQS', 'SQS');
    return this.clients.sqs;
  }

  cloudFormation(): CloudFormationClient {
    this.clients.cloudFormation ??= this.labelled(
      new CloudFormationClient(this.awsConfig('CLOUDFORMATION')),
      'AWS CloudFormation',
      'CLOUDFORMATION',
    );
    return this.clients.cloudFormation;
  }

  secretsManager(): SecretsManagerClient {
    this.clients.secretsManager ??= this.labelled(
      new SecretsManagerClient(this.awsConfig('SECRETS_MANAGER')),
      'AWS Secrets Manager',
      'SECRETS_MANAGER',
    );
    return this.clients.secretsManager;
  }

  lambda(): LambdaClient {
    this.clients.lambda ??= this.labelled(new LambdaClient(this.awsConfig('LAMBDA')), 'AWS Lambda', 'LAMBDA');
    return this.clients.lambda;
  }

  /** Labels the client's errors with the service and where its requests go (see aws-request-label.ts). */
  private labelled<T extends object>(client: T, service: string, envSuffix: string): T {
    const { endpoint, region } = this.awsConfig(envSuffix);
    return labelAwsErrors(
      client,
      service,
      endpoint !== undefined ? endpoint : region !== undefined ? `region ${region}` : 'the default region',
    );
  }

  /** Region, endpoint and credentials for one service's client (aws-client-config.ts). */
  private awsConfig(serviceEnvSuffix: string): AwsClientConfig {
    return awsClientConfig(this.options, this.environment?.config.region, this.io.env, serviceEnvSuffix);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}
