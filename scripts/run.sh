#!/usr/bin/env bash
# Takes a fresh Debian 12 machine (as root) to a running facilityd: installs
# what is missing, builds, starts a private PostgreSQL cluster under var/pg
# owned by an unprivileged user, and runs the server in the foreground on
# it. Extra arguments go to facilityd (e.g. --log.level=debug). Ctrl-C stops
# the server; the cluster keeps running (scripts/pg.sh stop var/pg stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_DIR=${FACILITYD_PG_DIR:-var/pg}
PG_PORT=${FACILITYD_PG_PORT:-54329}

scripts/install-deps.sh
scripts/build.sh --target facilityd facilityctl
scripts/pg.sh start "$PG_DIR" "$PG_PORT"
eval "$(scripts/pg.sh env "$PG_DIR" "$PG_PORT")"
exec build/app/facilityd --config-file=config/facilityd.ini "$@"
