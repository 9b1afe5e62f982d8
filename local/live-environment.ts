/**
 * Imported first by `npm run local`, before any module that creates a logger, metrics or an AWS
 * client: the functions' JSON log lines are right for CloudWatch and noise in a terminal that
 * shows one line per invocation (`--verbose` keeps them, warnings always show), and the AWS
 * SDK's notice about Node.js 22 does not concern local tooling.
 */
export const verbose = process.argv.includes('--verbose');

if (!verbose) {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
