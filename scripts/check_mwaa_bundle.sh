#!/usr/bin/env bash
# CI job: does the MWAA bundle parse under MWAA's Airflow? Builds the bundle, installs MWAA's Airflow
# version (3.3.1 by default; MWAA_AIRFLOW_VERSION=3.0.6 for the older one) with the bundle's requirements in a clean virtualenv of the matching Python,
# and parses the bundle's DAGs folder there with Airflow's DagBag. Fails on any import error (or when no
# DAG is found); prints the install time, the parse time and the DAG ids.
#
#   scripts/check_mwaa_bundle.sh            check (reuses the virtualenv while its inputs are unchanged)
#   scripts/check_mwaa_bundle.sh --lock     re-resolve mwaa/ci-constraints-<airflow>-py<python>.txt
#
# The bundle's requirements.txt starts with MWAA's --constraint URL (Airflow's constraints file for that
# release). This job cannot download it, so it installs with mwaa/ci-constraints-*.txt instead: the same
# providers, every other package pinned as resolved when the file was locked (see its header).
#
# Environment: MWAA_AIRFLOW_VERSION (default 3.3.1), MWAA_PYTHON (interpreter; default python<version
# named by the constraints URL>), MWAA_CHECK_VENV (virtualenv folder; default under ~/.cache).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODE=check
case "${1:-}" in
  "") ;;
  --lock) MODE=lock ;;
  *) echo "usage: $0 [--lock]" >&2; exit 2 ;;
esac

AIRFLOW_VERSION="${MWAA_AIRFLOW_VERSION:-3.3.1}"
# The day the Airflow release's constraints were made (used by --lock only): newer uploads are ignored.
case "$AIRFLOW_VERSION" in
  3.0.6) RELEASED_BEFORE="2025-08-30T00:00:00Z" ;;
  3.3.1) RELEASED_BEFORE="2026-08-13T00:00:00Z" ;;  # apache-airflow 3.3.1 was uploaded on 2026-08-12
  *) RELEASED_BEFORE="" ;;
esac

source scripts/_venv.sh  # the project's own virtualenv builds the bundle

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
BUNDLE="$WORK/bundle"
echo "==> building the MWAA bundle (Airflow $AIRFLOW_VERSION)"
.venv/bin/python -m starfleet_airflow.tools.mwaa build --output "$BUNDLE" --airflow-version "$AIRFLOW_VERSION"

PY_VERSION="$(sed -n 's#^--constraint .*/constraints-\([0-9][0-9.]*\)\.txt"\{0,1\}[[:space:]]*$#\1#p' "$BUNDLE/requirements.txt")"
if [ -z "$PY_VERSION" ]; then
  echo "error: $BUNDLE/requirements.txt has no Airflow --constraint line" >&2
  exit 1
fi
PYTHON_BIN="${MWAA_PYTHON:-python$PY_VERSION}"
runs() { "$1" -c 'import sys' >/dev/null 2>&1; }
if ! runs "$PYTHON_BIN" && [ -z "${MWAA_PYTHON:-}" ]; then
  # pyenv on these machines has the Python versions MWAA runs, but its shim fails for a version that is not
  # pyenv's global one: take the interpreter from pyenv's own folder.
  for candidate in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$PY_VERSION"*/bin/python"$PY_VERSION"; do
    if runs "$candidate"; then PYTHON_BIN="$candidate"; fi
  done
fi
if ! runs "$PYTHON_BIN"; then
  echo "error: MWAA's Airflow $AIRFLOW_VERSION runs on Python $PY_VERSION, and no working python$PY_VERSION was found" >&2
  echo "       (on PATH or in pyenv's versions); install it (pyenv install $PY_VERSION) or point MWAA_PYTHON at one" >&2
  exit 1
fi
echo "==> Python $PY_VERSION: $PYTHON_BIN ($("$PYTHON_BIN" --version))"
CONSTRAINTS="mwaa/ci-constraints-$AIRFLOW_VERSION-py$PY_VERSION.txt"
# MWAA's requirements minus the constraints URL this job cannot reach.
grep -v '^--constraint' "$BUNDLE/requirements.txt" > "$WORK/requirements.txt"

if [ "$MODE" = lock ]; then
  if [ -z "$RELEASED_BEFORE" ]; then
    echo "error: no release date recorded for Airflow $AIRFLOW_VERSION in $0" >&2
    exit 1
  fi
  LOCK_VENV="$WORK/lock-venv"
  echo "==> resolving Airflow $AIRFLOW_VERSION + the bundle's requirements, uploads before $RELEASED_BEFORE"
  "$PYTHON_BIN" -m venv "$LOCK_VENV"
  "$LOCK_VENV/bin/pip" install --quiet "pip>=26"  # --uploaded-prior-to
  "$LOCK_VENV/bin/pip" install --quiet --uploaded-prior-to "$RELEASED_BEFORE" \
    "apache-airflow==$AIRFLOW_VERSION" -r "$WORK/requirements.txt"
  {
    echo "# CI stand-in for Airflow's constraints-$AIRFLOW_VERSION/constraints-$PY_VERSION.txt, which CI cannot download."
    echo "# Written by scripts/check_mwaa_bundle.sh --lock on $(date -u +%Y-%m-%d): apache-airflow==$AIRFLOW_VERSION and"
    echo "# the bundle's requirements resolved with pip --uploaded-prior-to $RELEASED_BEFORE. The providers match"
    echo "# MWAA's; packages whose upload times the index does not publish resolved to newer releases."
    "$LOCK_VENV/bin/pip" freeze --all | grep -v -E '^(pip|setuptools|wheel)=='
  } > "$CONSTRAINTS"
  echo "wrote $CONSTRAINTS ($(grep -c '==' "$CONSTRAINTS") pins)"
  exit 0
