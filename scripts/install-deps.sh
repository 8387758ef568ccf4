#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and run facilityd.
#
# Usage: scripts/install-deps.sh        (as root; a no-op when all are present)
set -euo pipefail

readonly PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libpq-dev libboost-dev libboost-system-dev
  doctest-dev libssl-dev nlohmann-json3-dev libedit-dev
  prometheus-cpp-dev libcivetweb-dev
  postgresql postgresql-contrib
  netcat-openbsd procps clang-format git openssl
)

# Created only by us, only while we install, so it must be removed on exit.
POLICY_RC=/usr/sbin/policy-rc.d
our_policy_rc=0

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the packages from the arguments that are not fully installed.
missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || printf '%s\n' "$pkg"
  done
}

remove_policy_rc() {
  if ((our_policy_rc)); then
    rm -f "$POLICY_RC"
  fi
}

# Without systemd, package maintainer scripts fall back to init scripts to
# start services; the default PostgreSQL cluster failing to start there would
# fail the whole install. We never use that cluster (pg.sh runs its own), so
# tell invoke-rc.d not to start anything while we install.
block_service_starts() {
  [[ -d /run/systemd/system ]] && return 0
  [[ -e $POLICY_RC ]] && return 0
  printf '#!/bin/sh\n# Temporary, removed by scripts/install-deps.sh\nexit 101\n' >"$POLICY_RC"
  chmod 0755 "$POLICY_RC"
  our_policy_rc=1
  trap remove_policy_rc EXIT
}

install_packages() {
  export DEBIAN_FRONTEND=noninteractive
  # pg_createcluster (run by the postgresql postinst) aborts on a locale that
  # is set in the environment but not generated; C.UTF-8 always exists.
  export LC_ALL=C.UTF-8
  log "running apt-get update"
  apt-get update -q
  log "installing: $*"
  apt-get install -y -q --no-install-recommends "$@"
}

main() {
  local -a missing
  mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
  if ((${#missing[@]} == 0)); then
    log "all ${#PACKAGES[@]} packages already installed"
    return 0
  fi
  if ((EUID != 0)); then
    die "missing packages: ${missing[*]}; rerun as root to install them"
  fi

  block_service_starts
  install_packages "${missing[@]}"

  mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
  ((${#missing[@]} == 0)) || die "still missing after install: ${missing[*]}"
  log "done"
}

main "$@"
