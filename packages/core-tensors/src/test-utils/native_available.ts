import { loadAddon } from '../addon.js';

/** True when the compiled addon loads (tests of native kernels skip cleanly otherwise). */
export function nativeAvailable(): boolean {
  try {
    loadAddon();
    return true;
  } catch {
    return false;
  }
}
