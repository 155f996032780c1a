#!/usr/bin/env bash
# The end-to-end suite on the production-shaped stack: scripts/stack.sh up, the tests of tests/e2e (marker e2e)
# against it, then scripts/stack.sh down -- also when a test fails or the run is interrupted.
#   scripts/e2e.sh [pytest args]        e.g. scripts/e2e.sh -k worker
#   STARFLEET_E2E_KEEP_UP=1 scripts/e2e.sh   leave the stack running afterwards (to look at it in the UI)
# Screenshots of the browser tests: .starfleet/screenshots/. Heavy: run it under flock /tmp/heavy.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
if [ -z "${STARFLEET_E2E_KEEP_UP:-}" ]; then
  trap 'echo "==> scripts/stack.sh down"; scripts/stack.sh down' EXIT
fi
started=$(date +%s)
echo "==> scripts/stack.sh up"
scripts/stack.sh up
up_done=$(date +%s)
echo "==> pytest -m e2e tests/e2e"
status=0
.venv/bin/pytest -m e2e tests/e2e "$@" || status=$?
echo "==> stack up $((up_done - started)) s, e2e tests $(( $(date +%s) - up_done )) s"
exit "$status"
