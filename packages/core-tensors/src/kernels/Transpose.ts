/** Transpose (native): float32, any perm up to rank 6, via ct_transpose_run; other dtypes use tfjs-cpu. */
import { transposeKernel } from './elementwise_kernels.js';

export const transposeConfig = transposeKernel();
