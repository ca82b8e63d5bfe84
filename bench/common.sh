# What bench/run.sh and bench/profile.sh share: the gateway's configuration, the request they
# send, and the API key a fresh sluice prints. Sourced, not run.

# The chat request every measured call sends.
bench_body='{"model":"bench","messages":[{"role":"user","content":"Hello, how are you?"}]}'

# Writes a configuration with one worker and the mock upstream at `mock_addr` as model `bench`.
write_bench_config() { # file mock_addr
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
TOML
}

# Waits up to `seconds` for the API key sluice prints on first start and echoes it (nothing
# when none came).
first_key() { # out_file seconds
  local _
  for _ in $(seq 1 $(($2 * 10))); do grep -q 'sk-sluice-' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o 'sk-sluice-[A-Za-z0-9]*' "$1" 2>/dev/null | head -n 1 || true
}
