/** Erf (native): float32 via ct_unary_run; other dtypes use tfjs-cpu. */
import { UnaryOp } from '../addon.js';
import { unaryKernel } from './elementwise_kernels.js';

export const erfConfig = unaryKernel('Erf', UnaryOp.erf);
