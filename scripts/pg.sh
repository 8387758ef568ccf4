#!/usr/bin/env bash
# Manages a private, throwaway PostgreSQL cluster for facilityd development
# and tests, separate from any system cluster.
#
# Usage:
#   scripts/pg.sh start   <dir> <port>                    create if needed, start
#   scripts/pg.sh stop    <dir>                           fast shutdown
#   scripts/pg.sh restart <dir> <port> [fast|immediate]   stop, then start
#   scripts/pg.sh status  <dir>                           exit 0 running, 3 stopped, 4 absent
#   scripts/pg.sh env     <dir> <port>                    eval "$(scripts/pg.sh env var/pg 54329)"
#
# Layout of <dir>:
#   data/            PGDATA, owned by the unprivileged user
#   postgresql.log   server log (appended to across restarts)
#   pgpass           libpq password file for the invoking user (root)
#
# Clients connect over TCP to 127.0.0.1:<port> as user facilityd, database
# facilityd; Unix sockets are disabled because their paths are limited to
# 107 bytes and deep checkouts exceed that.
set -euo pipefail

readonly PG_USER=facilityd
readonly PG_DB=facilityd
readonly PG_HOST=127.0.0.1
readonly WAIT_SECONDS=30
readonly FALLBACK_PREFIX=/var/tmp/facilityd-pg-
# Absolute, because main changes to / before most work.
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
readonly SELF

# Set by resolve_paths / prepare_base / select_bin_dir.
ABS_DIR=""
LOCK_FD=""
BASE=""
DATA=""
BIN=""
CLEANUP=()

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
  sed -n '5,10s/^# \{0,1\}//p' "$SELF" >&2
  exit 2
}

