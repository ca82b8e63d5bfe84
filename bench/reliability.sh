#!/usr/bin/env bash
# Nothing lost, measured (issue 19, scope 7). Against the release build, the Postgres store and
# a fast mock upstream, two scenarios:
#   outage   sustained load (RATE plain calls a second from PLAIN clients, and 4 streaming
#            clients); Postgres is stopped for OUTAGE_SECS seconds and started again; the load
#            goes on 10 s before and after.
#   sigterm  STREAMS streams of ten seconds open (and 8 plain clients), then SIGTERM; the gateway
#            drains within its grace period (40 s); a restart replays whatever it spilled.
# Each time, `bench-ledger check` compares the ledger with what every caller was told: every
# answered call in the ledger once, at the price it was told, and nothing else.
#
#   bench/reliability.sh [PLAIN=16] [STREAMS=200] [OUTAGE_SECS=30] [RATE=3000]
#
# Postgres is a private cluster on port 5499 in a temporary directory (the machine's own is
# never stopped), made with the newest /usr/lib/postgresql/*/bin (run as `postgres` when root).
# Reports land in bench/results/reliability-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh

plain="${1:-16}"
streams="${2:-200}"
outage="${3:-30}"
rate="${4:-3000}"
results=bench/results
mkdir -p "$results"

cargo build --release --locked -p it --bin mock-upstream --bin bench-ledger
cargo build --release --locked --bin sluice
bin=$PWD/target/release

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "Postgres server binaries (/usr/lib/postgresql/*/bin) are required" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_port=5499
mkdir -p "$work/pg" && [ "$(id -u)" != 0 ] || chown postgres "$work/pg"
pg_start() { as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -o "-p $pg_port -k $work/pg" -l "$work/pg/log" -w start >/dev/null; }
pg_stop() { as_postgres "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null; }
as_postgres "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
pg_start

cleanup() {
  kill "${mock_pid:-}" "${sluice_pid:-}" "${load_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  pg_stop 2>/dev/null || true
}
trap cleanup EXIT

mock_addr=127.0.0.1:9100
gateway_addr=127.0.0.1:9180

start_mock() { # stream seconds (0: fast)
  kill "${mock_pid:-}" 2>/dev/null || true
  wait "${mock_pid:-}" 2>/dev/null || true
  MOCK_STREAM_SECONDS=$1 "$bin/mock-upstream" "$mock_addr" &
  mock_pid=$!
  sleep 0.5
}

start_sluice() { # directory database_url
  (cd "$1" && SLUICE_LISTEN="$gateway_addr" SLUICE_DATABASE_URL="$2" exec "$bin/sluice" serve --config sluice.toml >>out.txt 2>>sluice.log) &
  sluice_pid=$!
}

# Stops the gateway with SIGTERM and waits for it; prints how long it took and its exit status.
stop_sluice() {
  local started=$SECONDS status=0
  kill -TERM "$sluice_pid"
  wait "$sluice_pid" || status=$?
  echo "the gateway exited with status $status after $((SECONDS - started)) s" >&2
  sluice_pid=
}

scenario_dir() { # name
  local dir="$work/$1"
  mkdir -p "$dir"
  write_bench_config "$dir/sluice.toml" "$mock_addr"
  # Long enough for ten-second streams to finish; spilled records replayed every 5 s.
  sed -i 's/^\[server\]$/[server]\nshutdown_timeout_secs = 40/' "$dir/sluice.toml"
  printf '\n[usage]\nreplay_interval_secs = 5\n' >>"$dir/sluice.toml"
  as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$1"
  echo "$dir"
}

database_of() { echo "postgres://postgres@127.0.0.1:$pg_port/$1"; }

# Starts the gateway on a fresh database for scenario `name`; sets `dir` and `key`.
start_scenario() { # name
  dir=$(scenario_dir "$1")
  start_sluice "$dir" "$(database_of "$1")"
  key=$(first_key "$dir/out.txt" 30)
  [ -n "$key" ] || { echo "sluice did not start" >&2; cat "$dir/sluice.log" >&2; exit 1; }
}

# --- outage -------------------------------------------------------------------------------
start_mock 0
start_scenario outage
echo "outage: $rate calls a second for $((outage + 20)) s, Postgres stopped for $outage s after 10 s" >&2
"$bin/bench-ledger" load "http://$gateway_addr" "$key" "$plain" 4 $((outage + 20)) "$work/outage.json" "$rate" >"$results/reliability-outage-load.json" &
load_pid=$!
sleep 10
pg_stop
echo "outage: Postgres stopped" >&2
sleep "$outage"
pg_start
echo "outage: Postgres started" >&2
wait "$load_pid"
load_pid=
"$bin/bench-ledger" check "$(database_of outage)" "$work/outage.json" 120 >"$results/reliability-outage.json" || true
stop_sluice
grep -v '"target":"access"' "$dir/sluice.log" | grep -E 'spill|replay|usage inserts' >&2 || true
cat "$results/reliability-outage.json"

# --- sigterm ------------------------------------------------------------------------------
start_mock 10
start_scenario sigterm
echo "sigterm: $streams streams of 10 s and 8 plain clients; SIGTERM after 5 s" >&2
"$bin/bench-ledger" load "http://$gateway_addr" "$key" 8 "$streams" 25 "$work/sigterm.json" >"$results/reliability-sigterm-load.json" &
load_pid=$!
sleep 5
stop_sluice
wait "$load_pid"
load_pid=
# A restart replays what the stopped gateway spilled or left in its journal, if anything.
start_sluice "$dir" "$(database_of sigterm)"
"$bin/bench-ledger" check "$(database_of sigterm)" "$work/sigterm.json" 60 >"$results/reliability-sigterm.json" || true
stop_sluice
cat "$results/reliability-sigterm.json"

python3 - "$results" <<'PY'
import json, sys
ok = all(json.load(open(f"{sys.argv[1]}/reliability-{name}.json"))["ok"] for name in ("outage", "sigterm"))
sys.exit(0 if ok else 1)
PY
