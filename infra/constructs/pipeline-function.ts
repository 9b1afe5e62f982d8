/**
 * A Lambda function of the pipeline, built the same way for ingest, planner and worker:
 * TypeScript bundled by the local esbuild (no Docker), ESM output on the newest Node.js LTS
 * runtime on ARM, its own log group with a retention, and its own role that may write only to
 * that log group. Grants for queues, tables, buckets and secrets are added by the stack.
 */
import { createRequire } from 'node:module';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEPS_LOCK_FILE, PROJECT_ROOT } from '../paths.js';

/**
 * ESM bundles have no `require`; a CommonJS dependency that requires a Node.js built-in needs
 * one. The alias keeps the banner from clashing with a bundled module's own `createRequire`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as pipelineCreateRequire } from 'node:module'; const require = pipelineCreateRequire(import.meta.url);";

/**
 * How every function is bundled, in esbuild's own terms, so that `bench/cold-start.ts` builds
 * exactly what the stack deploys and times its import.
 *
 * Cold start: the bundle is minified without `keepNames` and the runtime gets no
 * `--enable-source-maps`. Both were measured on the import of each function's bundle against a
 * bundle of its AWS SDK clients alone: `--enable-source-maps` made the import take about twice
 * as long (the runtime parses the whole map at load), and `keepNames` adds a call that renames
 * every function and class at import (about a tenth of the SDK's own import time for the
 * pipeline's code and packages). A stack trace in the logs therefore names minified
 * identifiers at `index.mjs:<line>:<column>`; the external source map (`index.mjs.map`, beside
 * the bundle in the asset, with no `sourceMappingURL` comment so the runtime never loads it)
 * maps each position back to the source file and line (README, "Reading a stack trace").
 */
export const PIPELINE_BUNDLING = {
  format: 'esm',
  platform: 'node',
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  minify: true,
  /** Off: see above; the source map names what the minifier renamed. */
  keepNames: false,
  /** esbuild's `external`: the map is written to a file, the bundle does not point at it. */
  sourcemap: 'external',
  sourcesContent: false,
} as const;

export interface PipelineFunctionProps {
  /** Absolute path of the TypeScript entry file; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** POWERTOOLS_SERVICE_NAME: the `service` key of every log line and metric. */
  readonly serviceName: string;
  /** POWERTOOLS_METRICS_NAMESPACE. */
  readonly metricsNamespace: string;
  readonly timeout: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
  /** Variables besides the Powertools ones this construct sets. */
  readonly environment: Record<string, string>;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** Applies to the log group. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Active X-Ray tracing. The pipeline's stack leaves it off: its handlers carry no Powertools
   * Tracer, so a trace would hold only Lambda's own segments (README, "Tracing"). @default false
   */
  readonly tracing?: boolean;
  /** Where failed asynchronous invocations go. @default none */
  readonly deadLetterQueue?: sqs.IQueue;
  /** @default Architecture.ARM_64 */
  readonly architecture?: lambda.Architecture;
  /** @default Runtime.NODEJS_24_X */
  readonly runtime?: lambda.Runtime;
}

/** Fails early, with the fix, instead of letting the CDK fall back to Docker bundling. */
function assertLocalEsbuild(): void {
  try {
    createRequire(import.meta.url).resolve('esbuild');
  } catch {
    throw new Error(
      'esbuild is not installed in this project: run `npm ci`. The functions are bundled with the local esbuild; ' + 'Docker is not used.',
    );
  }
}

export class PipelineFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    assertLocalEsbuild();

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole, whose log rights cover every log
    // group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    const runtime = props.runtime ?? lambda.Runtime.NODEJS_24_X;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 1024,
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...(props.deadLetterQueue ? { deadLetterQueue: props.deadLetterQueue } : {}),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: DEPS_LOCK_FILE,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        format: nodejs.OutputFormat.ESM,
        mainFields: [...PIPELINE_BUNDLING.mainFields],
        banner: PIPELINE_BUNDLING.banner,
        // The SDK versions the tests ran against, not whatever the runtime happens to ship.
        // Bundled rather than external: loading the runtime's SDK from node_modules measured slower.
        bundleAwsSDK: true,
        minify: PIPELINE_BUNDLING.minify,
        keepNames: PIPELINE_BUNDLING.keepNames,
        sourceMap: true,
        sourceMapMode: nodejs.SourceMapMode.EXTERNAL,
        sourcesContent: PIPELINE_BUNDLING.sourcesContent,
        logLevel: nodejs.LogLevel.ERROR,
      },
    });
  }
}
