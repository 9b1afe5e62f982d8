/**
 * AWS resource names of an environment. The stack publishes them as CloudFormation outputs
 * (infra/pipeline-stack.ts `addOutputs`), so an operator never copies a generated bucket or
 * queue name by hand; an explicit flag still wins, for a local server or a stack under
 * another name.
 */
import { DescribeStacksCommand, type CloudFormationClient, type Output } from '@aws-sdk/client-cloudformation';
import { isUnreachable } from './aws-request-label.js';
import { ServiceError, UsageError } from './errors.js';
import { RESOURCES, type ResourceName } from './resources.js';

export { RESOURCES, type ResourceName } from './resources.js';

/** Reads a stack's outputs once (DescribeStacks) and serves them by output key. */
export class StackOutputs {
  private outputs: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly cloudFormation: CloudFormationClient,
    readonly stackName: string,
    readonly region: string | undefined,
    /** The environment name, for the `cdk deploy` hint. */
    private readonly envName: string,
  ) {}

  async get(resource: ResourceName): Promise<string> {
    const { output, flag, what } = RESOURCES[resource];
    const outputs = await (this.outputs ??= this.load());
    const value = outputs.get(output);
    if (value === undefined) {
      throw new UsageError(
        `stack ${this.stackName} has no output "${output}" (the ${what})`,
        `deploy the current stack (npx cdk deploy -c env=${this.envName}), or pass ${flag} <value>`,
      );
    }
    return value;
  }

  private async load(): Promise<Map<string, string>> {
    const where = `${this.stackName}${this.region ? ` in ${this.region}` : ''}`;
    let outputs: Output[];
    try {
      const out = await this.cloudFormation.send(new DescribeStacksCommand({ StackName: this.stackName }));
      outputs = out.Stacks?.[0]?.Outputs ?? [];
    } catch (err) {
      // No answer at all: toCliError names CloudFormation and where the request went.
      if (isUnreachable(err)) throw err;
      const name = err instanceof Error ? err.name : 'Error';
      const message = err instanceof Error ? err.message : String(err);
      if (name === 'ValidationError' && /does not exist/i.test(message)) {
        throw new UsageError(
          `stack ${where} does not exist (or these AWS credentials belong to another account)`,
          `deploy it with npx cdk deploy -c env=${this.envName}, check AWS_PROFILE / the account of your credentials, or pass the resource names as flags (${Object.values(
            RESOURCES,
          )
            .map((r) => r.flag)
            .join(', ')})`,
          { cause: err },
        );
      }
      if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
        throw new UsageError(
          `no AWS credentials to read the outputs of stack ${where}: ${message}`,
          "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for the environment's account",
          { cause: err },
        );
      }
      throw new ServiceError(
        `could not read the outputs of stack ${where}: ${name}: ${message}`,
        'check your AWS credentials and their cloudformation:DescribeStacks permission, or pass the resource names as flags',
        { cause: err },
      );
    }
    return new Map(outputs.flatMap((o) => (o.OutputKey && o.OutputValue ? [[o.OutputKey, o.OutputValue] as [string, string]] : [])));
  }
}
