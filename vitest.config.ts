import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // CDK synth with esbuild bundling and the local servers are CPU heavy; two cores on CI.
    pool: 'forks',
    restoreMocks: true,
    // Log lines of passing tests stay out of the report: console output through vitest's own
    // option, direct stdout/stderr writes (the Powertools JSON lines) through the setup file.
    silent: 'passed-only',
    // Each file's temporary files (the CDK's cdk.out directories among them) are removed after it.
    setupFiles: ['test/helpers/quiet-test-output.ts', 'test/helpers/test-temp-dir.ts'],
    env: {
      // The SDK warns on every client that Node 20 support ends in 2027; Lambda runs Node 24.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
