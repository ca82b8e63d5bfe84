#!/usr/bin/env bash
# Gateway overhead benchmark. In one run, against one fast mock upstream:
#   direct     load generator → mock upstream
#   nginx      load generator → a bare nginx reverse proxy → mock upstream   (the yardstick)
#   sluice     load generator → sluice (auth, access log and usage recording on) → mock upstream
# for non-streamed chat (oha) and streamed chat (bench-stream: time to first token), each
#   at a fixed rate (RATE req/s over CONCURRENCY connections): latency without queueing, and
#   at saturation (as fast as answers come): throughput, and latency under full load.
# The proxies are pinned to core 0; the mock upstream and the load generators to core 1.
# Overhead = proxy latency − direct latency. CPU per request is the proxy process's own CPU
# time (/proc/PID/stat, all its threads, SQLite writes included) over the requests served.
#
# Shared VMs drift by a factor of several over minutes (steal time, neighbours), so every
# phase runs ROUNDS times with the three targets interleaved, and the report gives medians:
# what one target measured is always compared with the others measured seconds apart.
# nginx comes from Debian's packages (installed when missing and run as root); without it the
# nginx columns stay empty.
#
#   bench/run.sh [SECONDS] [CONCURRENCY] [RATE] [ROUNDS]   # defaults: 10 s, 32, 5000 req/s, 3
#   SLUICE_BIN=/path/to/sluice bench/run.sh …   # a binary built elsewhere (A/B of two commits)
#   BENCH_LIMITS='{"requests_per_minute": 100000000}' bench/run.sh …   # with the tenant's limits
#     (a policy in the management API's shape, as for bench/profile.sh)
#   BENCH_SQL="$(cat bench/prepaid.sql)" bench/run.sh …   # SQL on the embedded database first
#   BENCH_PHASES=max bench/run.sh …   # only some phases (of: rate max stream-rate stream-max)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh

seconds="${1:-10}"
concurrency="${2:-32}"
rate="${3:-5000}"
rounds="${4:-3}"
phases="${BENCH_PHASES:-rate max stream-rate stream-max}"
gateway_core="${GATEWAY_CORE:-0}"
load_core="${LOAD_CORE:-1}"
results="bench/results"
rm -rf "$results"
mkdir -p "$results"

command -v oha >/dev/null || cargo install --locked oha
command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }
nginx_bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -z "$nginx_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends nginx-light >/dev/null 2>&1; } || true
  nginx_bin=$(ls /usr/sbin/nginx 2>/dev/null || true)
fi
[ -n "$nginx_bin" ] || echo "!!! nginx is not installed: the run has no reference proxy" >&2

# The tools live in the test crate, whose dependencies enable features (reqwest's cookie store,
# for one) that cost the gateway CPU per request: build them apart, and sluice last, so the
# binary measured is the one `cargo build --release --bin sluice` makes.
cargo build --release --locked -p it --bin mock-upstream --bin bench-stream
[ -n "${SLUICE_BIN:-}" ] || cargo build --release --locked --bin sluice
bin="${CARGO_TARGET_DIR:-target}/release"
sluice_bin="${SLUICE_BIN:-$(realpath "$bin")/sluice}"

