/**
 * Backend selection: `native` (tfjs-cpu kernels + the addon's overrides), `cpu` (tfjs's JS backend) or
 * `tensorflow` (@tensorflow/tfjs-node-gpu, an optional peer dependency).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { type AddonFeatures, addonPath, loadAddon } from './addon.js';
import { installBackwardRelease } from './backward_release.js';
import { installBufferPool } from './buffer_pool.js';
import {
  NATIVE_BACKEND,
  nativeKernelNames,
  registerNativeKernels,
} from './kernels/register_native_kernels.js';
import { installSavedTensorAliases } from './saved_tensors.js';

export type BackendName = 'native' | 'cpu' | 'tensorflow';

export interface BackendInfo {
  /** The active tfjs backend. */
  backend: string;
  /** Path of the loaded addon binary, when it is loaded. */
  addonPath?: string;
  /** What the addon was built with (BLAS, SIMD, CUDA), when it is loaded. */
  features?: AddonFeatures;
  /** Kernels the active backend runs natively (empty on cpu / tensorflow). */
  nativeKernels: string[];
}

/** Above tfjs's cpu (1) and webgl (2), so an explicit `native` wins any auto-selection afterwards. */
const NATIVE_PRIORITY = 3;
const TF_NODE_GPU = '@tensorflow/tfjs-node-gpu';
let nativeReady = false;

/** tfjs-cpu storage; its first write would print tfjs's "install the node backend for speed" banner,
 *  which is wrong advice for this backend, so the instance is marked as already used. */
function createNativeBackend(): MathBackendCPU {
  const backend = markUsed(new MathBackendCPU());
  installBufferPool(backend);
  return backend;
}

function markUsed(backend: MathBackendCPU): MathBackendCPU {
  (backend as unknown as { firstUse: boolean }).firstUse = false;
  return backend;
}

function ensureNativeBackend(): void {
  if (nativeReady) return;
  loadAddon(); // throws the loader's error (naming the build command) when the binary is missing
  if (tf.findBackendFactory(NATIVE_BACKEND) == null) {
    tf.registerBackend(NATIVE_BACKEND, createNativeBackend, NATIVE_PRIORITY);
    tf.copyRegisteredKernels('cpu', NATIVE_BACKEND);
  }
  registerNativeKernels();
  installSavedTensorAliases(NATIVE_BACKEND);
  installBackwardRelease(NATIVE_BACKEND);
  nativeReady = true;
}

function tensorflowBackendError(why: string, cause: unknown): Error {
  const pkg = TF_NODE_GPU;
  return new Error(
    `selectBackend('tensorflow'): ${pkg} ${why}. Install it with \`npm install ${pkg}@4.22.0\` ` +
      '(an optional peer dependency; its install script downloads libtensorflow with CUDA, so it needs ' +
      'network access at install time), or use the `native` backend.',
    { cause },
  );
}

async function importTensorflowBackend(): Promise<void> {
  try {
    createRequire(import.meta.url).resolve(TF_NODE_GPU);
  } catch (err) {
    throw tensorflowBackendError('is not installed', err);
  }
  try {
    await import(TF_NODE_GPU);
  } catch (err) {
    throw tensorflowBackendError(`failed to load (${(err as Error).message})`, err);
  }
}

/** Registers (once) and activates a backend; returns what is running. */
export async function selectBackend(name: BackendName): Promise<BackendInfo> {
  if (name === 'native') ensureNativeBackend();
  else if (name === 'tensorflow') await importTensorflowBackend();
  else if (name !== 'cpu')
    throw new Error(`selectBackend: unknown backend '${String(name)}' (native | cpu | tensorflow)`);
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`selectBackend: tfjs could not initialize backend '${name}'`);
  if (name === 'cpu') markUsed(tf.backend() as MathBackendCPU); // chosen on purpose: no "install tfjs-node" banner
  return backendInfo();
}

/** The active backend and, when the addon is loaded, its path, features and native kernels. */
export function backendInfo(): BackendInfo {
  const backend = tf.getBackend();
  const info: BackendInfo = { backend, nativeKernels: backend === NATIVE_BACKEND ? nativeKernelNames() : [] };
  const file = addonPath();
  if (file !== undefined) {
    info.addonPath = file;
    info.features = loadAddon().features();
  }
  return info;
}

/** Worker threads of the native kernels and their BLAS; n <= 0 restores the default. Loads the addon. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n)) throw new Error(`setThreads: n must be an integer, got ${n}`);
  loadAddon().setThreads(n);
}
