#!/usr/bin/env bash
# Contract test of the management API: starts a fresh `sluice` (SQLite, a new data directory, a
# free port), signs in a platform operator made with `sluice admin user create --operator`, and
# runs schemathesis (PyPI, pinned in tests/contract/requirements.txt, in a venv cached in
# target/) against the OpenAPI document the binary serves. It fails on any 5xx and on any
# answer the document does not declare: status code, content type, headers, body schema, and
# methods the document does not list (405 with `Allow`).
#
#   scripts/contract-test.sh
#
# Bounded: a fixed number of cases per operation (SLUICE_CONTRACT_EXAMPLES, default 50) and a
# fixed seed (SLUICE_CONTRACT_SEED), so a run takes about the same time each time and a failure
# can be replayed; set SLUICE_CONTRACT_SEED=random to explore. The whole run is cut off after
# SLUICE_CONTRACT_TIMEOUT seconds (default 600). Reports land in target/contract-report.
#
# Not checked: positive_data_acceptance and negative_data_rejection. Most of the API's 400s are
# semantic (a cursor from another list, a used or unknown token, a malformed email address, a
# name of spaces only, an unknown provider) and no schema can state them; the document carries
# the constraints a schema can (lengths, ranges, patterns), and every 400 is declared.
# Calls carry an operator's access token: no CSRF header is needed and no generated call can
# end a session; the only token the run may revoke is a spare one (tests/contract/schemathesis.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SLUICE_CONTRACT_VENV:-target/contract-venv}"
examples="${SLUICE_CONTRACT_EXAMPLES:-50}"
seed="${SLUICE_CONTRACT_SEED:-20261206}"
budget="${SLUICE_CONTRACT_TIMEOUT:-600}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/contract/requirements.txt

# With the whole workspace selected, as the test run built it: nothing is compiled twice.
cargo build --locked --workspace --bin sluice
bin="$PWD/target/debug/sluice"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

workdir=$(mktemp -d)
port=$(free_port)
base="http://127.0.0.1:$port"
export SLUICE_DATA_DIR="$workdir/data"
# The operator's password link is read from `sluice admin`'s output, not from mail.
unset SLUICE_DATABASE_URL SLUICE_CONFIG
(cd "$workdir" && SLUICE_LISTEN="127.0.0.1:$port" exec "$bin" serve >"$workdir/out.txt" 2>"$workdir/sluice.log") &
server=$!
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 300); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "contract: sluice exited" >&2; cat "$workdir/sluice.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || { echo "contract: sluice is not ready" >&2; cat "$workdir/sluice.log" >&2; exit 1; }

email="operator@example.com"
reset=$(cd "$workdir" && "$bin" admin user create --email "$email" --operator | grep -o 'token=[A-Za-z0-9_-]*' | head -n 1)
[ -n "$reset" ] || { echo "contract: sluice admin printed no password link" >&2; exit 1; }
credentials=$("$venv/bin/python" tests/contract/credentials.py "$base" "$email" "${reset#token=}")
eval "$credentials"
export CONTRACT_TOKEN CONTRACT_TENANT CONTRACT_PARTNER CONTRACT_SPARE_TOKEN

seed_args=(--seed "$seed")
[ "$seed" = random ] && seed_args=()
report="target/contract-report"
rm -rf "$report"
start=$SECONDS
set +e
timeout --kill-after=10 "$budget" "$venv/bin/schemathesis" --config-file tests/contract/schemathesis.toml \
  run "$base/api/v1/openapi.json" --url "$base" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method \
  --max-examples "$examples" "${seed_args[@]}" --workers 2 --no-color \
  --report junit --report-dir "$report"
status=$?
set -e
echo "contract: schemathesis took $((SECONDS - start)) s (exit $status); sluice's log is $workdir/sluice.log" >&2
if [ "$status" = 124 ]; then
  echo "contract: cut off after ${budget} s" >&2
fi
# The server must have survived everything it was sent.
kill -0 "$server" 2>/dev/null || { echo "contract: sluice died during the run" >&2; exit 1; }
exit "$status"
