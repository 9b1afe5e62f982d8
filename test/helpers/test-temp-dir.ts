/**
 * Each test file gets a temporary directory of its own as TMPDIR, removed after its last test.
 * The CDK synthesizes an App without an `outdir` into a fresh `cdk.out*` directory under the
 * system's temporary directory and never removes it: the infra tests left about 70 of them
 * behind on every run. Whatever else a test or a library puts under `os.tmpdir()` goes the same
 * way; tests that clean up after themselves still do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const systemTmp = tmpdir();
const dir = mkdtempSync(join(systemTmp, 'ibinder-pipeline-test-'));
process.env.TMPDIR = dir;

afterAll(() => {
  process.env.TMPDIR = systemTmp;
  rmSync(dir, { recursive: true, force: true });
});
