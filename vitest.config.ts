import { availableParallelism } from 'node:os';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * Files that measure a rate or throw a burst at a node, and so must not share the machine with other
 * test files: they run alone, after the rest. Everything else runs at least two files at a time (most test
 * files spend their time waiting on sockets, child processes and timers, not on the CPU).
 */
const alone = ['test/e2e/limits-across-nodes.test.ts', 'test/e2e/burst.test.ts', 'test/e2e/delivery-shaping.test.ts', 'test/bench/**/*.test.ts'];

/**
 * The files that take longest (one to three minutes each: several nodes, kills, outages). A fresh
 * clone (CI) has no record of earlier durations, and vitest then starts the largest files first; these
 * would start late and leave one worker running them alone at the end. Later runs on one checkout use
 * vitest's own record of durations instead.
 */
const slowest = ['test/e2e/scale-out.test.ts', 'test/e2e/event-outage.test.ts', 'test/e2e/cli-queue.test.ts', 'test/e2e/smtp-submission.test.ts', 'test/e2e/crash-recovery.test.ts', 'test/e2e/identity-verification.test.ts'];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = slowest.findIndex((s) => f.moduleId.endsWith(s));
      return i === -1 ? slowest.length : i;
    };
    const known = (f: TestSpecification) => this.ctx.cache.getFileTestResults(`${f.project.name}:${f.moduleId.slice(this.ctx.config.root.length + 1)}`) !== undefined;
    if (sorted.some(known)) return sorted;
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return sorted.sort((a, b) => a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder || rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    sequence: { sequencer: SlowestFirst },
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
