import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Files that measure a rate or throw a burst at a node, and so must not share the machine with other
 * test files: they run alone, after the rest. Everything else runs at least two files at a time (most test
 * files spend their time waiting on sockets, child processes and timers, not on the CPU).
 */
const alone = ['test/e2e/limits-across-nodes.test.ts', 'test/e2e/burst.test.ts', 'test/e2e/delivery-shaping.test.ts', 'test/bench/**/*.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    // The SDK clients are pinned test tools; their Node 22 notice is noise in every test file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: alone, maxWorkers: Math.max(2, availableParallelism() - 1), sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: alone, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
