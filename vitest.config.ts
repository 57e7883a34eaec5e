import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{log,broker,replication,client,test}/**/*.test.ts'],
    // Storage tests fsync and spawn processes; give them room on a shared 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
