#!/usr/bin/env bash
# Runs every check and test tier, setting up what they need on a fresh machine:
# Postgres and Redis (started if not running), the wasm target, Python venvs with schemathesis
# for the API contract test and the official SDKs for the client smoke test, and (under CI)
# Chromium for the portal's browser test.
#
#   scripts/test.sh          # everything
#   scripts/test.sh --quick  # formatting, lints and the Rust tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

quick=false
[ "${1:-}" = "--quick" ] && quick=true

step() { printf '\n==> %s\n' "$*" >&2; }

step "services"
require_services

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "wasm: shared api types compile for the browser, and the portal passes its lints there"
rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
cargo check --locked -p api-types --target wasm32-unknown-unknown
cargo clippy --locked -p portal --target wasm32-unknown-unknown -- -D warnings

step "tests (unit, storage contracts on SQLite and Postgres, Redis, end to end)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --profile ci
else
  cargo test --workspace --locked
fi

step "shipped configurations: sluice check-config accepts each with the environment docker-compose.yml gives it"
scripts/check-configs.sh

$quick && exit 0

step "contract test: the management API answers only what its OpenAPI document declares (schemathesis against a fresh sluice)"
scripts/contract-test.sh

step "client smoke tests: the official OpenAI and Anthropic SDKs and LangChain against a fresh sluice, and the Anthropic SDK through the relay"
scripts/sdk-smoke.sh

step "portal: browser end-to-end test (headless Chromium against a fresh sluice)"
tests/portal/run.sh

step "all checks passed"
