/**
 * Process entry of the CLI (bin/ibinder-pipeline.js loads it). The shared code logs through
 * the Powertools logger, which writes info lines to stdout; a CLI keeps stdout for results, so
 * only warnings and errors (which go to stderr) are let through unless POWERTOOLS_LOG_LEVEL
 * says otherwise. Set before the CLI's modules load, because the logger reads it on creation.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// Local tooling runs on Node 20 by design (package.json engines); the SDK's notice that future
// versions need Node 22 would otherwise open every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { runCli } = await import('./run.js');
const { processIo } = await import('./io.js');
process.exitCode = await runCli(process.argv.slice(2), processIo());

export {};
