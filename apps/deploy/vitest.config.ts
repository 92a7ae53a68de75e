import { defineConfig } from 'vitest/config';
import { packageConfig } from '../../tools/vitest.shared.ts';

// Tests run the policy only inside worker threads, so the tfjs setup file (main-thread leak checks) is not needed.
export default defineConfig(packageConfig('deploy'));
