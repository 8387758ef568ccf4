#!/usr/bin/env bash
# Configures (once) and builds everything into build/. Incremental: a second
# run rebuilds only what changed. Extra arguments go to cmake --build.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${FACILITYD_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    ${FACILITYD_CMAKE_ARGS:-}
fi
# Two cores: more jobs only thrash.
cmake --build "$BUILD_DIR" -j "${FACILITYD_JOBS:-2}" "$@"
