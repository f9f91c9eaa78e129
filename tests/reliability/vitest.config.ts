import { defineConfig } from 'vitest/config';

// Real processes, real services, outages of a minute: one file at a time, generous timeouts.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    globalSetup: ['./test/support/report-setup.ts'],
  },
});
