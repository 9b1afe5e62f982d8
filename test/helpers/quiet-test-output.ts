/**
 * vitest setup file: a passing test prints nothing between vitest's lines. What a test writes
 * straight to stdout or stderr (the Powertools Logger's and Metrics' JSON lines) is held and
 * printed only when the test fails, under the test's name; output of module loading and
 * `beforeAll` hooks goes with the test that follows. What goes through the global `console`
 * is vitest's to show: `silent: 'passed-only'` in vitest.config.ts does the same for it.
 */
import { beforeEach } from 'vitest';
import { TestOutputCapture } from './test-output-capture.js';

export const testOutputCapture = new TestOutputCapture({ stdout: process.stdout, stderr: process.stderr });
testOutputCapture.start();

beforeEach((context) => {
  context.onTestFinished(() => {
    if (context.task.result?.state === 'fail') testOutputCapture.replay(`output of "${context.task.fullName}" (printed because it failed)`);
    else testOutputCapture.discard();
  });
});
