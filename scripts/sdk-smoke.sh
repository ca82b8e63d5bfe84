#!/usr/bin/env bash
# Starts `sluice serve` exactly as the README's quick start does (no configuration, a fresh
# data directory), takes the API key it prints, and runs the official OpenAI and Anthropic
# Python SDKs and LangChain's OpenAI integration against it; then the Anthropic SDK once more
# through a second sluice relaying to a stand-in for Anthropic's API (`tests/sdk/fake_anthropic.py`),
# whose models' first deployments are down, so that both SDKs see a failover.
# Python packages come from PyPI into a cached venv.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SLUICE_SDK_VENV:-target/sdk-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r tests/sdk/requirements.txt

# With the whole workspace selected, as the test run built it: nothing is compiled twice.
cargo build --locked --workspace --bin sluice
# first_key: the API key a fresh sluice prints.
# shellcheck source=bench/common.sh
. bench/common.sh
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
key_or_die() { # out_file log_file
  local key
  key=$(first_key "$1" 10)
  if [ -z "$key" ]; then
    echo "sdk-smoke: sluice printed no key" >&2
    cat "$2" >&2
    exit 1
  fi
  echo "$key"
}

workdir=$(mktemp -d)
port=$(free_port)
log="$workdir/sluice.log"
(cd "$workdir" && SLUICE_LISTEN="127.0.0.1:$port" exec "$OLDPWD/target/debug/sluice" serve >"$workdir/out.txt" 2>"$log") &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT

key=$(key_or_die "$workdir/out.txt" "$log")
export SLUICE_BASE_URL="http://127.0.0.1:$port/v1" SLUICE_API_KEY="$key"
"$venv/bin/python" tests/sdk/openai_smoke.py
"$venv/bin/python" tests/sdk/langchain_smoke.py
"$venv/bin/python" tests/sdk/anthropic_smoke.py

# Keys with limits, made with the CLI beside the running server (it sees them within a second).
new_key() { (cd "$workdir" && "$OLDPWD/target/debug/sluice" admin key create --tenant default "$@" 2>/dev/null | head -1); }
limited=$(new_key --name limited --rpm 1)
broke=$(new_key --name broke --monthly-budget 0.000001)
# Tenants' own limits, set with the CLI: one a minute for all of a tenant's keys, and a spent
# daily token budget.
admin() { (cd "$workdir" && "$OLDPWD/target/debug/sluice" admin "$@" >/dev/null); }
admin tenant create capped
admin tenant create spent
admin limits set --tenant capped --json '{"requests_per_minute": 1}'
admin limits set --tenant spent --json '{"budgets": [{"period": "day", "tokens": 1}]}'
tenant_key() { (cd "$workdir" && "$OLDPWD/target/debug/sluice" admin key create --tenant "$1" 2>/dev/null | head -1); }
capped=$(tenant_key capped)
spent=$(tenant_key spent)
sleep 1
SLUICE_LIMITED_KEY="$limited" SLUICE_BROKE_KEY="$broke" SLUICE_CAPPED_KEY="$capped" SLUICE_SPENT_KEY="$spent" \
  "$venv/bin/python" tests/sdk/limits_smoke.py

# The relay: a second sluice with one Anthropic provider, in front of a stand-in for Anthropic's
# API; the Anthropic SDK's calls must pass through untouched.
fake_port=$(free_port)
relay_port=$(free_port)
relay="$workdir/relay"
mkdir -p "$relay"
python3 tests/sdk/fake_anthropic.py "$fake_port" "$relay/upstream.jsonl" 2>"$relay/fake.log" &
fake=$!
# Each model's first deployment is down (nothing listens on its port): every call the SDKs
# make fails over to the second, and they must notice nothing. Breakers are off, so that every
# call shows the failover (with one, the down deployment would soon be passed over).
down_port=$(free_port)
cat >"$relay/sluice.toml" <<TOML
[providers.claude]
kind = "anthropic"
base_url = "http://127.0.0.1:$fake_port"
api_key = "env:RELAY_SMOKE_KEY"

[providers.claude_down]
kind = "anthropic"
base_url = "http://127.0.0.1:$down_port"
api_key = "env:RELAY_SMOKE_KEY"

[providers.openai_down]
kind = "openai"
base_url = "http://127.0.0.1:$down_port/v1"
api_key = "env:RELAY_SMOKE_KEY"

[providers.mock]
kind = "mock"

[[models]]
alias = "claude"
breaker = { enabled = false }
deployments = [
  { name = "primary", provider = "claude_down", model = "claude-sonnet-4-5-20250929" },
  { name = "backup", provider = "claude", model = "claude-sonnet-4-5-20250929", priority = 1 },
]

[[models]]
alias = "gpt"
breaker = { enabled = false }
deployments = [
  { name = "primary", provider = "openai_down", model = "gpt-4o-mini" },
  { name = "backup", provider = "mock", model = "mock", priority = 1 },
]
TOML
(cd "$relay" && RELAY_SMOKE_KEY=sk-ant-relay-smoke SLUICE_LISTEN="127.0.0.1:$relay_port" \
  exec "$OLDPWD/target/debug/sluice" serve --config sluice.toml >"$relay/out.txt" 2>"$relay/sluice.log") &
relay_server=$!
trap 'kill $server $relay_server $fake 2>/dev/null || true; wait 2>/dev/null || true' EXIT
relay_key=$(key_or_die "$relay/out.txt" "$relay/sluice.log")
SLUICE_RELAY_URL="http://127.0.0.1:$relay_port" SLUICE_RELAY_KEY="$relay_key" \
  FAKE_ANTHROPIC_LOG="$relay/upstream.jsonl" "$venv/bin/python" tests/sdk/anthropic_relay_smoke.py
SLUICE_RELAY_URL="http://127.0.0.1:$relay_port" SLUICE_RELAY_KEY="$relay_key" \
  "$venv/bin/python" tests/sdk/failover_smoke.py
