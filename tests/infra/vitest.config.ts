import { defineConfig } from 'vitest/config';

// These tests start real processes and share one machine's CPUs: one file at a time.
export default defineConfig({
  test: {
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
