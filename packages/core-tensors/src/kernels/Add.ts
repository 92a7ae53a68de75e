/** Add (native): float32 with numpy broadcasting via ct_binary_run; other dtypes use tfjs-cpu. */
import { BinaryOp } from '../addon.js';
import { binaryKernel } from './elementwise_kernels.js';

export const addConfig = binaryKernel('Add', BinaryOp.add);
