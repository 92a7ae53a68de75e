// @anchor-refine/nn — public API. Each section is owned by the file(s) it re-exports.

// modules and layers
// (module.ts, layers/*.ts, init.ts)

// optimization and checkpoints
// (optim/*.ts, safetensors.ts)
