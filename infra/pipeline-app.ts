/**
 * Builds the CDK app for the environment chosen with `-c env=<name>`: reads its entry from the
 * `environments` context (cdk.json), validates it, and adds that environment's stack. With
 * `-c nag=true` the cdk-nag AwsSolutions checks run during synth as well.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadEnvironmentConfig } from './config.js';
import { PipelineStack, pipelineStackName } from './pipeline-stack.js';

export interface PipelineApp {
  readonly app: App;
  readonly stack: PipelineStack;
  readonly envName: string;
}

/** Context values arrive as strings from the command line and as JSON from cdk.json. */
function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

export function createPipelineApp(props: AppProps = {}): PipelineApp {
  const app = new App(props);
  const envName: unknown = app.node.tryGetContext('env');
  const config = loadEnvironmentConfig(app.node.tryGetContext('environments'), envName);
  const name = envName as string;
  const stack = new PipelineStack(app, pipelineStackName(name), { envName: name, config });
  if (isTrue(app.node.tryGetContext('nag'))) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  }
  return { app, stack, envName: name };
}
