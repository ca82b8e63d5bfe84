#!/usr/bin/env bash
# Gateway overhead benchmark. In one run, against one fast mock upstream:
#   direct     load generator → mock upstream
#   gateway    load generator → sluice (auth, access log and usage recording on) → mock upstream
# for non-streamed chat (oha) and streamed chat (bench-stream: time to first token), each
#   at a fixed rate (RATE req/s over CONCURRENCY connections): latency without queueing, and
#   at saturation (as fast as answers come): throughput, and latency under full load.
# Sluice is pinned to core 0; the mock upstream and the load generators to core 1.
# Overhead = gateway latency − direct latency. CPU per request is the gateway process's own
# CPU time (/proc/PID/stat, all its threads, SQLite writes included) over the requests served.
#
#   bench/run.sh [SECONDS] [CONCURRENCY] [RATE]      # defaults: 20 s, 32 connections, 5000 req/s
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
concurrency="${2:-32}"
rate="${3:-5000}"
gateway_core="${GATEWAY_CORE:-0}"
load_core="${LOAD_CORE:-1}"
results="bench/results"
mkdir -p "$results"

command -v oha >/dev/null || cargo install --locked oha
command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }

# The tools live in the test crate, whose dependencies enable features (reqwest's cookie store,
# for one) that cost the gateway CPU per request: build them apart, and sluice last, so the
# binary measured is the one `cargo build --bin sluice` makes.
cargo build --release --locked --bin mock-upstream --bin bench-stream
cargo build --release --locked --bin sluice
bin=target/release

work=$(mktemp -d)
cleanup() { kill "${mock_pid:-}" "${sluice_pid:-}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

mock_addr=127.0.0.1:9100
gateway_addr=127.0.0.1:9180
taskset -c "$load_core" "$bin/mock-upstream" "$mock_addr" &
mock_pid=$!

cat >"$work/sluice.toml" <<TOML
[server]
workers = 1

[providers.upstream]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://$mock_addr/v1"

[[models]]
alias = "bench"
provider = "upstream"
model = "gpt-4o-mini"
TOML

(cd "$work" && SLUICE_LISTEN="$gateway_addr" exec taskset -c "$gateway_core" "$OLDPWD/$bin/sluice" serve --config sluice.toml >out.txt 2>sluice.log) &
sluice_pid=$!
for _ in $(seq 1 100); do grep -q 'sk-sluice-' "$work/out.txt" 2>/dev/null && break; sleep 0.1; done
key=$(grep -o 'sk-sluice-[A-Za-z0-9]*' "$work/out.txt" | head -n 1)
[ -n "$key" ] || { echo "sluice did not start" >&2; cat "$work/sluice.log" >&2; exit 1; }

body='{"model":"bench","messages":[{"role":"user","content":"Hello, how are you?"}]}'
direct_body='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello, how are you?"}]}'
gateway_url="http://$gateway_addr/v1/chat/completions"
direct_url="http://$mock_addr/v1/chat/completions"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$sluice_pid/stat"; }

oha_run() { # out url body [oha args...]
  local out=$1 url=$2 payload=$3; shift 3
  taskset -c "$load_core" oha --no-tui --output-format json -z "${seconds}s" -c "$concurrency" \
    -m POST -H 'content-type: application/json' "$@" -d "$payload" "$url" >"$out"
}

echo "warming up" >&2
taskset -c "$load_core" oha --no-tui --output-format quiet -z 3s -c "$concurrency" -m POST \
  -H 'content-type: application/json' -H "authorization: Bearer $key" -d "$body" "$gateway_url"

echo "non-streamed at $rate req/s" >&2
oha_run "$results/direct-rate.json" "$direct_url" "$direct_body" -q "$rate" --latency-correction
ticks=$(cpu_ticks)
oha_run "$results/gateway-rate.json" "$gateway_url" "$body" -q "$rate" --latency-correction -H "authorization: Bearer $key"
echo $(( $(cpu_ticks) - ticks )) >"$results/gateway-rate.ticks"

echo "non-streamed at saturation" >&2
oha_run "$results/direct-max.json" "$direct_url" "$direct_body"
ticks=$(cpu_ticks)
oha_run "$results/gateway-max.json" "$gateway_url" "$body" -H "authorization: Bearer $key"
echo $(( $(cpu_ticks) - ticks )) >"$results/gateway-max.ticks"

echo "streamed at $rate req/s" >&2
taskset -c "$load_core" "$bin/bench-stream" "$direct_url" none "$concurrency" "$seconds" "$rate" >"$results/direct-stream-rate.json"
taskset -c "$load_core" "$bin/bench-stream" "$gateway_url" "$key" "$concurrency" "$seconds" "$rate" >"$results/gateway-stream-rate.json"
echo "streamed at saturation" >&2
taskset -c "$load_core" "$bin/bench-stream" "$direct_url" none "$concurrency" "$seconds" >"$results/direct-stream-max.json"
taskset -c "$load_core" "$bin/bench-stream" "$gateway_url" "$key" "$concurrency" "$seconds" >"$results/gateway-stream-max.json"
sleep 1
awk '/VmRSS/ {print $2}' "/proc/$sluice_pid/status" >"$results/gateway.rss_kb"

python3 bench/report.py "$results" "$(getconf CLK_TCK)" "$seconds" "$concurrency" "$rate"
