import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // PGlite (WebAssembly, one connection) is several times slower than PostgreSQL, more so on a
    // shared machine: its leg gets longer budgets; no assertion changes.
    testTimeout: process.env.TEST_DATABASE === 'pglite' ? 90_000 : 30_000,
    hookTimeout: process.env.TEST_DATABASE === 'pglite' ? 120_000 : 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // Each file gets its own PostgreSQL database and Redis key prefix; two cores, two at a time.
    maxWorkers: 2,
  },
});