fi

if [ ! -f "$CONSTRAINTS" ]; then
  echo "error: $CONSTRAINTS missing; create it with $0 --lock" >&2
  exit 1
fi
VENV="${MWAA_CHECK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/starfleet-airflow/mwaa-$AIRFLOW_VERSION-py$PY_VERSION}"
stamp_now="$( { echo "$AIRFLOW_VERSION"; "$PYTHON_BIN" --version; cat "$WORK/requirements.txt" "$CONSTRAINTS"; } | sha256sum | cut -c1-16)"
if [ "$(cat "$VENV/.starfleet-stamp" 2>/dev/null)" != "$stamp_now" ]; then
  echo "==> installing Airflow $AIRFLOW_VERSION on $("$PYTHON_BIN" --version) in $VENV"
  started=$(date +%s%N)
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "apache-airflow==$AIRFLOW_VERSION" -r "$WORK/requirements.txt" -c "$CONSTRAINTS"
  echo "$stamp_now" > "$VENV/.starfleet-stamp"
  elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  printf 'installed in %d.%03d s\n' $((elapsed_ms / 1000)) $((elapsed_ms % 1000))
else
  echo "==> reusing $VENV (Airflow $AIRFLOW_VERSION, inputs unchanged)"
fi

echo "==> parsing the bundle's DAGs folder with Airflow $AIRFLOW_VERSION"
# As on MWAA: the bundle's DAGs folder on sys.path (nothing of this checkout), a neutral working
# directory, no STARFLEET_* variables, an empty AIRFLOW_HOME, and AWS credentials that reach nothing.
mkdir -p "$WORK/cwd" "$WORK/airflow_home"
(
  cd "$WORK/cwd"
  env -u STARFLEET_CONFIG_DIR -u STARFLEET_SHIPS_DIR -u AWS_PROFILE \
    AIRFLOW_HOME="$WORK/airflow_home" AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true PYTHONPATH="$BUNDLE/dags" \
    "$VENV/bin/python" -m starfleet_airflow.tools.mwaa parse "$BUNDLE/dags" --require-bundle-code
)

echo "==> reviewed mode under Airflow $AIRFLOW_VERSION (a reviewed inline ship: its DAG, or a clear refusal before 3.1)"
# The bundle's configuration with Airflow.Review: true on its inline ship. Airflow 3.0 has no human-in-the-loop
# operators: that ship must become a placeholder DAG saying so, and every other ship must still build.
REVIEW_CONFIG="$WORK/review-config"
cp -r "$BUNDLE/dags/config" "$REVIEW_CONFIG"
sed -i 's/^  Airflow:$/  Airflow:\n    Review: true/' "$REVIEW_CONFIG/s3_public_access_block.yaml"
grep -q '^    Review: true$' "$REVIEW_CONFIG/s3_public_access_block.yaml"
(
  cd "$WORK/cwd"
  env -u STARFLEET_SHIPS_DIR -u AWS_PROFILE STARFLEET_CONFIG_DIR="$REVIEW_CONFIG" \
    AIRFLOW_HOME="$WORK/airflow_home" AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__LOGGING__LOGGING_LEVEL=ERROR \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true PYTHONPATH="$BUNDLE/dags" \
    "$VENV/bin/python" - <<'PY'
import sys

from airflow import __version__
from starfleet_airflow.airflow.dags import build_dags
from starfleet_airflow.airflow.review.availability import review_unavailable

dags = build_dags()
why = review_unavailable()
reviewed = "starfleet_s3_public_access_block_worker_ship"
others = sorted(d for d in dags if d != reviewed and not d.startswith(reviewed))
broken_others = [d for d in others if d.endswith("__broken")]
if broken_others:
    sys.exit(f"error: ships without reviewed mode did not build: {broken_others}")
if why is None:
    tasks = [task.task_id for task in dags[reviewed].tasks]
    if tasks != ["plan", "dry_run", "review", "approve", "apply", "report"]:
        sys.exit(f"error: Airflow {__version__} has HITL operators but the reviewed DAG is {tasks}")
    print(f"Airflow {__version__}: reviewed DAG built: {' -> '.join(tasks)}; {len(others)} other DAGs")
else:
    placeholder = dags.get(reviewed + "__broken")
    if placeholder is None or "needs Airflow 3.1+" not in (placeholder.doc_md or ""):
        sys.exit(f"error: Airflow {__version__} has no HITL operators but {reviewed}__broken does not say so")
    print(f"Airflow {__version__}: {reviewed}__broken says: {placeholder.description}")
    print(f"{len(others)} other DAGs built: {', '.join(others)}")
PY
)
