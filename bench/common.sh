# What bench/run.sh and bench/profile.sh share: the gateway's configuration, the request they
# send, and the API key a fresh sluice prints. Sourced, not run.

# The chat request every measured call sends.
bench_body='{"model":"bench","messages":[{"role":"user","content":"Hello, how are you?"}]}'

# Writes a configuration with one worker and the mock upstream at `mock_addr` as model `bench`.
# BENCH_ROUTE=two serves `bench` by a route of two deployments (the second a fallback on a
# second provider at the same mock); BENCH_CACHE=1 turns the response cache on for it (every
# measured request is then a hit: the benchmark sends one request over and over).
write_bench_config() { # file mock_addr
  local cache="" pricing=""
  # BENCH_UNPRICED=1 leaves the model without a price (what the pricing stage costs is the
  # difference).
  [ "${BENCH_UNPRICED:-}" = 1 ] || pricing='# Priced, as a production model is: every answer carries its price (usage.cost, x-request-cost).
[[pricing.cost]]
provider = "*"
model = "gpt-4o-mini"
input = "0.15"
output = "0.6"'

  [ "${BENCH_CACHE:-}" = 1 ] && cache='cache = { ttl_secs = 3600 }'
  if [ "${BENCH_ROUTE:-}" = two ]; then
    cat >"$1" <<TOML
[server]
workers = 1

[providers.upstream]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://$2/v1"

[providers.fallback]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://$2/v1"

[[models]]
alias = "bench"
$cache
deployments = [
  { name = "primary", provider = "upstream", model = "gpt-4o-mini" },
  { name = "fallback", provider = "fallback", model = "gpt-4o-mini", priority = 1 },
]
$pricing
TOML
    return
  fi
  cat >"$1" <<TOML
[server]
workers = 1

[providers.upstream]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://$2/v1"

[[models]]
alias = "bench"
provider = "upstream"
model = "gpt-4o-mini"
$cache
$pricing
TOML
}

# Waits up to `seconds` for the API key sluice prints on first start and echoes it (nothing
# when none came).
first_key() { # out_file seconds
  local _
  for _ in $(seq 1 $(($2 * 10))); do grep -q 'sk-sluice-' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o 'sk-sluice-[A-Za-z0-9]*' "$1" 2>/dev/null | head -n 1 || true
}
