/**
 * CDK entry point (cdk.json: `npx tsx infra/app.ts`). One environment per invocation:
 *   npx cdk synth  -c env=dev
 *   npx cdk deploy -c env=prod
 * A configuration error is printed as-is (it names the field and the fix) instead of a stack trace.
 */
import { createPipelineApp } from './pipeline-app.js';
import { EnvironmentConfigError } from './errors.js';

try {
  createPipelineApp().app.synth();
} catch (err) {
  if (err instanceof EnvironmentConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
