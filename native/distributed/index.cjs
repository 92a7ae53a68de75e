'use strict';
// Locates and loads the compiled addon: $DISTRIBUTED_NATIVE_PATH when set (and then only that file),
// otherwise build/Release. Returns null from tryLoad() when it is not built (single-process still works).
const fs = require('node:fs');
const path = require('node:path');

const override = process.env.DISTRIBUTED_NATIVE_PATH;
const candidates = override ? [override] : [path.join(__dirname, 'build', 'Release', 'ct_distributed.node')];

function tryLoad() {
  for (const file of candidates) {
    if (fs.existsSync(file)) return { addon: require(file), file };
  }
  return null;
}

function load() {
  const found = tryLoad();
  if (found) return found;
  const err = new Error(
    `distributed native addon not found (looked in: ${candidates.join(', ')}). ` +
      'Build it with `npx nx run distributed-native:build-native`; for multi-process training it needs ' +
      '`apt-get install libgloo-dev`.',
  );
  err.code = 'DISTRIBUTED_ADDON_MISSING';
  throw err;
}

module.exports = { load, tryLoad, candidates };
