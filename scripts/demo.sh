#!/usr/bin/env bash
# The embedded-default demo: a local AWS stand-in (moto) seeded with an organisation and the worker queues,
# then the real DAGs through Airflow (SQLite) -- no AWS account needed. Installs what it needs first.
# Options: scripts/demo.sh --help; what it does and prints: docs/demo.md
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
exec "$VENV/bin/python" -m starfleet_airflow.devtools.demo "$@"
