# Sourced by the scripts in this folder: make sure .venv exists with the pinned requirements.
# Re-installs only when requirements*.txt, constraints.txt or pyproject.toml changed (stamp file).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"
stamp_now="$(cat "$ROOT"/requirements.txt "$ROOT"/requirements-dev.txt "$ROOT"/requirements-stack.txt "$ROOT"/constraints.txt "$ROOT"/pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV with $("$PYTHON_BIN" --version)"
  "$PYTHON_BIN" -m venv "$VENV"
fi
if [ "$(cat "$VENV/.starfleet-stamp" 2>/dev/null)" != "$stamp_now" ]; then
  echo "==> installing pinned requirements (about a minute from pip's cache, more when pip downloads)"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet -c "$ROOT/constraints.txt" -r "$ROOT/requirements-dev.txt"
  "$VENV/bin/pip" install --quiet --no-deps -e "$ROOT"
  echo "$stamp_now" > "$VENV/.starfleet-stamp"
fi
# The editable install must point at this checkout: a clean-clone check run with this .venv's pip
# re-points it, and the stamp alone would not notice.
installed_at="$(cd / && "$VENV/bin/python" -c 'import os, starfleet_airflow; print(os.path.dirname(os.path.dirname(os.path.realpath(starfleet_airflow.__file__))))' 2>/dev/null || true)"
if [ "$installed_at" != "$(realpath "$ROOT")" ]; then
  echo "==> installing this checkout ($ROOT) into $VENV"
  "$VENV/bin/pip" install --quiet --no-deps -e "$ROOT"
fi
# setuptools leaves <name>.egg-info in the checkout; with the checkout on sys.path (the demo, pytest) it is a
# second copy of the package's metadata, and Airflow would load the package's plugin twice (one "already
# registered" plugin import error). The installed .dist-info in .venv is the one that counts.
rm -rf "$ROOT"/*.egg-info
