'use strict';
// Locates and loads the compiled addon: $CORE_TENSORS_NATIVE_PATH when set (and then only that file),
// otherwise build/Release, then build-debug/Debug. Before loading it picks the OpenBLAS core type for
// this CPU (blas_core.cjs) unless OPENBLAS_CORETYPE is set; `blasChoice` says what was decided.
const fs = require('node:fs');
const path = require('node:path');
const { applyOpenblasCore } = require('./blas_core.cjs');

const override = process.env.CORE_TENSORS_NATIVE_PATH;
const candidates = override
  ? [override]
  : [
      path.join(__dirname, 'build', 'Release', 'core_tensors.node'),
      path.join(__dirname, 'build-debug', 'Debug', 'core_tensors.node'),
    ];

let blasChoice = null;

function load() {
  for (const file of candidates) {
    if (fs.existsSync(file)) {
      // libopenblas reads OPENBLAS_CORETYPE in its constructor, i.e. while require() loads the addon.
      if (!blasChoice) blasChoice = applyOpenblasCore();
      return { addon: require(file), file, blasChoice };
    }
  }
  const err = new Error(
    `core-tensors native addon not found (looked in: ${candidates.join(', ')}). ` +
      'Build it with `npx nx run core-tensors-native:build-native` ' +
      '(or `npm run build-native -w @anchor-refine/core-tensors-native`); it needs cmake, a C++17 compiler ' +
      'and, for fast GEMM, `apt-get install libopenblas-dev`.',
  );
  err.code = 'CORE_TENSORS_ADDON_MISSING';
  throw err;
}

module.exports = { load, candidates };
