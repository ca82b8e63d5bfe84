#!/usr/bin/env bash
# Counts what one non-streamed chat request costs inside sluice, free of the machine's noise:
# sluice runs under callgrind in front of the mock upstream, takes WARMUP requests, then
# REQUESTS more; the report gives instructions and heap allocations (calls into mimalloc) per
# request over the measured ones only (start-up and warm-up are subtracted by a second run that
# serves the warm-up only). Every thread counts, the usage writer's SQLite work included.
#
#   bench/profile.sh [REQUESTS] [WARMUP]     # defaults: 4000 1000
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
cargo build --release --locked --bin sluice
bin="$PWD/target/release"

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

# One profiled run of sluice serving `count` requests after the warm-up.
profile_run() { # name count
  local name=$1 count=$2 key
  rm -rf "$work/data"
  (cd "$work" && SLUICE_LISTEN="$gateway_addr" SLUICE_DATA_DIR="$work/data" exec valgrind --tool=callgrind \
    --callgrind-out-file="$out/$name.out" "$bin/sluice" serve --config sluice.toml \
    >"$work/$name.out.txt" 2>"$work/$name.log") &
  sluice_pid=$!
  # Start-up under valgrind (migrations, the tokenizer's tables) takes a minute or more.
  key=$(first_key "$work/$name.out.txt" 300)
  [ -n "$key" ] || { echo "sluice did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
  for n in "$warmup" "$count"; do
    [ "$n" -gt 0 ] || continue
    oha --no-tui --output-format quiet -n "$n" -c 4 -m POST -H 'content-type: application/json' \
      -H "authorization: Bearer $key" -d "$bench_body" "http://$gateway_addr/v1/chat/completions"
  done
  sleep 1 # let the usage writer flush its last batch
  kill -INT "$sluice_pid"
  wait "$sluice_pid" || true
}

# Instructions (the `summary:` line) and calls into mimalloc's allocation entry points.
totals() { # file
  python3 - "$1" <<'PY'
import re, sys
names, allocs, instructions, current = {}, 0, 0, None
alloc = re.compile(r"^mi_(malloc|zalloc|calloc|realloc)(_aligned)?$")
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("summary:"):
        instructions = int(line.split()[1])
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
}

echo "profiling: $warmup warm-up + $requests requests, then $warmup warm-up only" >&2
profile_run full "$requests"
profile_run base 0
read -r full_i full_a < <(totals "$out/full.out")
read -r base_i base_a < <(totals "$out/base.out")
python3 -c "import sys; i, a, n = (int(x) for x in sys.argv[1:]); print(f'{i / n:,.0f} instructions and {a / n:,.1f} allocations per request')" \
  "$((full_i - base_i))" "$((full_a - base_a))" "$requests"
echo "profile: $out/full.out (callgrind_annotate $out/full.out | head -60)" >&2
