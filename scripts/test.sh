#!/usr/bin/env bash
# The test command: installs what it needs (pinned), then lint, format check, the import contracts
# (pyproject.toml's [tool.importlinter]) and the test suite.
# Extra arguments go to pytest, e.g. scripts/test.sh -k resolve
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> import contracts (lint-imports)"
.venv/bin/lint-imports --no-cache
echo "==> pytest"
.venv/bin/pytest "$@"