work=$(mktemp -d)
cleanup() {
  kill "${mock_pid:-}" "${sluice_pid:-}" "${nginx_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

mock_addr=127.0.0.1:9100
gateway_addr=127.0.0.1:9180
nginx_addr=127.0.0.1:9190
taskset -c "$load_core" "$bin/mock-upstream" "$mock_addr" &
mock_pid=$!

write_bench_config "$work/sluice.toml" "$mock_addr"

(cd "$work" && SLUICE_LISTEN="$gateway_addr" exec taskset -c "$gateway_core" "$sluice_bin" serve --config sluice.toml >out.txt 2>sluice.log) &
sluice_pid=$!

targets="direct sluice"
if [ -n "$nginx_bin" ]; then
  # One process, no master: its CPU time is the whole proxy's. Upstream connections are kept
  # alive and answers are not buffered (streams pass through), as a gateway in front of model
  # providers would be configured; no access log, so this is the floor for any proxy.
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
error_log $work/nginx/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream mock { server $mock_addr; keepalive 64; }
  server {
    listen $nginx_addr;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
NGINX
  taskset -c "$gateway_core" "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  nginx_pid=$!
  targets="direct nginx sluice"
fi

key=$(first_key "$work/out.txt" 10)
[ -n "$key" ] || { echo "sluice did not start" >&2; cat "$work/sluice.log" >&2; exit 1; }
if [ -n "${BENCH_SQL:-}" ]; then
  printf '%s\n' "$BENCH_SQL" | sqlite3 "$work/sluice-data/sluice.db" >&2
  sleep 3 # every node polls the store's revision each second
fi
if [ -n "${BENCH_LIMITS:-}" ]; then
  (cd "$work" && "$sluice_bin" admin limits set --tenant default --json "$BENCH_LIMITS") >&2
  sleep 3 # every node polls the store's revision each second
fi

url_of() {
  case $1 in
    direct) echo "http://$mock_addr/v1/chat/completions" ;;
    nginx) echo "http://$nginx_addr/v1/chat/completions" ;;
    sluice) echo "http://$gateway_addr/v1/chat/completions" ;;
  esac
}
pid_of() {
  case $1 in
    nginx) echo "$nginx_pid" ;;
    sluice) echo "$sluice_pid" ;;
    *) echo "" ;;
  esac
}
cpu_ticks() { # pid (empty: 0)
  if [ -n "$1" ]; then awk '{print $14 + $15}' "/proc/$1/stat"; else echo 0; fi
}

oha_run() { # out url [oha args...]
  local out=$1 url=$2; shift 2
  taskset -c "$load_core" oha --no-tui --output-format json -z "${seconds}s" -c "$concurrency" \
    -m POST -H 'content-type: application/json' -H "authorization: Bearer $key" "$@" -d "$bench_body" "$url" >"$out"
}

measure() { # target phase round
  local target=$1 phase=$2 round=$3 url pid ticks
  url=$(url_of "$target")
  pid=$(pid_of "$target")
  ticks=$(cpu_ticks "$pid")
  case $phase in
    rate) oha_run "$results/$target-rate-$round.json" "$url" -q "$rate" --latency-correction ;;
    max) oha_run "$results/$target-max-$round.json" "$url" ;;
    stream-rate) taskset -c "$load_core" "$bin/bench-stream" "$url" "$key" "$concurrency" "$seconds" "$rate" >"$results/$target-stream-rate-$round.json" ;;
    stream-max) taskset -c "$load_core" "$bin/bench-stream" "$url" "$key" "$concurrency" "$seconds" >"$results/$target-stream-max-$round.json" ;;
  esac
  echo $(($(cpu_ticks "$pid") - ticks)) >"$results/$target-$phase-$round.ticks"
}

echo "warming up" >&2
for target in $targets; do
  taskset -c "$load_core" oha --no-tui --output-format quiet -z 3s -c "$concurrency" -m POST \
    -H 'content-type: application/json' -H "authorization: Bearer $key" -d "$bench_body" "$(url_of "$target")"
done

for round in $(seq 1 "$rounds"); do
  for phase in $phases; do
    echo "round $round/$rounds: $phase" >&2
    for target in $targets; do
      measure "$target" "$phase" "$round"
    done
  done
done
sleep 1
awk '/VmRSS/ {print $2}' "/proc/$sluice_pid/status" >"$results/sluice.rss_kb"
[ -z "$nginx_bin" ] || awk '/VmRSS/ {print $2}' "/proc/$nginx_pid/status" >"$results/nginx.rss_kb"

python3 bench/report.py "$results" "$(getconf CLK_TCK)" "$seconds" "$concurrency" "$rate" "$rounds" "$targets" "$phases"
