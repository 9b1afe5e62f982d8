/**
 * Process entry of the CLI (bin/ibinder-pipeline.js loads it, compiled or from source).
 *
 * The pipeline code logs through the Powertools Logger, made for Lambda: JSON lines, info on
 * stdout. Two variables are set before any module creates the logger, because it reads them
 * on creation:
 * - POWERTOOLS_DEV makes it write through the global console, which the CLI routes while a
 *   command runs (cli/log-route.ts): warnings as one human line on stderr, raw lines with
 *   --debug, nothing on stdout;
 * - POWERTOOLS_LOG_LEVEL defaults to WARN (what is shown without --debug; --debug lowers it).
 */
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// Local tooling runs on Node 20 by design (package.json engines); the SDK's notice that future
// versions need Node 22 would otherwise open every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `ibinder-pipeline ... | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const { runCli } = await import('./run.js');
const { processIo } = await import('./io.js');
process.exitCode = await runCli(process.argv.slice(2), processIo());

export {};
