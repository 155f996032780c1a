#!/usr/bin/env bash
# The production-shaped stack on this machine, without Docker: PostgreSQL, Redis, the AWS stand-in (moto,
# seeded), Airflow with the CeleryExecutor (scheduler, dag-processor, triggerer, api-server, two workers).
#   scripts/stack.sh up       start what is not running, wait until healthy, write .starfleet/stack/stack.env
#   scripts/stack.sh status   one line per component (exit 0 when every one is up)
#   scripts/stack.sh down     stop every process it started, by pid
# Ports: STARFLEET_STACK_*_PORT (README, "Running it like production"). Installs redis-server when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = up ] && [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "==> creating the postgres system user (PostgreSQL refuses to run as root)"
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
fi
if [ "${1:-}" = up ] && ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing redis-server (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "error: redis-server not found; install it (apt-get install redis-server)" >&2
    exit 2
  fi
fi
source scripts/_venv.sh
exec "$VENV/bin/python" -m starfleet_airflow.devtools.stack "$@"
