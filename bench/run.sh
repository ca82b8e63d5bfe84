#!/usr/bin/env bash
# Gateway overhead benchmark. In one run, against one fast mock upstream:
#   direct     load generator → mock upstream
#   gateway    load generator → sluice (auth + usage recording on) → mock upstream
# for non-streamed chat (oha) and streamed chat (bench-stream: time to first token).
# Sluice is pinned to core 0; the mock upstream and the load generators to core 1.
# Overhead = gateway latency − direct latency. CPU per request comes from the gateway
# process's own CPU time (/proc/PID/stat) divided by the requests it served.
#
#   bench/run.sh [SECONDS] [CONCURRENCY]      # defaults: 20 s, 32 connections
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
concurrency="${2:-32}"
gateway_core="${GATEWAY_CORE:-0}"
load_core="${LOAD_CORE:-1}"
results="bench/results"
mkdir -p "$results"

command -v oha >/dev/null || cargo install --locked oha
command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }

cargo build --release --locked --bin sluice --bin mock-upstream --bin bench-stream
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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$sluice_pid/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$sluice_pid/status"; }

oha_run() { # url body extra-header-args... → json file
  local out=$1 url=$2 payload=$3; shift 3
  taskset -c "$load_core" oha --no-tui --output-format json -z "${seconds}s" -c "$concurrency" \
    -m POST -H 'content-type: application/json' "$@" -d "$payload" "$url" >"$out"
}

echo "warming up" >&2
taskset -c "$load_core" oha --no-tui --output-format quiet -z 3s -c "$concurrency" -m POST \
  -H 'content-type: application/json' -H "authorization: Bearer $key" -d "$body" "http://$gateway_addr/v1/chat/completions"

echo "non-streamed: direct" >&2
oha_run "$results/direct.json" "http://$mock_addr/v1/chat/completions" "$direct_body"
echo "non-streamed: through sluice" >&2
ticks_before=$(cpu_ticks)
oha_run "$results/gateway.json" "http://$gateway_addr/v1/chat/completions" "$body" -H "authorization: Bearer $key"
ticks_after=$(cpu_ticks)

echo "streamed: direct" >&2
taskset -c "$load_core" "$bin/bench-stream" "http://$mock_addr/v1/chat/completions" none "$concurrency" "$seconds" >"$results/direct-stream.json"
echo "streamed: through sluice" >&2
taskset -c "$load_core" "$bin/bench-stream" "http://$gateway_addr/v1/chat/completions" "$key" "$concurrency" "$seconds" >"$results/gateway-stream.json"
sleep 1
rss=$(rss_kb)
clk_tck=$(getconf CLK_TCK)

python3 - "$results" "$((ticks_after - ticks_before))" "$clk_tck" "$rss" "$seconds" "$concurrency" <<'PY'
import json, sys
results, ticks, clk_tck, rss_kb, seconds, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
load = lambda name: json.load(open(f"{results}/{name}.json"))
direct, gateway = load("direct"), load("gateway")
ds, gs = load("direct-stream"), load("gateway-stream")

def p(run, q):
    return run["latencyPercentiles"][q] * 1000

def ok(run):
    codes = run.get("statusCodeDistribution", {})
    return sum(v for k, v in codes.items() if k.startswith("2")), sum(v for k, v in codes.items() if not k.startswith("2"))

g_ok, g_bad = ok(gateway)
d_ok, d_bad = ok(direct)
cpu_us = ticks / clk_tck * 1e6 / max(g_ok, 1)
rows = {
    "concurrency": int(concurrency), "seconds": int(seconds),
    "direct_p50_ms": p(direct, "p50"), "direct_p99_ms": p(direct, "p99"), "direct_rps": direct["summary"]["requestsPerSec"],
    "gateway_p50_ms": p(gateway, "p50"), "gateway_p99_ms": p(gateway, "p99"), "gateway_rps": gateway["summary"]["requestsPerSec"],
    "added_p50_ms": p(gateway, "p50") - p(direct, "p50"), "added_p99_ms": p(gateway, "p99") - p(direct, "p99"),
    "gateway_non_2xx": g_bad, "direct_non_2xx": d_bad,
    "cpu_us_per_request": cpu_us, "rss_mb_after": rss_kb / 1024,
    "stream_direct_ttft_p50_ms": ds["ttft_p50_ms"], "stream_direct_ttft_p99_ms": ds["ttft_p99_ms"], "stream_direct_rps": ds["rps"],
    "stream_gateway_ttft_p50_ms": gs["ttft_p50_ms"], "stream_gateway_ttft_p99_ms": gs["ttft_p99_ms"], "stream_gateway_rps": gs["rps"],
    "stream_added_ttft_p50_ms": gs["ttft_p50_ms"] - ds["ttft_p50_ms"], "stream_added_ttft_p99_ms": gs["ttft_p99_ms"] - ds["ttft_p99_ms"],
    "stream_gateway_errors": gs["errors"],
}
json.dump(rows, open(f"{results}/summary.json", "w"), indent=2)
print(f"""
| measure | direct | through sluice | added |
| --- | --- | --- | --- |
| non-streamed p50 | {rows['direct_p50_ms']:.3f} ms | {rows['gateway_p50_ms']:.3f} ms | {rows['added_p50_ms']:.3f} ms |
| non-streamed p99 | {rows['direct_p99_ms']:.3f} ms | {rows['gateway_p99_ms']:.3f} ms | {rows['added_p99_ms']:.3f} ms |
| non-streamed throughput | {rows['direct_rps']:.0f} req/s | {rows['gateway_rps']:.0f} req/s | |
| streamed TTFT p50 | {rows['stream_direct_ttft_p50_ms']:.3f} ms | {rows['stream_gateway_ttft_p50_ms']:.3f} ms | {rows['stream_added_ttft_p50_ms']:.3f} ms |
| streamed TTFT p99 | {rows['stream_direct_ttft_p99_ms']:.3f} ms | {rows['stream_gateway_ttft_p99_ms']:.3f} ms | {rows['stream_added_ttft_p99_ms']:.3f} ms |
| streamed throughput | {rows['stream_direct_rps']:.0f} req/s | {rows['stream_gateway_rps']:.0f} req/s | |
| gateway CPU per request | | {rows['cpu_us_per_request']:.1f} µs | |
| gateway RSS after the run | | {rows['rss_mb_after']:.1f} MB | |
| non-2xx answers | {d_bad} | {g_bad} (+{rows['stream_gateway_errors']} stream errors) | |
""")
PY
echo "usage records written: $(grep -c '"access"' "$work/sluice.log" || true) access log lines" >&2
