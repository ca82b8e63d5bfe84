#!/usr/bin/env bash
# Browser end-to-end test of the portal: builds the portal bundle and `sluice`, starts it on a
# free port with a fresh data directory (on a fresh Postgres database when TEST_DATABASE_URL
# is given and reachable), and drives headless Chromium through tests/portal/portal.test.mjs
# with playwright-core (no browser download: it uses the system's chromium).
# Screenshots of every page land in target/portal-screenshots.
#
# Without chromium or node this prints a loud SKIPPED and succeeds, except under CI=true or as
# root, where it installs them from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/../.."

skip() {
  echo "!!!!!!!! portal e2e: $* : the browser tests are SKIPPED !!!!!!!!" >&2
  exit 0
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
may_install() { [ "${CI:-}" = true ] || [ "$(id -u)" = 0 ]; }
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$chromium" ]; then
  may_install || skip "chromium is not installed (apt-get install chromium)"
  apt_install chromium chromium-driver
  chromium=$(command -v chromium)
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  may_install || skip "node and npm are not installed"
  apt_install nodejs npm
fi

scripts/build-portal.sh
# With the whole workspace selected, as the test run built it: nothing is compiled twice.
cargo build --locked --workspace --bin sluice
(cd tests/portal && npm ci --no-audit --no-fund --loglevel=error)

database=""
if [ -n "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1 &&
  psql "$TEST_DATABASE_URL" -qtAc 'select 1' >/dev/null 2>&1; then
  name="portal_e2e_$(date +%s)_$$"
  psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $name" >/dev/null
  database=$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#/[^/?]*(\?.*)?\$#/$name\1#")
  trap 'psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  echo "portal e2e: on Postgres (database $name)" >&2
elif [ "${CI:-}" = true ] && [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "portal e2e: Postgres at TEST_DATABASE_URL is unreachable; CI requires it" >&2
  exit 1
else
  echo "portal e2e: on SQLite (set TEST_DATABASE_URL for Postgres)" >&2
fi

rm -rf target/portal-screenshots
SLUICE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/sluice" CHROMIUM="$chromium" PORTAL_E2E_DATABASE="$database" \
  PORTAL_SCREENSHOTS="$PWD/target/portal-screenshots" PORTAL_E2E_KEEP_LOG=1 \
  node --test --test-reporter=spec --test-timeout=300000 tests/portal/portal.test.mjs
