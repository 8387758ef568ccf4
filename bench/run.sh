#!/usr/bin/env bash
# Measures facilityd on this machine and prints one table:
#
#  - the server's throughput and ACK latency at 1, 16, 64 and 256 gateways,
#    over 200 facilities and over 4 hot ones (facility-sim drives it);
#  - PostgreSQL's floor at the same concurrency: the writes of one scan in
#    one transaction, sent as one pipeline (pgbench, bench/pgbench/floor.sql);
#  - the conventional design as a peer: the scan rules inside PostgreSQL
#    under a facility advisory lock (bench/sql/peer.sql);
#  - the same peer with only a per-participant lock on a workload that
#    provokes its race, and the invariant violations it leaves;
#  - facilityd's start-up on 10,000 facilities, 1,000,000 participants and
#    200,000 open visits: recovery time and resident memory.
#
# Commits are durable throughout (fsync and synchronous_commit on, as
# PostgreSQL ships). Everything runs on a fresh private cluster under
# var/bench-pg (port 54359), stopped again at the end; logs and raw figures
# of the last run are kept in var/bench/.
#
# Usage: bench/run.sh [--quick] [--pipeline K] [--server-arg ARG]...
#                     [--keep-cluster]
#   --quick           two configurations, shorter runs, start-up at a tenth
#                     of the size: well under a minute, for trying it
#   --pipeline K      scans in flight per simulated gateway (default 1, so
#                     that gateways and pgbench clients offer the same load)
#   --server-arg ARG  passed to facilityd in every server run
#   --keep-cluster    leave the cluster running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
readonly ROOT

readonly PG_DIR=var/bench-pg
readonly PG_PORT=54359
readonly WORK=$ROOT/var/bench
readonly SQL=$ROOT/bench/sql
readonly SCRIPTS=$ROOT/bench/pgbench
readonly FACILITYD=$ROOT/build/app/facilityd

QUICK=0
PIPELINE=1
KEEP_CLUSTER=0
SERVER_ARGS=()

# Set by configure().
CONFIGS=()         # "facilities:participants:gateways:label[:server args]"
SLICES=0           # pgbench runs of the floor and of the peer per row
SLICE_S=0          # seconds of steady load measured in each
WARMUP_S=0         # seconds of load discarded before that
SERVER_S=0         # seconds facility-sim sends for
RACE_ROUNDS=0
RECOVERY_SIZE=()   # facilities participants open_visits

# Found by find_tools().
PGBENCH=""
SIM=""

# The facilityd started for the start-up figures, while it runs.
SERVER_PID=""

log() { printf 'bench: [%3d s] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '20,27s/^# \{0,1\}//p' "$0" >&2
  exit 2
}

