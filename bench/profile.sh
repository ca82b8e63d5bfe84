#!/usr/bin/env bash
# Counts what one non-streamed chat request costs inside sluice, free of the machine's noise:
# sluice runs under callgrind in front of the mock upstream, takes WARMUP requests uncounted,
# then REQUESTS counted ones; the report gives instructions and heap allocations (calls into
# mimalloc) per counted request. Every thread counts, the usage writer's SQLite work included.
#
#   bench/profile.sh [REQUESTS] [WARMUP]     # defaults: 4000 1000
#   SLUICE_BIN=/path/to/sluice bench/profile.sh   # a binary built elsewhere (A/B of two commits)
#   BENCH_LIMITS='{"requests_per_minute": 100000000}' bench/profile.sh   # with the tenant's limits
#     (a policy in the management API's shape, set with `sluice admin limits set` before the warm-up)
#   BENCH_SQL="$(cat bench/prepaid.sql)" bench/profile.sh   # SQL run on the embedded database
#     before the warm-up (here: the tenant on prepaid credit that stops at zero)
#
# The profile stays in bench/profile/full.out: `callgrind_annotate bench/profile/full.out`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
. bench/common.sh

requests="${1:-4000}"
warmup="${2:-1000}"
out="$PWD/bench/profile"
rm -rf "$out"
mkdir -p "$out"

command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 1; }
command -v oha >/dev/null || cargo install --locked oha
cargo build --release --locked -p it --bin mock-upstream
[ -n "${SLUICE_BIN:-}" ] || cargo build --release --locked --bin sluice
bin="$(realpath "${CARGO_TARGET_DIR:-target}")/release"
sluice_bin="${SLUICE_BIN:-$bin/sluice}"

work=$(mktemp -d)
cleanup() {
  kill "${mock_pid:-}" "${sluice_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

mock_addr=127.0.0.1:9101
gateway_addr=127.0.0.1:9181
"$bin/mock-upstream" "$mock_addr" &
mock_pid=$!
write_bench_config "$work/sluice.toml" "$mock_addr"

# One run of sluice under callgrind with instrumentation off: start-up and the warm-up are
# not counted (start-up work such as clock calibration varies from run to run). It is switched
# on for the measured requests and the usage writer's flush of their records, then off again
# before shutdown.
callgrind_control_or_die() { # on|off
  callgrind_control --instr="$1" "$sluice_pid" >/dev/null 2>&1 \
    || { echo "callgrind_control --instr=$1 failed" >&2; exit 1; }
}
key=
rm -rf "$work/data"
(cd "$work" && SLUICE_LISTEN="$gateway_addr" SLUICE_DATA_DIR="$work/data" exec valgrind --tool=callgrind \
  --instr-atstart=no --callgrind-out-file="$out/full.out" "$sluice_bin" serve --config sluice.toml \
  >"$work/out.txt" 2>"$work/sluice.log") &
sluice_pid=$!
key=$(first_key "$work/out.txt" 300)
[ -n "$key" ] || { echo "sluice did not start" >&2; cat "$work/sluice.log" >&2; exit 1; }
load() { # count
  oha --no-tui --output-format quiet -n "$1" -c 4 -m POST -H 'content-type: application/json' \
    -H "authorization: Bearer $key" -d "$bench_body" "http://$gateway_addr/v1/chat/completions"
}
if [ -n "${BENCH_SQL:-}" ]; then
  printf '%s\n' "$BENCH_SQL" | sqlite3 "$work/data/sluice.db" >&2
  sleep 3 # every node polls the store's revision each second
fi
if [ -n "${BENCH_LIMITS:-}" ]; then
  SLUICE_DATA_DIR="$work/data" "$sluice_bin" admin limits set --tenant default --json "$BENCH_LIMITS" >&2
  sleep 3 # every node polls the store's revision each second
fi
echo "profiling: $warmup warm-up requests (not counted), then $requests counted" >&2
[ "$warmup" -gt 0 ] && load "$warmup"
sleep 2 # the warm-up's usage records are written before counting starts
callgrind_control_or_die on
load "$requests"
sleep 3 # the usage writer flushes (every 50 ms) the last records of the counted requests
callgrind_control_or_die off
kill -INT "$sluice_pid"
wait "$sluice_pid" || true

# Instructions and calls into mimalloc's allocation entry points.
read -r instructions allocations < <(python3 - "$out/full.out" <<'PY'
import re, sys
names, allocs, instructions, current = {}, 0, 0, None
alloc = re.compile(r"^mi_(malloc|zalloc|calloc|realloc)(_aligned)?$")
for line in open(sys.argv[1], errors="replace"):
    # `summary:` stays 0 when instrumentation starts off; `totals:` has the count.
    if line.startswith(("summary:", "totals:")):
        instructions = max(instructions, int(line.split()[1]))
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        if line.startswith("cfn="):
            current = names.get(m.group(1), "")
        continue
    if line.startswith("calls=") and current is not None:
        if alloc.search(current):
            allocs += int(line[6:].split()[0])
        current = None
print(instructions, allocs)
PY
)
python3 -c "import sys; i, a, n = (int(x) for x in sys.argv[1:]); print(f'{i / n:,.0f} instructions and {a / n:,.1f} allocations per request')" \
  "$instructions" "$allocations" "$requests"
echo "profile: $out/full.out (callgrind_annotate $out/full.out | head -60)" >&2
