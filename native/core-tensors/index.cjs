'use strict';
// Locates and loads the compiled addon: $CORE_TENSORS_NATIVE_PATH when set (and then only that file),
// otherwise build/Release, then build-debug/Debug.
const fs = require('node:fs');
const path = require('node:path');

const override = process.env.CORE_TENSORS_NATIVE_PATH;
const candidates = override
  ? [override]
  : [
      path.join(__dirname, 'build', 'Release', 'core_tensors.node'),
      path.join(__dirname, 'build-debug', 'Debug', 'core_tensors.node'),
    ];

function load() {
  for (const file of candidates) {
    if (fs.existsSync(file)) return { addon: require(file), file };
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
