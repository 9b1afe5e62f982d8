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
  },
});
