#!/usr/bin/env bash
# Takes a fresh Debian 12 machine (as root) to a passing test suite:
# installs what is missing, builds, starts a fresh throwaway PostgreSQL
# cluster under var/test-pg owned by an unprivileged user, runs every test
# with CTest against it, and stops the cluster again. Extra arguments go to
# ctest (e.g. -L unit, -R fence, --repeat until-fail:5).
set -euo pipefail
cd "$(dirname "$0")/.."

export FACILITYD_BUILD_DIR=${FACILITYD_BUILD_DIR:-build}
PG_DIR=${FACILITYD_TEST_PG_DIR:-var/test-pg}
PG_PORT=${FACILITYD_TEST_PG_PORT:-54339}

scripts/install-deps.sh
scripts/build.sh

# A fresh cluster each run: no state from an earlier run can hide a bug.
scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true
rm -rf "$PG_DIR"
scripts/pg.sh start "$PG_DIR" "$PG_PORT"
trap 'scripts/pg.sh stop "$PG_DIR"' EXIT
eval "$(scripts/pg.sh env "$PG_DIR" "$PG_PORT")"
export FACILITYD_TEST_PG_DIR=$PG_DIR FACILITYD_TEST_PG_PORT=$PG_PORT

ctest --test-dir "$FACILITYD_BUILD_DIR" --output-on-failure -j 2 "$@"