parse_args() {
  while (($#)); do
    case $1 in
      --quick) QUICK=1 ;;
      --pipeline)
        (($# >= 2)) || usage
        [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--pipeline needs a positive number"
        PIPELINE=$2
        shift
        ;;
      --server-arg)
        (($# >= 2)) || usage
        SERVER_ARGS+=("$2")
        shift
        ;;
      --server-arg=*) SERVER_ARGS+=("${1#--server-arg=}") ;;
      --keep-cluster) KEEP_CLUSTER=1 ;;
      *) usage ;;
    esac
    shift
  done
}

# Every pgbench client of the floor is a participant of its own, so the
# worlds have at least as many participants as the largest client count.
readonly WIDE="200:4000" HOT="4:400"

configure() {
  local g
  if ((QUICK)); then
    CONFIGS=("$WIDE:16:200 facilities, 16 gw" "$HOT:16:4 hot fac, 16 gw")
    SLICES=1
    SLICE_S=2
    WARMUP_S=1
    SERVER_S=2
    RACE_ROUNDS=1
    RECOVERY_SIZE=(1000 100000 20000)
  else
    for g in 1 16 64 256; do
      CONFIGS+=("$WIDE:$g:200 facilities, $g gw")
    done
    # The server's own default is 4 database connections; this row shows
    # what more of them buy.
    CONFIGS+=("$WIDE:64:200 fac, 64 gw, pool 32:--db.pool-size=32")
    for g in 1 16 64 256; do
      CONFIGS+=("$HOT:$g:4 hot fac, $g gw")
    done
    SLICES=2
    SLICE_S=2
    WARMUP_S=1
    SERVER_S=5
    RACE_ROUNDS=3
    RECOVERY_SIZE=(10000 1000000 200000)
  fi
}

# ---------------------------------------------------------------------------
# Build, cluster, helpers

build() {
  log "building"
  scripts/install-deps.sh
  scripts/build.sh --target facilityd >"$WORK/build.log" 2>&1 ||
    die "build failed; see $WORK/build.log"
  # facility-sim joins the build once harness/ is part of it.
  if cmake --build build --target help 2>/dev/null |
    grep -q '^facility-sim:'; then
    scripts/build.sh --target facility-sim >>"$WORK/build.log" 2>&1 ||
      die "build of facility-sim failed; see $WORK/build.log"
  fi
}

find_tools() {
  local version
  version=$(<"$PG_DIR/data/PG_VERSION")
  PGBENCH=/usr/lib/postgresql/$version/bin/pgbench
  [[ -x $PGBENCH ]] || die "no pgbench at $PGBENCH"
  [[ -x $FACILITYD ]] || die "no facilityd at $FACILITYD"
  SIM=$(find build -name facility-sim -type f -perm -u+x 2>/dev/null |
    head -n 1)
  if [[ -n $SIM ]]; then
    SIM=$ROOT/$SIM
  else
    log "facility-sim is not built yet: the server's columns stay empty"
  fi
}

# A fresh cluster every run, so that no bloat or leftover of an earlier run
# colours the figures.
start_cluster() {
  scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  scripts/pg.sh start "$PG_DIR" "$PG_PORT" 2>"$WORK/pg.log" ||
    die "cannot start the cluster; see $WORK/pg.log"
  eval "$(scripts/pg.sh env "$PG_DIR" "$PG_PORT")"
  unset PGOPTIONS
}

# On the way out, however it comes: a server of ours still running is
# stopped, and so is the cluster unless it is to be kept.
clean_up() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
  fi
  ((KEEP_CLUSTER)) && return 0
  scripts/pg.sh stop "$PG_DIR" >/dev/null 2>&1 || true
}

