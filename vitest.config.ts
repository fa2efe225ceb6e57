import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fault and overload tests run with `npm run test:faults` (vitest.faults.config.ts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default is one worker per core minus one: a single worker on a 2-core machine. Most
    // files wait on Redis, sockets and child processes, so three share two cores well (5.4 → ~3 min).
    maxWorkers: 3,
    // The JSON report is what .ci/run counts ("N passed, N failed"); vitest's own summary is for people.
    reporters: ['default', ['json', { outputFile: '.tmp/vitest-report.json' }]],
  },
});
