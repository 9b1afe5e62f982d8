/**
 * Imported first by `npm run drill`, before any module that creates a logger, metrics or an AWS
 * client: a thousand files through the ingest would print thousands of JSON log and metric
 * lines; `--verbose` keeps them.
 */
export const verbose = process.argv.includes('--verbose');

if (!verbose) {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