# psql on schema $1 with the remaining arguments; quiet, stops on errors.
in_schema() {
  local schema=$1
  shift
  PGOPTIONS="-c search_path=$schema -c client_min_messages=warning" \
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# Creates schema $1 afresh and applies the real migrations to it, in one
# transaction and recorded in schema_migrations, as facilityd would.
migrated_schema() {
  local schema=$1 file
  in_schema public -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
    -c "CREATE SCHEMA $schema"
  {
    printf 'BEGIN;\n'
    printf 'CREATE TABLE schema_migrations (version text PRIMARY KEY,'
    printf ' applied_at timestamptz NOT NULL DEFAULT now());\n'
    for file in persistence/migrations/*.sql; do
      cat "$file"
      printf '\n;\nINSERT INTO schema_migrations (version) VALUES (%s);\n' \
        "'$(basename "$file" .sql)'"
    done
    printf 'COMMIT;\n'
  } | in_schema "$schema"
}

drop_schema() {
  in_schema public -c "DROP SCHEMA IF EXISTS $1 CASCADE"
}

# The world of the floor and the peers: schema $1, $2 facilities, $3
# participants, capacities $4 (true or false).
peer_world() {
  migrated_schema "$1"
  in_schema "$1" -f "$SQL/peer.sql"
  in_schema "$1" -v facilities="$2" -v participants="$3" \
    -v capacities="$4" -f "$SQL/world.sql"
}

# ---------------------------------------------------------------------------
# pgbench runs

# pgbench's seconds for a slice with $1 clients: connecting (up to 20 ms a
# client on this machine: password authentication is costly on purpose),
# the warm-up and the measured time. The measurement itself is taken from
# the transactions' own log, so a generous allowance costs only time.
pgbench_seconds() {
  echo $((($1 + 49) / 50 + WARMUP_S + SLICE_S))
}

# Runs pgbench script $2 on schema $1 with $3 clients and the further
# pgbench arguments, from a reset state, keeping its per-transaction log in
# directory $4. Writes $4/window ("transactions seconds" of the steady
# part: from WARMUP_S seconds after the first transaction ended to the
# last) and $4/latencies (ms, one a line, of those transactions).
pgbench_slice() {
  local schema=$1 script=$2 clients=$3 dir=$4
  shift 4
  local threads=$((clients < 2 ? 1 : 2))
  rm -rf "$dir"
  mkdir -p "$dir"
  in_schema "$schema" -f "$SQL/reset.sql"
  if ! PGOPTIONS="-c search_path=$schema" "$PGBENCH" -n -M prepared \
    -c "$clients" -j "$threads" -T "$(pgbench_seconds "$clients")" \
    --log --log-prefix="$dir/tx" "$@" -f "$script" >"$dir/pgbench.log" 2>&1
  then
    log "pgbench failed; see $dir/pgbench.log"
    return 0
  fi
  if grep -q 'number of failed transactions: [1-9]' "$dir/pgbench.log"; then
    log "pgbench had failed transactions; see $dir/pgbench.log"
  fi
  # Fields: client, transaction, latency (us), script, end (s), end (us).
  cat "$dir"/tx.* | awk -v warmup="$WARMUP_S" '
    { t = $5 + $6 / 1e6; end[NR] = t; lat[NR] = $3
      if (NR == 1 || t < first) first = t
      if (t > last) last = t }
    END {
      from = first + warmup
      for (i = 1; i <= NR; i++)
        if (end[i] >= from) { n++; print lat[i] / 1000.0 > "/dev/stderr" }
      if (n >= 2 && last > from) printf "%d %.6f\n", n, last - from
    }' 2>"$dir/latencies" >"$dir/window"
}

# Pools the slices in directories $@; prints "tps p50 p99 p999 drift",
# dashes where a slice failed. Drift is how far apart the slices' rates
# are, in per cent of the pooled rate: the machine's own wandering between
# a slice before the server's run and one after it.
pooled_figures() {
  local dir
  for dir in "$@"; do
    if [[ ! -s $dir/window ]]; then
      echo "- - - - -"
      return 0
    fi
  done
  local tps drift
  read -r tps drift < <(for dir in "$@"; do cat "$dir/window"; done | awk '
    { n += $1; s += $2; r = $1 / $2
      if (NR == 1 || r < lo) lo = r
      if (NR == 1 || r > hi) hi = r }
    END { tps = n / s; drift = "-"
          if (NR > 1) drift = sprintf("%.0f", 100 * (hi - lo) / tps)
          printf "%.1f %s\n", tps, drift }')
  for dir in "$@"; do cat "$dir/latencies"; done | sort -n | awk \
    -v tps="$tps" -v drift="$drift" '
    { v[NR] = $1 }
    function pct(p,   i) { i = int(NR * p + 0.999999); if (i < 1) i = 1
                           return v[i] }
    END { printf "%s %.2f %.2f %.2f %s\n", tps, pct(0.50), pct(0.99),
                 pct(0.999), drift }'
}

floor_slice() {
  local schema=$1 facilities=$2 clients=$3 dir=$4
  pgbench_slice "$schema" "$SCRIPTS/floor.sql" "$clients" "$dir" \
    -D facilities="$facilities" -D seq=0 -D phase=0
}

peer_slice() {
  local schema=$1 facilities=$2 participants=$3 clients=$4 dir=$5
  pgbench_slice "$schema" "$SCRIPTS/peer.sql" "$clients" "$dir" \
    -D facilities="$facilities" -D participants="$participants" -D seq=0
  in_schema "$schema" -F ' ' \
    -c 'SELECT outcome, count(*) FROM scans GROUP BY 1 ORDER BY 1' \
    >"$dir/outcomes"
}

# ---------------------------------------------------------------------------
# The server, through facility-sim

# Runs facility-sim with $2 gateways over $1 facilities and $3
# participants, with the further facilityd arguments $5; prints "tps p50
# p99 p999 checks i1", dashes where unknown: checks is the number of
# violations facility-sim's checks found, i1 the open visits left in the
# database that break I1 (counted here too, the same way as for the peers).
server_run() {
  local facilities=$1 gateways=$2 participants=$3 name=$4 extra=$5
  local dir=$WORK/sim/$name schema=bench_sim status=0 arg i1 found
  local -a args=()
  if [[ -z $SIM ]]; then
    echo "- - - - - -"
    return 0
  fi
  for arg in $extra "${SERVER_ARGS[@]}"; do
    args+=(--server-arg "$arg")
  done
  rm -rf "$dir"
  mkdir -p "$dir"
  drop_schema "$schema"
  in_schema public -c CHECKPOINT
  # Traffic only the scan rules see: no hostile scans, nobody suspended,
  # people pausing a millisecond or so. The schema stays for the I1 count.
  # Enough doors that every gateway has some to scan at, as pgbench's
  # clients all have work, even over 4 facilities.
  local doors=$(((gateways + facilities - 1) / facilities))
  (cd "$dir" && "$SIM" --schema "$schema" --keep --facilityd "$FACILITYD" \
    --facilities "$facilities" --participants "$participants" \
    --min-doors "$doors" \
    --keyholder-share 0.15 --suspended-share 0 --hostile-share 0 \
    --gateways "$gateways" --pipeline "$PIPELINE" --think-ms 1 \
    --scans 1000000000 --duration "$SERVER_S" \
    --seed 7410 "${args[@]}" >"$dir/sim.log" 2>&1) || status=$?
  if ((status != 0)); then
    log "facility-sim $name exited with status $status; see $dir/sim.log"
  fi
  # facility-sim keeps its logs (facilityd.log) in a folder of the schema's
  # name when asked to keep the schema.
  rm -rf "$dir/sim-logs"
  mv "/tmp/facility-sim-$schema" "$dir/sim-logs" 2>/dev/null || true
  i1=$(in_schema "$schema" -f "$SQL/violations.sql" 2>/dev/null |
    cut -d'|' -f1) || i1=""
  found=$(awk '$1 == "violations" { print $2 }' "$dir/sim.log")
  drop_schema "$schema"
  echo "$(sim_figures "$dir/sim.log") ${found:--} ${i1:--}"
}

# Reads facility-sim's summary; prints "tps p50 p99 p999" (ms), dashes for
# what it lacks. The lines read:
#   throughput   957 acknowledged scans/s
#   latency      p50 62.79 ms, p99 147.69 ms, p999 191.98 ms, max ...
sim_figures() {
  awk '
    $1 == "throughput" { tps = $2 }
    $1 == "latency" {
      for (i = 2; i < NF; i++) {
        if ($i == "p50") p50 = $(i + 1)
        if ($i == "p99") p99 = $(i + 1)
        if ($i == "p999") p999 = $(i + 1)
      }
    }
    END { printf "%s %s %s %s\n", tps ? tps : "-", p50 ? p50 : "-",
                 p99 ? p99 : "-", p999 ? p999 : "-" }' "$1"
}

# ---------------------------------------------------------------------------
# The race of the participant-lock design

# Runs RACE_ROUNDS rounds with lock $1 (1: facility, 2: participant) on
# the race world; prints "open_visits facilities survivors".
race_runs() {
  local lock=$1 schema=bench_race clients=64 round total=0 places=0 survived=0
  local facilities=4 participants=256 result v f s
  for ((round = 1; round <= RACE_ROUNDS; round++)); do
    in_schema "$schema" -f "$SQL/race_round.sql"
    PGOPTIONS="-c search_path=$schema" "$PGBENCH" -n -M prepared \
      -c "$clients" -j 2 -t $((participants / clients)) \
      -D clients="$clients" -D lock="$lock" -D k=0 \
      -f "$SCRIPTS/race.sql" >>"$WORK/race-lock$lock.log" 2>&1 ||
      die "race round failed; see $WORK/race-lock$lock.log"
    result=$(in_schema "$schema" -f "$SQL/race_violations.sql")
    IFS='|' read -r v f s <<<"$result"
    total=$((total + v)) places=$((places + f)) survived=$((survived + s))
  done
  echo "$total $places $survived"
}

race() {
  local schema=bench_race
  log "race: $RACE_ROUNDS round(s), 4 facilities, 64 clients"
  peer_world "$schema" 4 256 false
  in_schema "$schema" -v facilities=4 -f "$SQL/race_plan.sql"
  : >"$WORK/race-lock1.log"
  : >"$WORK/race-lock2.log"
  RACE_PARTICIPANT=$(race_runs 2)
  RACE_FACILITY=$(race_runs 1)
  drop_schema "$schema"
}

# ---------------------------------------------------------------------------
# Start-up on a large world

# Starts facilityd on schema $1 with its log in $2 and waits for "ready";
# sets SERVER_PID and READY_MS (from launch). Fails after $3 seconds.
start_facilityd() {
  local schema=$1 logfile=$2 limit=$3 start
  local -a extra=()
  # A server with an admin endpoint gets a port of its own for it too, so
  # that it never meets another server on the machine.
  if [[ $("$FACILITYD" --help 2>&1 || true) == *--admin.port=* ]]; then
    extra=(--admin.host=127.0.0.1 --admin.port=0
      --admin.token-file="$WORK/admin-token")
  fi
  # Nobody scrapes it here; 0 turns the metrics endpoint off.
  if [[ $("$FACILITYD" --help 2>&1 || true) == *--metrics.port=* ]]; then
    extra+=(--metrics.port=0)
  fi
  start=$(date +%s%N)
  (cd "$WORK" && exec "$FACILITYD" \
    --db.dsn="options='-c search_path=$schema'" \
    --gateway.host=127.0.0.1 --gateway.port=0 "${extra[@]}") \
    >"$logfile" 2>&1 &
  SERVER_PID=$!
  until grep -qs ' server: ready' "$logfile"; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      die "facilityd exited during start-up; see $logfile"
    fi
    if (($(date +%s%N) - start > limit * 1000000000)); then
      kill "$SERVER_PID"
      die "facilityd not ready after ${limit}s; see $logfile"
    fi
    sleep 0.05
  done
  READY_MS=$((($(date +%s%N) - start) / 1000000))
}

stop_facilityd() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# kB from /proc/<pid>/status field $2 (VmRSS, VmHWM), as MiB.
memory_mib() {
  awk -v field="$2:" '$1 == field { printf "%.0f", $2 / 1024 }' \
    "/proc/$1/status"
}

recovery() {
  local schema=bench_recovery facilities=${RECOVERY_SIZE[0]}
  local participants=${RECOVERY_SIZE[1]} visits=${RECOVERY_SIZE[2]}
  local counts broken line
  log "start-up: $facilities facilities, $participants participants," \
    "$visits open visits"

  # facilityd applies the migrations itself on the empty schema.
  drop_schema "$schema"
  in_schema public -c "CREATE SCHEMA $schema"
  start_facilityd "$schema" "$WORK/recovery-migrate.log" 60
  stop_facilityd

  in_schema "$schema" -v facilities="$facilities" \
    -v participants="$participants" -v open_visits="$visits" \
    -f "$SQL/recovery_world.sql" >/dev/null
  counts=$(in_schema "$schema" -c "SELECT (SELECT count(*) FROM facilities)
    || ' ' || (SELECT count(*) FROM participants) || ' ' || (SELECT count(*)
    FROM visits WHERE checked_out_at IS NULL)")
  [[ $counts == "$facilities $participants $visits" ]] ||
    die "the start-up world came out as $counts"
  broken=$(in_schema "$schema" -f "$SQL/violations.sql")
  [[ $broken == "0|0" ]] || die "the start-up world breaks I1: $broken"
  in_schema public -c CHECKPOINT

  start_facilityd "$schema" "$WORK/recovery.log" 300
  RECOVERY_RSS=$(memory_mib "$SERVER_PID" VmRSS)
  RECOVERY_PEAK=$(memory_mib "$SERVER_PID" VmHWM)
  RECOVERY_READY=$READY_MS
  stop_facilityd
  line=$(grep -m 1 ' server: recovered ' "$WORK/recovery.log")
  RECOVERY_LOGGED=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' <<<"$line")
  [[ $line == *"facilities=$facilities open_visits=$visits"* ]] ||
    die "facilityd recovered something else: $line"
  drop_schema "$schema"
}

# ---------------------------------------------------------------------------
# Throughput

# One row per configuration, kept for the table: "label|server|floor|peer"
# with server "tps p50 p99 p999 checks i1" and the others "tps p50 p99 p999
# drift".
ROWS=()

# The floor and the peer run in slices around the server's run (floor,
# peer, server, peer, floor with two slices), so that the machine's drift
# during a configuration touches all three alike.
throughput() {
  local config facilities participants gateways label extra name world=""
  local server dir
  for config in "${CONFIGS[@]}"; do
    IFS=: read -r facilities participants gateways label extra <<<"$config"
    # One world per shape, reset before every pgbench slice.
    if [[ $world != "$facilities:$participants" ]]; then
      peer_world bench_peer "$facilities" "$participants" true
      world=$facilities:$participants
    fi
    name=f$facilities-g$gateways${extra:+-tuned}
    dir=$WORK/pgbench/$name
    log "$label"
    floor_slice bench_peer "$facilities" "$gateways" "$dir/floor-1"
    if ((SLICES > 1)); then
      peer_slice bench_peer "$facilities" "$participants" "$gateways" \
        "$dir/peer-1"
    fi
    server=$(server_run "$facilities" "$gateways" "$participants" "$name" \
      "$extra")
    peer_slice bench_peer "$facilities" "$participants" "$gateways" \
      "$dir/peer-$SLICES"
    if ((SLICES > 1)); then
      floor_slice bench_peer "$facilities" "$gateways" "$dir/floor-2"
    fi
    ROWS+=("$label|$server|$(pooled_figures "$dir"/floor-*)|$(
      pooled_figures "$dir"/peer-*)")
  done
  drop_schema bench_peer
}

# ---------------------------------------------------------------------------
# Report

machine() {
  local cpu mem version settings
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
  mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  version=$(in_schema public -c 'SHOW server_version')
  settings=$(in_schema public -c "SELECT string_agg(name || '=' ||
    current_setting(name), ' ' ORDER BY name) FROM pg_settings WHERE name
    IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes',
    'shared_buffers')")
  MACHINE="$(nproc) cores ($cpu), $mem; PostgreSQL $version; $settings"
  LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
}

# 1234.5 -> 1235, or a dash.
whole() {
  awk -v x="$1" 'BEGIN { if (x + 0 > 0) printf "%.0f", x; else printf "-" }'
}

# The larger of two per cents, "12%", or a dash when neither is known.
larger_percent() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a !~ /^[0-9]+$/ && b !~ /^[0-9]+$/) { printf "-"; exit }
    m = a + 0; if (b + 0 > m) m = b + 0
    printf "%d%%", m }'
}

# "a b" -> a / b with two decimals, or a dash.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}

# 1234567 -> 1,234,567
thousands() {
  sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"
}

print_table() {
  local row label server floor peer s_tps s_p50 s_p99 s_p999 f_tps p_tps
  local f_drift p_drift pv pf ps fv sv_checks sv_i1 rule recovered
  local fmt='%-26s %8s %7s %7s %7s %8s %7s %8s %8s %5s\n'
  rule=$(printf '%0.s-' {1..99})
  read -r pv pf ps <<<"$RACE_PARTICIPANT"
  read -r fv _ _ <<<"$RACE_FACILITY"
  read -r sv_checks sv_i1 <<<"$SERVER_VIOLATIONS"

  printf '\nfacilityd benchmark, %s%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$( ((QUICK)) && printf ' (quick)')"
  printf '%s\n' "$MACHINE"
  printf 'Load average (1 min) before the runs %s, after them %s:' \
    "$LOAD_BEFORE" "$(cut -d' ' -f1 /proc/loadavg)"
  printf ' the runs themselves\nload the machine; much more means other'
  printf ' work shared it.\n'
  printf 'Durable commits. facility-sim sends for %s s with %s scan(s) in' \
    "$SERVER_S" "$PIPELINE"
  printf ' flight per gateway;\npgbench measures %s slice(s) of %s s each' \
    "$SLICES" "$SLICE_S"
  printf ' for the floor and the peer, after %s s of warm-up.\n\n' \
    "$WARMUP_S"
  # shellcheck disable=SC2059  # the format is ours
  printf "$fmt" "configuration" "server/s" "p50 ms" "p99 ms" "p999 ms" \
    "floor/s" "srv/flr" "peer/s" "srv/peer" "drift"
  printf '%s\n' "$rule"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r label server floor peer <<<"$row"
    read -r s_tps s_p50 s_p99 s_p999 _ <<<"$server"
    read -r f_tps _ _ _ f_drift <<<"$floor"
    read -r p_tps _ _ _ p_drift <<<"$peer"
    # shellcheck disable=SC2059
    printf "$fmt" "$label" "$s_tps" "$s_p50" "$s_p99" "$s_p999" \
      "$(whole "$f_tps")" "$(ratio "$s_tps" "$f_tps")" "$(whole "$p_tps")" \
      "$(ratio "$s_tps" "$p_tps")" "$(larger_percent "$f_drift" "$p_drift")"
  done
  printf '%s\n' "$rule"
  printf '%-26s %s\n' \
    "race: 4 fac, 64 clients," \
    "I1 violations: open visits left in a facility without a keyholder" \
    "  $RACE_ROUNDS round(s), $((RACE_ROUNDS * 4)) closings" \
    "  peer, participant lock: $pv, in $pf facilities ($ps of them survived" \
    "" "    a force-close; the rest were in facilities nobody closed)" \
    "" "  peer, facility lock:    $fv" \
    "" "  server, every run above: $sv_i1 (facility-sim's checks: $sv_checks)"
  printf '%s\n' "$rule"
  recovered="recovered in $RECOVERY_LOGGED ms (its log line),"
  printf '%-26s %s\n' \
    "start-up: $(thousands "${RECOVERY_SIZE[0]}") fac," \
    "$recovered ready $RECOVERY_READY ms" \
    "  $(thousands "${RECOVERY_SIZE[1]}") participants," \
    "after launch; resident memory when ready $RECOVERY_RSS MiB" \
    "  $(thousands "${RECOVERY_SIZE[2]}") open visits" \
    "(peak $RECOVERY_PEAK MiB)"
  printf '%s\n' "$rule"
  cat <<'EOF'
server/s: scans acknowledged per second under facility-sim; p50/p99/p999:
its send-to-ACK latency. floor/s: pgbench transactions per second, each the
writes of one scan in one pipelined transaction. peer/s: scans per second
with the rules in plpgsql under a facility advisory lock. pgbench clients =
gateways. drift: how far the floor's (or the peer's) slices before and after
the server's run differ, in per cent: the machine wandering meanwhile.
Absolute figures drift on this shared 2-core machine; the ratios within one
run are what carry over to other machines.
EOF
}

# The server's violations over all its runs: "checks i1", or dashes.
server_violations() {
  local row server checks i1 total_checks=0 total_i1=0 seen=0
  for row in "${ROWS[@]}"; do
    IFS='|' read -r _ server _ <<<"$row"
    read -r _ _ _ _ checks i1 <<<"$server"
    [[ $checks =~ ^[0-9]+$ && $i1 =~ ^[0-9]+$ ]] || continue
    total_checks=$((total_checks + checks)) total_i1=$((total_i1 + i1))
    seen=1
  done
  if ((seen)); then
    echo "$total_checks $total_i1"
  else
    echo "- -"
  fi
}

save_results() {
  local row
  {
    printf 'configuration\tserver (tps p50 p99 p999 checks I1)'
    printf '\tfloor (tps p50 p99 p999 drift)\tpeer (tps p50 p99 p999 drift)\n'
    for row in "${ROWS[@]}"; do
      tr '|' '\t' <<<"$row"
    done
    printf '# race: open visits breaking I1, facilities, survivors of a'
    printf ' force-close\n'
    printf 'race participant lock\t%s\n' "$RACE_PARTICIPANT"
    printf 'race facility lock\t%s\n' "$RACE_FACILITY"
    printf 'start-up\t%s\tlogged_ms=%s ready_ms=%s rss_mib=%s peak_mib=%s\n' \
      "${RECOVERY_SIZE[*]}" "$RECOVERY_LOGGED" "$RECOVERY_READY" \
      "$RECOVERY_RSS" "$RECOVERY_PEAK"
  } >"$WORK/results.tsv"
}

main() {
  parse_args "$@"
  configure
  rm -rf "$WORK"
  mkdir -p "$WORK"
  build
  start_cluster
  trap clean_up EXIT
  find_tools
  machine
  throughput
  SERVER_VIOLATIONS=$(server_violations)
  race
  recovery
  save_results
  print_table | tee "$WORK/table.txt"
  log "done; raw figures and logs in $WORK"
}

main "$@"