cleanup() {
  if ((${#CLEANUP[@]})); then
    rm -rf -- "${CLEANUP[@]}"
  fi
}
trap cleanup EXIT

require_root() {
  # runuser and chown need it; initdb itself refuses root, hence the
  # dedicated unprivileged user.
  ((EUID == 0)) || die "must run as root"
}

validate_port() {
  if ! [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] || (($1 > 65535)); then
    die "invalid port: $1"
  fi
}

# Canonicalises the parent but not <dir> itself: <dir> may be our symlink to
# the fallback location, and its own path is what the fallback is keyed on.
resolve_paths() {
  local dir=${1%/} parent name
  [[ -n $dir ]] || die "empty directory argument"
  parent=$(dirname -- "$dir")
  name=$(basename -- "$dir")
  [[ $name != . && $name != .. ]] || die "directory must not end in . or ..: $1"
  if [[ -d $parent ]]; then
    parent=$(cd -- "$parent" && pwd -P)
  elif [[ $parent != /* ]]; then
    parent=$PWD/$parent
  fi
  ABS_DIR=${parent%/}/$name
  if [[ -L $ABS_DIR ]]; then
    BASE=$(readlink -m -- "$ABS_DIR")
  else
    BASE=$ABS_DIR
  fi
  DATA=$BASE/data
}

# The lock descriptor must not leak into the postmaster, which would then
# hold the lock for its whole lifetime.
as_pg() {
  if [[ -n $LOCK_FD ]]; then
    runuser -u "$PG_USER" -- "$@" {LOCK_FD}<&-
  else
    runuser -u "$PG_USER" -- "$@"
  fi
}

user_exists() { id -u "$PG_USER" >/dev/null 2>&1; }

ensure_user() {
  user_exists && return 0
  log "creating system user $PG_USER"
  useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
}

can_reach() { as_pg test -x "$1" 2>/dev/null; }

# First ancestor of $1 the unprivileged user cannot enter, for the message.
first_blocked() {
  local path="" part
  local -a parts
  IFS=/ read -ra parts <<<"${1#/}"
  for part in "${parts[@]}"; do
    path+=/$part
    if ! can_reach "$path"; then
      printf '%s\n' "$path"
      return 0
    fi
  done
  printf '%s\n' "$1"
}

fallback_dir_for() {
  local hash
  hash=$(printf '%s' "$1" | sha256sum)
  printf '%s%s\n' "$FALLBACK_PREFIX" "${hash:0:16}"
}

cluster_exists() { [[ -f $DATA/PG_VERSION && -f $BASE/pgpass ]]; }

# A cluster must be run by the major version that created it, so prefer that
# one over the newest installed.
select_bin_dir() {
  local version candidates
  if [[ -f $DATA/PG_VERSION ]]; then
    version=$(<"$DATA/PG_VERSION")
    BIN=/usr/lib/postgresql/$version/bin
    [[ -x $BIN/pg_ctl ]] ||
      die "$DATA was created by PostgreSQL $version, which is not installed; delete $ABS_DIR to start afresh"
    return 0
  fi
  candidates=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -x $candidates/initdb ]] ||
    die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin; run scripts/install-deps.sh"
  BIN=$candidates
}

running_pid() { sed -n 1p "$DATA/postmaster.pid" 2>/dev/null || true; }
running_port() { sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true; }

# One-letter process state (R, S, Z, ...); fails if there is no such process.
proc_state() {
  local stat
  [[ -n $1 ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  printf '%s\n' "${stat%% *}"
}

is_running() {
  local state
  [[ -f $DATA/PG_VERSION ]] && user_exists || return 1
  as_pg "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1 || return 1
  # A postmaster killed with SIGKILL stays a zombie until init reaps it,
  # and pg_ctl (like kill -0) counts a zombie as alive.
  state=$(proc_state "$(running_pid)") || return 1
  [[ $state != [ZX] ]]
}

stop_server() {
  local mode=$1
  as_pg "$BIN/pg_ctl" stop -D "$DATA" -m "$mode" -w -t "$WAIT_SECONDS" -s && return 0
  log "server did not stop within ${WAIT_SECONDS}s (mode $mode); forcing immediate shutdown"
  as_pg "$BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 15 -s ||
    die "could not stop the server in $DATA"
}

# The fallback location is keyed on <dir>'s path, so a leftover there whose
# link has been deleted (e.g. by "rm -rf var") is a stale cluster; reusing it
# would surprise whoever removed <dir> to start afresh.
remove_stale_fallback() {
  local stale=$1 saved_base=$BASE saved_data=$DATA
  [[ -e $stale || -L $stale ]] || return 0
  log "removing stale cluster $stale left from an earlier $ABS_DIR"
  BASE=$stale DATA=$stale/data
  if [[ -d $DATA ]]; then
    select_bin_dir
    if is_running; then
      log "stopping its server (pid $(running_pid)) first"
      stop_server immediate
    fi
  fi
  rm -rf -- "$stale"
  BASE=$saved_base DATA=$saved_data
}

# Decides where the cluster lives. The unprivileged user must traverse every
# parent of the data; checkouts under e.g. /root (mode 700) do not allow
# that, so such clusters live under /var/tmp with a symlink at <dir>.
prepare_base() {
  local parent fallback
  parent=$(dirname -- "$ABS_DIR")

  if [[ -d $ABS_DIR && ! -L $ABS_DIR ]] && ! can_reach "$parent"; then
    # An empty directory (e.g. made by a test harness) can be replaced by the
    # link; anything else might be data we must not delete.
    rmdir -- "$ABS_DIR" 2>/dev/null ||
      die "$ABS_DIR exists, but user $PG_USER cannot enter $(first_blocked "$parent"); delete it so it can be recreated under /var/tmp"
  fi

  if [[ ! -e $ABS_DIR && ! -L $ABS_DIR ]]; then
    if can_reach "$parent"; then
      mkdir -- "$ABS_DIR"
    else
      fallback=$(fallback_dir_for "$ABS_DIR")
      remove_stale_fallback "$fallback"
      mkdir -- "$fallback"
      ln -s -- "$fallback" "$ABS_DIR"
      log "cluster data is in $fallback because user $PG_USER cannot enter $(first_blocked "$parent"); $ABS_DIR links there"
    fi
  elif [[ -L $ABS_DIR ]]; then
    # The target may have been removed by /var/tmp cleaning.
    mkdir -p -- "$BASE"
  fi

  resolve_paths "$ABS_DIR"
  [[ -d $BASE ]] || die "$ABS_DIR is not a directory"
  can_reach "$(dirname -- "$BASE")" ||
    die "user $PG_USER cannot enter $(first_blocked "$(dirname -- "$BASE")"), which holds $BASE"

  chown "$PG_USER:" "$BASE"
  chmod 0755 "$BASE"
  # A recreated container may give the user a different uid than the one
  # that owns an existing cluster; postgres refuses to run on such data.
  if [[ -d $DATA && $(stat -c %u "$DATA") != "$(id -u "$PG_USER")" ]]; then
    log "fixing ownership of $DATA"
    chown -R "$PG_USER:" "$DATA"
  fi
}

pick_locale() {
  local locales
  locales=$(locale -a 2>/dev/null || true)
  if grep -qiE '^c\.utf-?8$' <<<"$locales"; then
    printf 'C.UTF-8\n'
  else
    printf 'C\n'
  fi
}

# initdb runs into a scratch directory that is renamed only once complete,
# so an interrupted run never leaves a half-made cluster that start would
# mistake for a real one.
init_cluster() {
  local scratch=$BASE/data.new pwfile=$BASE/.initdb-pw password
  if [[ -d $DATA ]]; then
    # Without the password nothing can connect (there is no socket for peer
    # authentication), so such a cluster is useless.
    select_bin_dir
    ! is_running || die "$BASE/pgpass is missing but the server is running; stop it and delete $ABS_DIR"
    log "$BASE/pgpass is missing; recreating the cluster"
  fi
  rm -rf -- "$scratch" "$DATA"
  select_bin_dir
  CLEANUP+=("$scratch" "$pwfile")
  # base64 never yields ':' or '\', which would need escaping in pgpass.
  password=$(head -c 24 /dev/urandom | base64)
  install -m 0600 -o "$PG_USER" -g "$PG_USER" /dev/null "$pwfile"
  printf '%s\n' "$password" >"$pwfile"

  log "initialising cluster in $DATA ($(basename -- "$(dirname -- "$BIN")"))"
  if ! as_pg "$BIN/initdb" -D "$scratch" --username="$PG_USER" --pwfile="$pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale="$(pick_locale)" >"$BASE/initdb.log" 2>&1; then
    tail -n 20 "$BASE/initdb.log" >&2
    die "initdb failed; full output in $BASE/initdb.log"
  fi
  rm -f -- "$pwfile"
  printf "\n# Local settings for facilityd, rewritten by scripts/pg.sh on start.\ninclude 'facilityd.conf'\n" \
    >>"$scratch/postgresql.conf"

  write_pgpass "$password" 0
  mv -- "$scratch" "$DATA"
}

# Rewritten on every start so that a different port takes effect.
write_config() {
  local port=$1 conf=$DATA/facilityd.conf
  cat >"$conf.tmp" <<EOF
# Written by scripts/pg.sh on every start; edits here are lost.
listen_addresses = '$PG_HOST'
port = $port
unix_socket_directories = ''
max_connections = 300
shared_buffers = 256MB
logging_collector = off
EOF
  chown "$PG_USER:" "$conf.tmp"
  mv -- "$conf.tmp" "$conf"
}

# The server and tests run as root and read this; libpq ignores the file
# unless it is private to its owner.
write_pgpass() {
  local password=$1 port=$2 tmp=$BASE/pgpass.tmp
  (
    umask 077
    printf '%s:%s:*:%s:%s\n' "$PG_HOST" "$port" "$PG_USER" "$password" >"$tmp"
  )
  chown 0:0 "$tmp"
  chmod 0600 "$tmp"
  mv -- "$tmp" "$BASE/pgpass"
}

stored_password() {
  local line
  line=$(head -n 1 "$BASE/pgpass")
  printf '%s\n' "$(cut -d: -f5- <<<"$line")"
}

# After a kill -9 of the postmaster its children linger for a moment and
# keep the old shared memory attached; a new postmaster refuses to start
# until they are gone. They are recognisable by their working directory.
orphans() {
  local proc real_data
  real_data=$(readlink -f -- "$DATA")
  for proc in /proc/[0-9]*; do
    if [[ $(readlink "$proc/cwd" 2>/dev/null || true) == "$real_data" ]]; then
      printf '%s\n' "${proc#/proc/}"
    fi
  done
}

# The postmaster refuses to start while the pid in postmaster.pid exists,
# which includes a killed postmaster that has not been reaped yet.
await_dead_postmaster() {
  local pid deadline=$((SECONDS + 10))
  pid=$(running_pid)
  [[ -n $pid ]] || return 0
  log "previous server (pid $pid) did not shut down cleanly; PostgreSQL will recover"
  while [[ $(proc_state "$pid" || true) == Z ]] && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if [[ $(proc_state "$pid" || true) == Z ]]; then
    log "previous postmaster $pid is dead but unreaped; removing its postmaster.pid"
    rm -f -- "$DATA/postmaster.pid"
  fi
}

reap_orphans() {
  local deadline=$((SECONDS + 10)) pids
  pids=$(orphans)
  [[ -n $pids ]] || return 0
  log "waiting for leftover server processes to exit: $(tr '\n' ' ' <<<"$pids")"
  while [[ -n $pids ]] && ((SECONDS < deadline)); do
    sleep 0.2
    pids=$(orphans)
  done
  [[ -n $pids ]] || return 0
  log "killing leftover server processes"
  # shellcheck disable=SC2086  # one pid per word
  kill -KILL $pids 2>/dev/null || true
  sleep 1
  [[ -z $(orphans) ]] || die "leftover server processes in $DATA would not exit"
}

fail_with_log() {
  log "$1; last lines of $BASE/postgresql.log:"
  tail -n 30 "$BASE/postgresql.log" >&2 2>/dev/null || true
  exit 1
}

launch() {
  local port=$1
  log "starting server on $PG_HOST:$port (log: $BASE/postgresql.log)"
  as_pg "$BIN/pg_ctl" start -D "$DATA" -l "$BASE/postgresql.log" -w -t "$WAIT_SECONDS" -s ||
    fail_with_log "server did not start"
}

wait_ready() {
  local port=$1 deadline=$((SECONDS + WAIT_SECONDS))
  until "$BIN/pg_isready" -q -h "$PG_HOST" -p "$port" -t 2; do
    ((SECONDS < deadline)) || fail_with_log "server not accepting connections on $PG_HOST:$port after ${WAIT_SECONDS}s"
    sleep 0.5
  done
}

admin_psql() {
  local port=$1
  shift
  PGPASSFILE=$BASE/pgpass "$BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$PG_HOST" -p "$port" -U "$PG_USER" -d postgres "$@"
}

ensure_database() {
  local port=$1 found
  found=$(admin_psql "$port" -c "select 1 from pg_database where datname = '$PG_DB'")
  [[ $found == 1 ]] && return 0
  log "creating database $PG_DB"
  admin_psql "$port" -c "create database $PG_DB owner $PG_USER"
}

# Serialises concurrent invocations (e.g. parallel test fixtures) on the
# directory that holds <dir>. Taken once per run: a second flock on a new
# descriptor in the same process would wait for ourselves.
take_lock() {
  local parent
  [[ -z $LOCK_FD ]] || return 0
  parent=$(dirname -- "$ABS_DIR")
  [[ -d $parent ]] || return 0
  exec {LOCK_FD}<"$parent"
  flock -w 120 "$LOCK_FD" || die "timed out waiting for another pg.sh on $parent"
}

cmd_start() {
  local port=$1 current
  ensure_user
  mkdir -p -- "$(dirname -- "$ABS_DIR")"
  # Now that the parent exists its canonical path is known, which keeps
  # the fallback location stable across runs.
  resolve_paths "$ABS_DIR"
  take_lock
  prepare_base
  cluster_exists || init_cluster
  select_bin_dir

  if is_running; then
    current=$(running_port)
    [[ $current == "$port" ]] ||
      die "already running on port $current, not $port; use: $0 restart $ABS_DIR $port"
    log "already running (pid $(running_pid), port $port)"
  else
    write_config "$port"
    await_dead_postmaster
    reap_orphans
    launch "$port"
  fi
  write_pgpass "$(stored_password)" "$port"
  wait_ready "$port"
  ensure_database "$port"
  log "ready: $PG_HOST:$port, database $PG_DB, user $PG_USER"
}

cmd_stop() {
  local mode=$1
  take_lock
  if [[ ! -f $DATA/PG_VERSION ]]; then
    log "no cluster at $ABS_DIR; nothing to stop"
    return 0
  fi
  select_bin_dir
  if ! is_running; then
    log "not running"
    return 0
  fi
  log "stopping server (pid $(running_pid), mode $mode)"
  stop_server "$mode"
  log "stopped"
}

cmd_status() {
  if [[ ! -f $DATA/PG_VERSION ]]; then
    printf 'no cluster at %s\n' "$ABS_DIR"
    exit 4
  fi
  select_bin_dir
  if is_running; then
    printf 'running: pid %s, %s:%s, data %s\n' "$(running_pid)" "$PG_HOST" "$(running_port)" "$DATA"
    exit 0
  fi
  printf 'stopped: data %s\n' "$DATA"
  exit 3
}

cmd_env() {
  local port=$1
  [[ -f $BASE/pgpass ]] || log "warning: $BASE/pgpass does not exist yet; run: $0 start $ABS_DIR $port"
  printf 'export PGHOST=%q\n' "$PG_HOST"
  printf 'export PGPORT=%q\n' "$port"
  printf 'export PGUSER=%q\n' "$PG_USER"
  printf 'export PGDATABASE=%q\n' "$PG_DB"
  printf 'export PGPASSFILE=%q\n' "$BASE/pgpass"
}

main() {
  (($# >= 2)) || usage
  local cmd=$1
  resolve_paths "$2"
  # Everything below uses absolute paths; a working directory the
  # unprivileged user cannot enter would upset the PostgreSQL tools.
  cd /
  # Connection settings from the caller's environment must not redirect
  # our own admin connections elsewhere.
  unset PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGHOSTADDR PGDATA PGPASSWORD

  case $cmd in
    start)
      (($# == 3)) || usage
      validate_port "$3"
      require_root
      cmd_start "$3"
      ;;
    stop)
      (($# == 2)) || usage
      require_root
      cmd_stop fast
      ;;
    restart)
      (($# == 3 || $# == 4)) || usage
      validate_port "$3"
      local mode=${4:-fast}
      [[ $mode == fast || $mode == immediate ]] || die "restart mode must be fast or immediate, not $mode"
      require_root
      cmd_stop "$mode"
      cmd_start "$3"
      ;;
    status)
      (($# == 2)) || usage
      require_root
      cmd_status
      ;;
    env)
      (($# == 3)) || usage
      validate_port "$3"
      cmd_env "$3"
      ;;
    *) usage ;;
  esac
}

main "$@"
