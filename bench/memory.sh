#!/usr/bin/env bash
# The gateway's resident memory over a benchmark run: idle after start, after a first call,
# the peak of the whole run (`VmHWM`) and after it, read from /proc. The run is SECONDS of
# non-streamed calls at concurrency 32 (oha) then SECONDS of streams at 32 (bench-stream),
# against the mock upstream, with the configuration of bench/common.sh (BENCH_ROUTE=two and
# BENCH_CACHE=1 as there).
#
#   bench/memory.sh [SECONDS=15]
#   SLUICE_BIN=/path/to/sluice bench/memory.sh   # a binary built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh

seconds="${1:-15}"
command -v oha >/dev/null || cargo install --locked oha
cargo build --release --locked -p it --bin mock-upstream --bin bench-stream
[ -n "${SLUICE_BIN:-}" ] || cargo build --release --locked --bin sluice
bin="$PWD/target/release"
sluice_bin="${SLUICE_BIN:-$bin/sluice}"

work=$(mktemp -d)
cleanup() {
  kill "${mock_pid:-}" "${sluice_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mock_addr=127.0.0.1:9102
gateway_addr=127.0.0.1:9182
"$bin/mock-upstream" "$mock_addr" &
mock_pid=$!
write_bench_config "$work/sluice.toml" "$mock_addr"
(cd "$work" && SLUICE_LISTEN="$gateway_addr" SLUICE_DATA_DIR="$work/data" exec "$sluice_bin" serve \
  --config sluice.toml >"$work/out.txt" 2>"$work/sluice.log") &
sluice_pid=$!
key=$(first_key "$work/out.txt" 60)
[ -n "$key" ] || { echo "sluice did not start" >&2; cat "$work/sluice.log" >&2; exit 1; }
status() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$sluice_pid/status"; }
sleep 2
idle=$(status VmRSS)
curl -s -o /dev/null -H 'content-type: application/json' -H "authorization: Bearer $key" \
  -d "$bench_body" "http://$gateway_addr/v1/chat/completions"
first=$(status VmRSS)
oha --no-tui --output-format quiet -z "${seconds}s" -c 32 -m POST -H 'content-type: application/json' \
  -H "authorization: Bearer $key" -d "$bench_body" "http://$gateway_addr/v1/chat/completions"
after_plain=$(status VmRSS)
"$bin/bench-stream" "http://$gateway_addr/v1/chat/completions" "$key" 32 "$seconds" >/dev/null
sleep 1
echo "idle ${idle} MB, after one call ${first} MB, after non-streamed load ${after_plain} MB, peak of the run $(status VmHWM) MB, after the run $(status VmRSS) MB"
