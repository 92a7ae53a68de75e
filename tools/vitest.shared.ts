import { defaultServerConditions } from 'vite';
import { mergeConfig, type UserConfig } from 'vitest/config';

/**
 * Shared Vitest settings. Tests import workspace packages from their TypeScript sources through the
 * `@anchor-refine/source` export condition (Vitest 4 honours it only under `ssr.resolve.conditions`).
 */
export const shared: UserConfig = {
  ssr: { resolve: { conditions: ['@anchor-refine/source', ...defaultServerConditions] } },
  test: {
    pool: 'forks',
    // Native kernels use every core themselves; parallel files would only oversubscribe 2 cores.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
};

export function packageConfig(name: string, extra: UserConfig = {}): UserConfig {
  return mergeConfig(shared, mergeConfig({ test: { name } }, extra));
}
