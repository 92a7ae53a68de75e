#!/usr/bin/env bash
# One entry point that sets a fresh machine up and runs a job:
#   bash tools/bootstrap.sh test    # install, build the native addon, run every test, print "N passed, N failed"
#   bash tools/bootstrap.sh demo    # install, build, run the end-to-end demo
#   bash tools/bootstrap.sh setup   # install and build only
# Idempotent: each step is skipped when its result is already there (Nx caches the native build).
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-test}"
shift || true

export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-}"

# --- system packages (Debian) -------------------------------------------------------------------
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# OpenBLAS makes GEMM ~100x faster than tfjs's JS loops; without it a portable kernel is built.
dpkg -s libopenblas-dev >/dev/null 2>&1 || missing+=(libopenblas-dev)
# oneDNN: GEMM JIT-generated for the CPU it runs on, and one OpenMP thread team for every kernel (the
# default engine when present: faster train steps than OpenBLAS here; see README "Engine").
dpkg -s libdnnl-dev >/dev/null 2>&1 || missing+=(libdnnl-dev)
# ffmpeg decodes/encodes LeRobot video features (AV1 mp4); @anchor-refine/datasets' video tests need it.
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# gloo (CPU collectives over TCP) for multi-process training; without it the distributed addon builds
# without collectives and only single-process training works.
dpkg -s libgloo-dev >/dev/null 2>&1 || missing+=(libgloo-dev)
# Headless Chromium renders the training report in apps/train's report test (skipped without it).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing system packages: ${missing[*]} (run as root, or install them with your package manager)"
  fi
fi

# --- npm packages -------------------------------------------------------------------------------
# `npm install` (which keeps the locked versions), not `npm ci`: npm 11.19 writes lockfiles without the
# other platforms' optional binaries (biome, nx, turbo) and its `npm ci` then refuses them as out of sync
# (npm/cli#8805).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

# --- CLIs by name -------------------------------------------------------------------------------
# `npx anchor-refine` / `npx anchor-refine-deploy` run the apps' bin launchers (apps/*/bin/*.mjs, which run
# the TypeScript sources through tsx; no build needed). npm links them into node_modules/.bin on install;
# a node_modules installed before the launchers existed gets the links from `npm rebuild`.
if [ ! -e node_modules/.bin/anchor-refine ] || [ ! -e node_modules/.bin/anchor-refine-deploy ]; then
  echo "bootstrap: linking the anchor-refine CLIs"
  npm rebuild --ignore-scripts --no-audit --no-fund --loglevel=error @anchor-refine/train @anchor-refine/deploy
fi

# --- native addon -------------------------------------------------------------------------------
npx nx run core-tensors-native:build-native --outputStyle=static
npx nx run distributed-native:build-native --outputStyle=static

case "$job" in
  setup) echo "bootstrap: ready" ;;
  test) exec node tools/test.mjs "$@" ;;
  demo) exec node --conditions=@anchor-refine/source --import tsx tools/demo.ts "$@" ;;
  *) echo "usage: bash tools/bootstrap.sh test|demo|setup" >&2; exit 2 ;;
esac
