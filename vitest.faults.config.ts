import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault and overload tests (test/faults). Each test starts and controls
// its own redis-server and worker process, so there is no global setup, and files run one at a time
// (signals and timing stay readable; the main suite stays fast without them).
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-faults-report.json' }]],
  },
});
