/**
 * `npm run demo`: the whole pipeline on one machine, in about ten seconds, with nothing to set
 * up (see demo-run.ts for what it shows). Exit code 0 when every file ended as expected, 1
 * otherwise (with the reason). `--verbose` also prints the functions' JSON logs.
 */
import { verbose } from './demo-environment.js';
import { runDemo } from './demo-run.js';

runDemo({ say: (line = '') => process.stdout.write(`${line}\n`) }).then(
  (summary) => {
    process.exitCode = summary.ok ? 0 : 1;
  },
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\nThe demo failed: ${message}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write("Run `npm run demo -- --verbose` for the stack trace and the functions' logs.\n");
    process.exitCode = 1;
  },
);
