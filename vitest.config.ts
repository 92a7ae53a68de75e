import { defineConfig } from 'vitest/config';

// One-shot run over every package (`npx vitest run`); CI and `npm test` use it to count results.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts'],
    fileParallelism: false,
  },
});
