#!/usr/bin/env bash
# Builds the gateway protocol fuzzer with clang's libFuzzer, AddressSanitizer
# and UBSan into build-fuzz/ and runs it for a bounded time. The corpus in
# build-fuzz/corpus/protocol grows across runs; a failing input is written
# to build-fuzz/artifacts/ and the script exits non-zero.
#
# Usage: scripts/fuzz.sh [seconds]      (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly SECONDS_TO_RUN=${1:-60}
readonly OUT=build-fuzz
readonly CORPUS=$OUT/corpus/protocol
readonly ARTIFACTS=$OUT/artifacts

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $SECONDS_TO_RUN =~ ^[0-9]+$ ]] || die "seconds must be a number"

# The g++ toolchain has no libFuzzer, so this needs clang, whichever version
# Debian has; installing it needs root.
find_clang() {
  local candidate
  for candidate in clang++ clang++-16 clang++-15 clang++-14; do
    if command -v "$candidate" >/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

CXX=${CXX_FUZZ:-$(find_clang || true)}
if [[ -z $CXX ]]; then
  log "clang++ not found; installing the Debian package clang"
  apt-get install -y --no-install-recommends clang >&2 ||
    die "cannot install clang; run as root or install it yourself"
  CXX=$(find_clang) || die "clang++ still not found"
fi

# libFuzzer's runtime comes with clang on Debian, but some LLVM packagings
# ship it separately.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long)'\
' { return 0; }\n' >"$probe/p.cpp"
if ! "$CXX" -fsanitize=fuzzer "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  version=$("$CXX" -dumpversion | cut -d. -f1)
  log "libFuzzer runtime missing; installing libclang-rt-$version-dev"
  apt-get install -y --no-install-recommends "libclang-rt-$version-dev" >&2 ||
    die "cannot install the libFuzzer runtime for $CXX"
fi

mkdir -p "$OUT" "$CORPUS" "$ARTIFACTS"
log "building $OUT/protocol_fuzz with $CXX"
"$CXX" -std=c++20 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I. -Wall -Wextra \
  tests/fuzz/protocol_fuzz.cpp net/protocol.cpp rules/outcome.cpp \
  -o "$OUT/protocol_fuzz"

# Seeds: the first byte of each input sets the size of the pieces in which
# the rest reaches the line reader.
seed() { printf '%b' "$2" >"$CORPUS/seed-$1"; }
seed hello '\x05HELLO gw-1 s3cr3t\n'
seed scans '\x03SCAN 1 door-1 04:A2\r\nSCAN 2 door-1 04:A3\n'
seed ping_quit '\x00PING x\nQUIT\n'
seed max_seq '\x07SCAN 18446744073709551615 r b\n'
seed bad_seq '\x02SCAN 18446744073709551616 r b\nSCAN 5  r b\n'
seed too_long "\\x40PING a\\nSCAN 7 r $(printf '%*s' 600 '' | tr ' ' b)\\n"

cat >"$OUT/protocol.dict" <<'EOF'
"HELLO "
"SCAN "
"PING "
"QUIT"
"\x0d\x0a"
"18446744073709551615"
"%"
"\x00"
EOF

log "running for $SECONDS_TO_RUN s"
"$OUT/protocol_fuzz" "$CORPUS" \
  -dict="$OUT/protocol.dict" \
  -max_len=4096 \
  -max_total_time="$SECONDS_TO_RUN" \
  -artifact_prefix="$ARTIFACTS/" \
  -print_final_stats=1
