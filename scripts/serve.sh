#!/usr/bin/env bash
# The quick start in one command: builds the portal (scripts/build-portal.sh), then compiles
# and runs `sluice serve`, which embeds and serves it at http://127.0.0.1:8080/.
# Arguments go to `sluice serve`, e.g. `scripts/serve.sh --config sluice.toml`.
#
# If the portal cannot be built (no rustup, say), the gateway still starts: the API works and
# `/` explains how to build the portal.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! scripts/build-portal.sh; then
  echo "!!!!!!!! the portal could not be built: serving the API without it !!!!!!!!" >&2
fi
exec cargo run --release --bin sluice -- serve "$@"
