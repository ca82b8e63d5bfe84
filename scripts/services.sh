#!/usr/bin/env bash
# Makes sure Postgres and Redis answer on 127.0.0.1, starting (and under CI installing) them
# when they do not. Sourced by scripts/test.sh; exports TEST_DATABASE_URL and TEST_REDIS_URL.
#
# Under CI=true a service that cannot be brought up is a failure; locally the tests that need
# it skip with a loud message instead.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do port_open "$1" && return 0; sleep 0.2; done
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  port_open 5432 && return 0
  echo "services: Postgres is not answering on 127.0.0.1:5432; starting it" >&2
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    [ "${CI:-}" = true ] || return 1
    apt_install postgresql || return 1
    # Tests connect as `postgres` over TCP without a password.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    done
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null ||
    as_root pg_ctlcluster "$version" main start || true
  wait_port 5432
}

ensure_redis() {
  port_open 6379 && return 0
  echo "services: Redis is not answering on 127.0.0.1:6379; starting it" >&2
  if ! command -v redis-server >/dev/null 2>&1; then
    [ "${CI:-}" = true ] || return 1
    apt_install redis-server || return 1
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  wait_port 6379
}

require_services() {
  local missing=()
  ensure_postgres || missing+=("Postgres")
  ensure_redis || missing+=("Redis")
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
      echo "services: ${missing[*]} unreachable; CI requires them" >&2
      return 1
    fi
    echo "!!!!!!!! services: ${missing[*]} unreachable: their tests will be SKIPPED !!!!!!!!" >&2
  fi
  export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379}"
  if [ "${CI:-}" = true ]; then export SLUICE_REQUIRE_SERVICES=1; fi
}
