/** Registers this package's gradients (process-global, keyed by kernel name; runs on import). */
import * as tf from '@tensorflow/tfjs';
import { batchMatMulGradConfig } from './BatchMatMul_grad.js';
import { composeResidualGradConfig } from './ComposeResidual_grad.js';
import { fusedAttentionGradConfig } from './FusedAttention_grad.js';
import { fusedSelfAttentionPackedGradConfig } from './FusedSelfAttentionPacked_grad.js';
import { geluGradConfig } from './Gelu_grad.js';
import { layerNormGradConfig } from './LayerNorm_grad.js';
import { linearGradConfig } from './Linear_grad.js';
import { tileGradConfig } from './Tile_grad.js';

tf.registerGradient(batchMatMulGradConfig);
tf.registerGradient(fusedAttentionGradConfig);
tf.registerGradient(fusedSelfAttentionPackedGradConfig);
tf.registerGradient(composeResidualGradConfig);
tf.registerGradient(layerNormGradConfig);
tf.registerGradient(geluGradConfig);
tf.registerGradient(linearGradConfig);
tf.registerGradient(tileGradConfig);
