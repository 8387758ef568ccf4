#!/usr/bin/env bash
# The test suite again, built with AddressSanitizer and UndefinedBehavior-
# Sanitizer into build-asan/ (the servers the tests start are built so
# too), then the gateway protocol fuzzer for a bounded time. Any report
# from a sanitizer fails the run.
#
# Usage: scripts/test-sanitizers.sh [fuzz seconds]    (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly FUZZ_SECONDS=${1:-30}

export FACILITYD_BUILD_DIR=build-asan
export FACILITYD_CMAKE_ARGS="-DFACILITYD_SANITIZE=ON"
# halt_on_error and abort_on_error turn a finding into a failed test even in
# a server process whose output only its log sees; leaks are looked for at
# every exit. The suppression files name the few reports that come from
# CAF's and libedit's own code, each with its reason.
readonly SUPP=$PWD/tests/sanitizers
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$SUPP/lsan.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:suppressions=$SUPP/ubsan.supp

scripts/test.sh
scripts/fuzz.sh "$FUZZ_SECONDS"
