/** Mean (native): float32 over any axes via ct_reduce_run (no transpose); other dtypes use tfjs-cpu. */
import { ReduceOp } from '../addon.js';
import { reduceKernel } from './elementwise_kernels.js';

export const meanConfig = reduceKernel('Mean', ReduceOp.mean, 'axis');
