import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: '/work/main/packages/core-tensors',
  ssr: { resolve: { conditions: ['@anchor-refine/source', ...defaultServerConditions] } },
  test: {
    name: 'core-tensors',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['src/**/*.test.ts'],
    setupFiles: ['/work/main/tools/vitest.setup.ts'],
  },
});
