/**
 * Imported first by the demo, before any module that creates a logger, metrics or an AWS
 * client: the functions' structured JSON logs and EMF metric lines are right for CloudWatch
 * and noise in a terminal demo (`--verbose` keeps them), and the AWS SDK's notice that its
 * releases from 2027 need Node.js 22 does not concern the demo (local tooling runs on Node 20;
 * Lambda runs the newest LTS).
 */
export const verbose = process.argv.includes('--verbose') || process.env.DEMO_VERBOSE === '1';

if (!verbose) {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
