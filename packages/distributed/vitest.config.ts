import { defineConfig } from 'vitest/config';
import { packageConfig } from '../../tools/vitest.shared.ts';

export default defineConfig(packageConfig('distributed'));
