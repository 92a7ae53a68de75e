import { defineConfig } from 'vitest/config';
import { packageConfig } from '../../tools/vitest.shared.ts';

export default defineConfig(
  packageConfig('train', { test: { setupFiles: ['../../tools/vitest.setup.ts'], testTimeout: 180_000 } }),
);
